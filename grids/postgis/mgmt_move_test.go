package postgis_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// Two communities of one street: 110101001007 with six unit grids of 0.001°
// (001 002 003 over 004 005 006) and 110101001008 east of it with two (001
// over 002). Each grid has buildings (and one retired building that must
// not count). Social grids: X-S01 = 001 002 003, X-S02 = 004 005, X-S03 =
// 006, Y-S01 = both of Y; responsibility grids patrol-1 = X 005 006 and
// patrol-2 = X 004. Target 100 households and 250 residents.
const (
	mvX = "110101001007"
	mvY = "110101001008"
)

func seedMove(t *testing.T) (*postgis.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	for _, q := range []string{
		`INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区', ST_Multi(ST_MakeEnvelope(116.39, 39.89, 116.42, 39.92, 4326)))`,
		`INSERT INTO streets (code, name, parent_code, geom) VALUES ('110101001', '东华门街道', '110101', ST_Multi(ST_MakeEnvelope(116.395, 39.895, 116.41, 39.91, 4326)))`,
		`INSERT INTO communities (code, name, parent_code, geom) VALUES
			('` + mvX + `', '南池子社区', '110101001', ST_Multi(ST_MakeEnvelope(116.400, 39.900, 116.403, 39.902, 4326))),
			('` + mvY + `', '北池子社区', '110101001', ST_Multi(ST_MakeEnvelope(116.403, 39.900, 116.404, 39.902, 4326)))`,
		`INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(gridd_edit_metric(g))
			FROM (SELECT '` + mvX + `' || lpad(((1 - j) * 3 + i + 1)::text, 3, '0') AS code,
			             ST_MakeEnvelope(116.400 + i * 0.001, 39.900 + j * 0.001, 116.401 + i * 0.001, 39.901 + j * 0.001, 4326) AS g
			      FROM generate_series(0, 2) i, generate_series(0, 1) j
			      UNION ALL
			      SELECT '` + mvY + `' || lpad((2 - j)::text, 3, '0'), ST_MakeEnvelope(116.403, 39.900 + j * 0.001, 116.404, 39.901 + j * 0.001, 4326)
			      FROM generate_series(0, 1) j) v`,
		// Two current buildings a grid, households and residents varying
		// with the code, and one retired building in 001.
		`INSERT INTO buildings (name, households, residents, grid_code, community_code, street_code, district_code, geom)
			SELECT u.code || '-' || k, 10 + (right(u.code, 1)::int * 7 + k * 13) % 50, 25 + (right(u.code, 1)::int * 11 + k * 17) % 90,
			       u.code, u.community_code, u.street_code, u.district_code, ST_PointOnSurface(u.geom)
			FROM unit_grids u, generate_series(1, 2) k WHERE u.valid_to IS NULL`,
		`INSERT INTO buildings (name, households, residents, grid_code, community_code, street_code, district_code, geom, valid_from, valid_to)
			SELECT 'old', 999, 999, code, community_code, street_code, district_code, ST_PointOnSurface(geom), now() - interval '1 day', now() - interval '1 hour'
			FROM unit_grids WHERE code = '` + mvX + `001'`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	x := func(n ...string) []geo.Code {
		var out []geo.Code
		for _, s := range n {
			out = append(out, geo.Code(mvX+s))
		}
		return out
	}
	target := grids.SocialTarget{Households: 100, Residents: 250}
	if _, err := st.ReplaceSocialGridsOf(ctx, []postgis.SocialPlan{
		{Community: mvX, Groups: [][]geo.Code{x("001", "002", "003"), x("004", "005"), x("006")}, Target: target},
		{Community: mvY, Groups: [][]geo.Code{{mvY + "001", mvY + "002"}}, Target: target},
	}, "tester", "built"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMgmtGrid(ctx, "patrol-1", "巡查一组", x("005", "006"), "tester", "hand-drawn"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMgmtGrid(ctx, "patrol-2", "巡查二组", x("004"), "tester", "hand-drawn"); err != nil {
		t.Fatal(err)
	}
	return st, pool
}

// mgmtState is every management grid row, member and history entry: what
// a refused move must leave as it was.
func mgmtState(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT
		(SELECT string_agg(concat_ws(' ', id, code, valid_from, valid_to, ST_AsText(geom)), E'\n' ORDER BY id) FROM mgmt_grids) || E'\n' ||
		(SELECT string_agg(mgmt_grid_id || ' ' || grid_code, ',' ORDER BY mgmt_grid_id, grid_code) FROM mgmt_grid_members) || E'\n' ||
		(SELECT count(*) FROM history)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every refusal names what is wrong and where, and changes nothing.
func TestMoveUnitGridRefusals(t *testing.T) {
	ctx := context.Background()
	st, pool := seedMove(t)
	if _, err := st.CreateMgmtGrid(ctx, "patrol-3", "巡查三组", []geo.Code{mvX + "005"}, "tester", "overlaps patrol-1"); err != nil {
		t.Fatal(err)
	}
	before := mgmtState(t, pool)
	sX := func(n int) string { return fmt.Sprintf("%s-S%02d", mvX, n) }
	for _, c := range []struct {
		name         string
		grid         string
		from, to     string
		fromV, toV   int
		dry          bool
		reason       string
		field, words string
	}{
		{"no such unit grid", mvX + "009", sX(1), sX(2), 0, 0, false, "r", "grid", mvX + "009 is not a current unit grid"},
		{"not a unit-grid code", "11010100100", sX(1), sX(2), 0, 0, false, "r", "grid", "11010100100"},
		{"no such donor", mvX + "001", "nope", sX(2), 0, 0, false, "r", "from", "nope is not a current management grid"},
		{"no such receiver", mvX + "001", sX(1), "nope", 0, 0, false, "r", "to", "nope is not a current management grid"},
		{"to itself", mvX + "001", sX(1), sX(1), 0, 0, true, "", "to", "to itself"},
		{"no receiver", mvX + "001", sX(1), "", 0, 0, true, "", "to", "is empty"},
		{"not a member", mvX + "004", sX(1), sX(2), 0, 0, false, "r", "grid", "unit grid " + mvX + "004 is not a member of management grid " + sX(1) + " (it is in " + sX(2) + ")"},
		{"another kind", mvX + "005", sX(2), "patrol-2", 0, 0, true, "", "to", sX(2) + " is a social grid and patrol-2 a responsibility grid"},
		{"another community", mvX + "003", sX(1), mvY + "-S01", 0, 0, false, "r", "to", "social grid " + sX(1) + " is in community " + mvX + " and " + mvY + "-S01 in community " + mvY},
		{"not a neighbour", mvX + "001", sX(1), sX(3), 0, 0, false, "r", "to", "unit grid " + mvX + "001 does not border management grid " + sX(3)},
		{"a corner only", mvX + "002", sX(1), sX(3), 0, 0, false, "r", "to", "unit grid " + mvX + "002 meets management grid " + sX(3) + " only at a corner"},
		{"the last unit grid", mvX + "006", sX(3), sX(1), 0, 0, false, "r", "grid", "the only unit grid of management grid " + sX(3)},
		{"donor in pieces", mvX + "002", sX(1), sX(2), 0, 0, true, "", "grid", "management grid " + sX(1) + " would fall into 2 separate pieces"},
		{"already a member", mvX + "005", "patrol-1", "patrol-3", 0, 0, true, "", "grid", "unit grid " + mvX + "005 is already a member of management grid patrol-3"},
		{"no reason", mvX + "001", sX(1), sX(2), 0, 0, false, " ", "reason", "is empty"},
		{"negative version", mvX + "001", sX(1), sX(2), -1, 0, true, "", "from_version", "got -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, reason, err := grids.ParseMgmtMove(c.grid, c.from, c.to, c.fromV, c.toV, c.dry, c.reason)
			if err == nil {
				_, err = st.MoveUnitGrid(ctx, m, "tester", reason)
			}
			var inv *grids.InvalidError
			if !errors.As(err, &inv) || inv.Field != c.field || !strings.Contains(inv.Reason, c.words) {
				t.Fatalf("got %v (%T), want an *InvalidError on %s saying %q", err, err, c.field, c.words)
			}
		})
	}
	// A version the client read that is no longer current: a *VersionError
	// naming both versions.
	_, err := st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: mvX + "001", From: sX(1), To: sX(2), FromVersion: 1, ToVersion: 3}, "tester", "stale")
	var verr *grids.VersionError
	if !errors.As(err, &verr) || !strings.Contains(err.Error(), sX(2)+" was edited against version 3, the current version is 1") {
		t.Fatalf("stale receiver version: %v", err)
	}
	// The same refusals through the store's own parsing (a caller that
	// builds MgmtMove itself).
	if _, err := st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: mvX + "001", From: sX(1), To: sX(1)}, "tester", "x"); err == nil {
		t.Fatal("a move to itself was accepted")
	}
	if after := mgmtState(t, pool); after != before {
		t.Fatalf("refused moves changed the management grids:\nbefore %s\nafter  %s", before, after)
	}
}

// A dry run gives the balance SQL gives and writes nothing; a move writes
// new versions of both grids (same codes, members, geometry the union of
// the members, history), leaves duties on the codes, answers on the list,
// and a client that read the old versions is refused.
func TestMoveUnitGrid(t *testing.T) {
	ctx := context.Background()
	st, pool := seedMove(t)
	s1, s2 := mvX+"-S01", mvX+"-S02"
	g := mvX + "001"

	// A worker on S01 and one on S02.
	var duty [2]int64
	for i, code := range []string{s1, s2} {
		w, err := st.AddWorker(ctx, grids.GridWorker{Name: "worker " + code, Role: grids.WorkerRoleGridWorker}, "tester", "hired")
		if err != nil {
			t.Fatal(err)
		}
		d, err := st.AssignDuty(ctx, grids.Duty{WorkerID: w.ID, MgmtGrid: code, Starts: time.Now().Add(-time.Hour)}, "tester", "assigned")
		if err != nil {
			t.Fatal(err)
		}
		duty[i] = d.ID
	}

	// Independent sums: households and residents of a list of unit grids.
	sums := func(codes ...string) (int, int) {
		var hh, res int
		err := pool.QueryRow(ctx, `SELECT coalesce(sum(households), 0), coalesce(sum(residents), 0) FROM buildings
			WHERE valid_to IS NULL AND grid_code = ANY($1)`, codes).Scan(&hh, &res)
		if err != nil {
			t.Fatal(err)
		}
		return hh, res
	}
	var th, tr int
	if err := pool.QueryRow(ctx, `SELECT households, residents FROM social_targets WHERE community_code = $1`, mvX).Scan(&th, &tr); err != nil {
		t.Fatal(err)
	}
	check := func(what string, got grids.MgmtTotals, codes ...string) {
		t.Helper()
		hh, res := sums(codes...)
		load := (float64(hh)/float64(th) + float64(res)/float64(tr)) / 2
		if got.UnitGrids != len(codes) || got.Households != hh || got.Residents != res || got.Load == nil || math.Abs(*got.Load-load) > 1e-9 {
			l := math.NaN()
			if got.Load != nil {
				l = *got.Load
			}
			t.Errorf("%s: %d unit grids, %d households, %d residents, load %.4f; SQL: %d, %d, %d, %.4f",
				what, got.UnitGrids, got.Households, got.Residents, l, len(codes), hh, res, load)
		}
	}
	x := func(n ...string) []string {
		var out []string
		for _, s := range n {
			out = append(out, mvX+s)
		}
		return out
	}

	// The change feed: what a dry run and the move announce.
	feed := func() string {
		var f string
		if err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(DISTINCT tab || ' ' || op, ', ' ORDER BY tab || ' ' || op), '')
			FROM map_changes WHERE tab IN ('mgmt_grids', 'mgmt_grid_members')`).Scan(&f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if _, err := pool.Exec(ctx, `DELETE FROM map_changes WHERE tab IN ('mgmt_grids', 'mgmt_grid_members')`); err != nil {
		t.Fatal(err)
	}

	before := mgmtState(t, pool)
	dry, err := st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: geo.Code(g), From: s1, To: s2, DryRun: true}, "tester", "")
	if err != nil {
		t.Fatal(err)
	}
	if after := mgmtState(t, pool); after != before {
		t.Fatal("a dry run changed the management grids")
	}
	if f := feed(); f != "" {
		t.Errorf("a dry run announced %s", f)
	}
	if dry.Saved || !dry.DryRun || dry.Kind != "social" || dry.Community != mvX || dry.Target == nil || *dry.Target != (grids.SocialTarget{Households: th, Residents: tr}) {
		t.Errorf("dry run: %+v", dry)
	}
	check("S01 before", dry.From.Before, x("001", "002", "003")...)
	check("S01 after", dry.From.After, x("002", "003")...)
	check("S02 before", dry.To.Before, x("004", "005")...)
	check("S02 after", dry.To.After, x("001", "004", "005")...)
	check("the unit grid", dry.Totals, g)
	if dry.From.Version != 1 || dry.To.Version != 1 || dry.From.NewVersion != 0 {
		t.Errorf("versions read: %d and %d (new %d)", dry.From.Version, dry.To.Version, dry.From.NewVersion)
	}

	// The list the editor reads agrees.
	list, err := st.MgmtGridsOf(ctx, mvX)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, m := range list {
		codes = append(codes, m.Code)
		if m.Code == s1 {
			hh, res := sums(x("001", "002", "003")...)
			if m.Households != hh || m.Residents != res || m.Version != 1 || m.Load == nil || !slices.Equal(m.Members, x("001", "002", "003")) {
				t.Errorf("listed S01: %+v, want %d households, %d residents", m, hh, res)
			}
		}
		if m.Kind == "responsibility" && (m.Target != nil || m.Load != nil) {
			t.Errorf("a responsibility grid with a target: %+v", m)
		}
	}
	if want := []string{s1, s2, mvX + "-S03", "patrol-1", "patrol-2"}; !slices.Equal(codes, want) {
		t.Errorf("management grids of %s: %v, want %v", mvX, codes, want)
	}

	// The move, against the versions read.
	res, err := st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: geo.Code(g), From: s1, To: s2, FromVersion: dry.From.Version, ToVersion: dry.To.Version},
		"token:alice", "001 is reached from the south gate")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Saved || res.From.NewVersion != 2 || res.To.NewVersion != 2 {
		t.Errorf("move: saved %v, new versions %d and %d", res.Saved, res.From.NewVersion, res.To.NewVersion)
	}
	if got, want := feed(), "mgmt_grid_members INSERT, mgmt_grids INSERT, mgmt_grids UPDATE"; got != want {
		t.Errorf("the move announced %q, want %q", got, want)
	}
	check("S01 after the move", res.From.After, x("002", "003")...)
	check("S02 after the move", res.To.After, x("001", "004", "005")...)
	for code, want := range map[string][]string{s1: x("002", "003"), s2: x("001", "004", "005")} {
		var members []string
		var rows, current int
		var union, closed bool
		err := pool.QueryRow(ctx, `SELECT
				(SELECT array_agg(m.grid_code ORDER BY m.grid_code) FROM mgmt_grid_members m WHERE m.mgmt_grid_id = g.id),
				(SELECT count(*) FROM mgmt_grids h WHERE h.code = g.code),
				(SELECT count(*) FROM mgmt_grids h WHERE h.code = g.code AND h.valid_to IS NULL),
				ST_Equals(g.geom, (SELECT ST_Union(u.geom) FROM unit_grids u WHERE u.valid_to IS NULL
				                   AND u.code IN (SELECT m.grid_code FROM mgmt_grid_members m WHERE m.mgmt_grid_id = g.id))),
				(SELECT h.valid_to = g.valid_from FROM mgmt_grids h WHERE h.code = g.code AND h.id < g.id ORDER BY h.id DESC LIMIT 1)
			FROM mgmt_grids g WHERE g.code = $1 AND g.valid_to IS NULL`, code).Scan(&members, &rows, &current, &union, &closed)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(members, want) || rows != 2 || current != 1 || !union || !closed {
			t.Errorf("%s after the move: members %v (want %v), %d rows, %d current, geometry the union: %v, old row closed when the new one starts: %v",
				code, members, want, rows, current, union, closed)
		}
	}
	// History: one update each, with who, why, and the members before and after.
	for code, want := range map[string][2]string{s1: {`["` + mvX + `001", "` + mvX + `002", "` + mvX + `003"]`, `["` + mvX + `002", "` + mvX + `003"]`},
		s2: {`["` + mvX + `004", "` + mvX + `005"]`, `["` + mvX + `001", "` + mvX + `004", "` + mvX + `005"]`}} {
		var actor, reason, bm, am, moved string
		err := pool.QueryRow(ctx, `SELECT actor, reason, before->>'members', after->>'members', after->>'moved' FROM history
			WHERE entity = 'mgmt_grid' AND code = $1 AND action = 'update'`, code).Scan(&actor, &reason, &bm, &am, &moved)
		if err != nil {
			t.Fatalf("history of %s: %v", code, err)
		}
		if actor != "token:alice" || reason != "001 is reached from the south gate" || bm != want[0] || am != want[1] || !strings.Contains(moved, g) {
			t.Errorf("history of %s: %s %q %s → %s %s", code, actor, reason, bm, am, moved)
		}
	}
	// Duties still name the codes: the S01 worker is no longer on duty at
	// 001, the S02 worker is.
	var dutyCodes []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(mgmt_grid_code ORDER BY id) FROM grid_worker_duties WHERE id = ANY($1)`, duty[:]).Scan(&dutyCodes); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dutyCodes, []string{s1, s2}) {
		t.Errorf("duties after the move: %v", dutyCodes)
	}
	on, err := st.WorkersOnDuty(ctx, g, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var onCodes []string
	for _, o := range on {
		onCodes = append(onCodes, o.MgmtGrid.Code)
	}
	if !slices.Contains(onCodes, s2) || slices.Contains(onCodes, s1) {
		t.Errorf("on duty at %s after the move: %v, want the worker of %s", g, onCodes, s2)
	}

	// A client that read version 1 is refused, and nothing changes.
	before = mgmtState(t, pool)
	_, err = st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: mvX + "002", From: s1, To: s2, FromVersion: 1, ToVersion: 1}, "token:bob", "late")
	var verr *grids.VersionError
	if !errors.As(err, &verr) || len(verr.Stale) != 2 || verr.Current[0].Version != 2 {
		t.Fatalf("a move against old versions: %v", err)
	}
	if after := mgmtState(t, pool); after != before {
		t.Fatal("a stale move changed the management grids")
	}

	// And back, against the current versions: a responsibility move too.
	if _, err := st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: geo.Code(g), From: s2, To: s1, FromVersion: 2, ToVersion: 2}, "tester", "back"); err != nil {
		t.Fatal(err)
	}
	r, err := st.MoveUnitGrid(ctx, grids.MgmtMove{Grid: mvX + "005", From: "patrol-1", To: "patrol-2"}, "tester", "patrol 2 takes 005")
	if err != nil {
		t.Fatal(err)
	}
	if r.Target != nil || r.From.After.Load != nil || r.To.After.UnitGrids != 2 {
		t.Errorf("responsibility move: %+v", r)
	}
	m, err := st.MgmtGrid(ctx, "patrol-2")
	if err != nil || len(m.Members) != 2 || m.Members[1] != mvX+"005" {
		t.Errorf("patrol-2 after the move: %+v %v", m, err)
	}
}

// Two moves out of one grid at once are serialised: both are made, each on
// the other's result, and the donor ends with three versions.
func TestMoveUnitGridConcurrent(t *testing.T) {
	ctx := context.Background()
	st, pool := seedMove(t)
	s1 := mvX + "-S01"
	moves := []grids.MgmtMove{
		{Grid: mvX + "001", From: s1, To: mvX + "-S02"},
		{Grid: mvX + "003", From: s1, To: mvX + "-S03"},
	}
	errs := make(chan error, len(moves))
	for _, m := range moves {
		go func() {
			_, err := st.MoveUnitGrid(ctx, m, "tester", "at once")
			errs <- err
		}()
	}
	for range moves {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for code, want := range map[string]string{s1: "002", mvX + "-S02": "001,004,005", mvX + "-S03": "003,006"} {
		var members string
		var rows int
		err := pool.QueryRow(ctx, `SELECT (SELECT string_agg(right(m.grid_code, 3), ',' ORDER BY m.grid_code) FROM mgmt_grid_members m WHERE m.mgmt_grid_id = g.id),
				(SELECT count(*) FROM mgmt_grids h WHERE h.code = g.code)
			FROM mgmt_grids g WHERE g.code = $1 AND g.valid_to IS NULL`, code).Scan(&members, &rows)
		if err != nil {
			t.Fatal(err)
		}
		if members != want {
			t.Errorf("%s after both moves: %s, want %s", code, members, want)
		}
		if code == s1 && rows != 3 {
			t.Errorf("%s has %d versions, want 3", code, rows)
		}
	}
}
