package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// seedSocial adds to seedEditable's community (001 002 003 over 004 005
// 006) two buildings a grid and two social grids, S01 = the northern row
// and S02 = the southern row, built to 100 households a grid.
func seedSocial(t *testing.T, st *postgis.Store) {
	t.Helper()
	seedEditable(t, st.Pool())
	addSocial(t, st)
}

// addSocial adds the buildings and social grids of seedSocial to a store
// seeded by seedEditable.
func addSocial(t *testing.T, st *postgis.Store) {
	t.Helper()
	ctx := context.Background()
	_, err := st.Pool().Exec(ctx, `INSERT INTO buildings (name, households, residents, grid_code, community_code, street_code, district_code, geom)
		SELECT u.code || '-' || k, 5 + (right(u.code, 1)::int * 7 + k * 13) % 30, 50 + (right(u.code, 1)::int * 11 + k * 17) % 90,
		       u.code, u.community_code, u.street_code, u.district_code, ST_PointOnSurface(u.geom)
		FROM unit_grids u, generate_series(1, 2) k WHERE u.valid_to IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	c := func(n ...string) []geo.Code {
		var out []geo.Code
		for _, s := range n {
			out = append(out, geo.Code("110101001007"+s))
		}
		return out
	}
	if _, err := st.ReplaceSocialGrids(ctx, "110101001007", [][]geo.Code{c("001", "002", "003"), c("004", "005", "006")},
		grids.SocialTarget{Households: 100}, "tester", "built"); err != nil {
		t.Fatal(err)
	}
}

// mgmtSnapshot is every management grid row and member and the history
// size, to check that a refused request changed nothing.
func mgmtSnapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT
		(SELECT string_agg(id || ' ' || code || ' ' || coalesce(valid_to::text, '-'), ',' ORDER BY id) FROM mgmt_grids) || ';' ||
		(SELECT string_agg(mgmt_grid_id || grid_code, ',' ORDER BY 1) FROM mgmt_grid_members) || ';' ||
		(SELECT count(*) FROM history)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The move endpoint: a dry run is a read, a real move needs an editor and a
// reason; bad requests get 400s saying what and where, stale versions 412,
// and the list shows the new versions and totals.
func TestMgmtGridMoveAPI(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	seedSocial(t, st)
	cfg := api.Config{Divisions: st, Editor: st, Tokens: st, MgmtGrids: st}
	ts := httptest.NewServer(api.New(cfg).Handler())
	defer ts.Close()
	cfg.PrivateReads = true
	private := httptest.NewServer(api.New(cfg).Handler())
	defer private.Close()
	editor, _ := st.CreateToken(ctx, "gis-alice", grids.RoleEditor)
	viewer, _ := st.CreateToken(ctx, "watcher", grids.RoleViewer)
	const s1, s2 = "110101001007-S01", "110101001007-S02"
	moveURL := ts.URL + "/v1/mgmt-grids/" + s1 + "/move"

	sum := func(codes ...string) (hh int) {
		if err := st.Pool().QueryRow(ctx, `SELECT coalesce(sum(households), 0) FROM buildings WHERE valid_to IS NULL AND grid_code = ANY($1)`, codes).Scan(&hh); err != nil {
			t.Fatal(err)
		}
		return hh
	}

	// The list.
	status, body := get(t, ts.URL+"/v1/mgmt-grids?community=110101001007")
	var list struct {
		MgmtGrids []grids.MgmtGridSummary `json:"mgmt_grids"`
	}
	if err := json.Unmarshal([]byte(body), &list); status != 200 || err != nil || len(list.MgmtGrids) != 2 {
		t.Fatalf("list: %d %v %.300s", status, err, body)
	}
	l0 := list.MgmtGrids[0]
	wantHH := sum("110101001007001", "110101001007002", "110101001007003")
	if l0.Code != s1 || l0.Households != wantHH || l0.Version != 1 || l0.Target == nil || l0.Target.Households != 100 ||
		l0.Load == nil || *l0.Load != float64(wantHH)/100 || len(l0.Members) != 3 {
		t.Errorf("listed %+v, want %s with %d households", l0, s1, wantHH)
	}
	for _, c := range []struct{ query, want string }{
		{"", "community: "}, {"community=1101010010", "community: "}, {"community=abc", "community: "},
	} {
		if status, body := get(t, ts.URL+"/v1/mgmt-grids?"+c.query); status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("list ?%s: %d %s, want 400 %q", c.query, status, body, c.want)
		}
	}
	if status, _ := get(t, private.URL+"/v1/mgmt-grids?community=110101001007"); status != 401 {
		t.Errorf("list with private reads and no token: %d", status)
	}

	before := mgmtSnapshot(t, st.Pool())
	// Dry run: anyone may ask (reads are public here); the balance is SQL's.
	status, _, body = request(t, "POST", moveURL, "", `{"grid":"110101001007001","to":"`+s2+`","dry_run":true}`)
	var dry grids.MgmtMoveResult
	if err := json.Unmarshal([]byte(body), &dry); status != 200 || err != nil {
		t.Fatalf("dry run: %d %v %s", status, err, body)
	}
	if dry.Saved || dry.From.Before.Households != wantHH || dry.From.After.Households != sum("110101001007002", "110101001007003") ||
		dry.To.After.Households != sum("110101001007001", "110101001007004", "110101001007005", "110101001007006") ||
		dry.To.After.Load == nil || *dry.To.After.Load != float64(dry.To.After.Households)/100 {
		t.Errorf("dry run balance: %s", body)
	}
	if status, _, body := request(t, "POST", strings.Replace(moveURL, ts.URL, private.URL, 1), "", `{"grid":"110101001007001","to":"`+s2+`","dry_run":true}`); status != 401 {
		t.Errorf("dry run with private reads and no token: %d %s", status, body)
	}
	if status, _, body := request(t, "POST", strings.Replace(moveURL, ts.URL, private.URL, 1), viewer, `{"grid":"110101001007001","to":"`+s2+`","dry_run":true}`); status != 200 {
		t.Errorf("dry run with private reads, viewer: %d %s", status, body)
	}

	// Refusals: who, and what is wrong where.
	real := `{"grid":"110101001007001","to":"` + s2 + `","reason":"south gate"}`
	for _, c := range []struct {
		name, token, path, body string
		status                  int
		want                    string
	}{
		{"anonymous", "", s1, real, 401, "needs an API token with role editor"},
		{"viewer", viewer, s1, real, 403, "token watcher has role viewer; moving a unit grid between management grids (dry_run false) needs editor"},
		{"no grid", editor, s1, `{"to":"` + s2 + `","reason":"r"}`, 400, "grid: "},
		{"bad grid", editor, s1, `{"grid":"11010100100700X","to":"` + s2 + `","reason":"r"}`, 400, "grid: "},
		{"no receiver", editor, s1, `{"grid":"110101001007001","reason":"r"}`, 400, "to: is empty"},
		{"unknown member", editor, s1, `{"grid":"110101001007001","to":"` + s2 + `","reason":"r","force":true}`, 400, "force"},
		{"string version", editor, s1, `{"grid":"110101001007001","to":"` + s2 + `","reason":"r","from_version":"1"}`, 400, "from_version"},
		{"no reason", editor, s1, `{"grid":"110101001007001","to":"` + s2 + `"}`, 400, "reason: is empty"},
		{"unknown donor", editor, "nope", real, 400, "from: nope is not a current management grid"},
		{"bad donor code", editor, "a%20b", real, 400, "from: "},
		{"not a member", editor, s2, `{"grid":"110101001007001","to":"` + s1 + `","reason":"r"}`, 400, "unit grid 110101001007001 is not a member of management grid " + s2 + " (it is in " + s1 + ")"},
		{"in pieces", editor, s1, `{"grid":"110101001007002","to":"` + s2 + `","dry_run":true}`, 400, "would fall into 2 separate pieces"},
		{"stale", editor, s1, `{"grid":"110101001007001","to":"` + s2 + `","reason":"r","from_version":2}`, 412, "was edited against version 2, the current version is 1"},
	} {
		status, _, body := request(t, "POST", ts.URL+"/v1/mgmt-grids/"+c.path+"/move", c.token, c.body)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d %q", c.name, status, body, c.status, c.want)
		}
	}
	if after := mgmtSnapshot(t, st.Pool()); after != before {
		t.Fatal("dry runs and refused moves changed the management grids")
	}

	// The move, against the versions read.
	status, _, body = request(t, "POST", moveURL, editor,
		`{"grid":"110101001007001","to":"`+s2+`","reason":"south gate","from_version":1,"to_version":1}`)
	var res grids.MgmtMoveResult
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || !res.Saved || res.From.NewVersion != 2 || res.To.NewVersion != 2 {
		t.Fatalf("move: %d %v %s", status, err, body)
	}
	var actor, reason string
	if err := st.Pool().QueryRow(ctx, `SELECT actor, reason FROM history WHERE entity = 'mgmt_grid' AND code = $1 AND action = 'update'`, s2).Scan(&actor, &reason); err != nil ||
		actor != "token:gis-alice" || reason != "south gate" {
		t.Errorf("history: %q %q %v", actor, reason, err)
	}
	// The same request again is stale: 412 with the current versions.
	status, _, body = request(t, "POST", moveURL, editor,
		`{"grid":"110101001007002","to":"`+s2+`","reason":"again","from_version":1,"to_version":1}`)
	if status != http.StatusPreconditionFailed || !strings.Contains(body, `"stale_version"`) || !strings.Contains(body, `"current":[{"code":"`+s1+`","version":2}`) {
		t.Errorf("a move against old versions: %d %s", status, body)
	}
	status, body = get(t, ts.URL+"/v1/mgmt-grids?community=110101001007")
	if status != 200 || !strings.Contains(body, `"members":["110101001007001","110101001007004","110101001007005","110101001007006"]`) ||
		!strings.Contains(body, `"version":2`) {
		t.Errorf("list after the move: %d %.400s", status, body)
	}
}
