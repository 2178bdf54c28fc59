package postgis_test

import (
	"context"
	"errors"
	"fmt"
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

// Workers on duty: a duty counts from its start to (not including) its
// end, open-ended duties count from their start on, two workers on one
// grid are both named, a grid with nobody is reported as uncovered, and
// bad assignments are refused with nothing stored.
func TestWorkerDuties(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	const comm = "110101001007"
	seedWorkerGrids(t, pool, comm, "001")
	wang, err := st.AddWorker(ctx, grids.GridWorker{Name: "王芳", Phone: "13800000001"}, "tester", "hired")
	if err != nil {
		t.Fatal(err)
	}
	if wang.Role != grids.WorkerRoleGridWorker || wang.ID == 0 {
		t.Fatalf("added %+v", wang)
	}
	li, err := st.AddWorker(ctx, grids.GridWorker{Name: "李强", Phone: "010-6512 3456", Role: "supervisor"}, "tester", "hired")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddWorker(ctx, grids.GridWorker{Name: "x", Role: "mayor"}, "tester", ""); err == nil {
		t.Error("a worker with role mayor was added")
	}

	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	end := t0.Add(30 * day)
	s01 := comm + "-S01"
	d1, err := st.AssignDuty(ctx, grids.Duty{WorkerID: wang.ID, MgmtGrid: s01, Starts: t0, Ends: &end}, "tester", "rota")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignDuty(ctx, grids.Duty{WorkerID: li.ID, MgmtGrid: s01, Starts: t0.Add(10 * day)}, "tester", "rota"); err != nil {
		t.Fatal(err)
	}

	names := func(at time.Time, grid string) string {
		t.Helper()
		ws, err := st.WorkersOnDuty(ctx, grid, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range ws {
			out = append(out, w.MgmtGrid.Code+":"+w.Name+":"+w.Role)
		}
		return strings.Join(out, ",")
	}
	g1 := comm + "001"
	for _, c := range []struct {
		step string
		at   time.Time
		want string
	}{
		{"before", t0.Add(-time.Second), ""},
		{"at the start", t0, s01 + ":王芳:grid_worker"},
		{"during, two workers", t0.Add(15 * day), s01 + ":王芳:grid_worker," + s01 + ":李强:supervisor"},
		{"at the end (excluded), open-ended goes on", end, s01 + ":李强:supervisor"},
		{"a year later", t0.Add(365 * day), s01 + ":李强:supervisor"},
	} {
		if got := names(c.at, g1); got != c.want {
			t.Errorf("%s: on duty %q, want %q", c.step, got, c.want)
		}
	}
	ws, _ := st.WorkersOnDuty(ctx, g1, t0)
	if len(ws) != 1 || ws[0].Phone != "13800000001" || ws[0].MgmtGrid.Name != "南池子一网格" || ws[0].MgmtGrid.Kind != "social" ||
		ws[0].DutyID != d1.ID || ws[0].Until == nil || !ws[0].Until.Equal(end) {
		t.Errorf("on duty at start: %+v", ws)
	}

	// Grid 003's social grid has nobody; grid 001's patrol grid has nobody.
	r, err := st.Roster(ctx, comm+"003", t0.Add(15*day))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Workers) != 0 || len(r.Uncovered) != 1 || r.Uncovered[0].Code != comm+"-S02" || len(r.Covering) != 1 {
		t.Errorf("grid 003 roster: %+v", r)
	}
	r, _ = st.Roster(ctx, g1, t0.Add(15*day))
	if len(r.Workers) != 2 || len(r.Uncovered) != 1 || r.Uncovered[0].Code != "patrol-1" || len(r.Covering) != 2 || r.Covering[0].Code != s01 {
		t.Errorf("grid 001 roster: %+v", r)
	}
	r, _ = st.Roster(ctx, comm+"099", t0)
	if len(r.Covering) != 0 || len(r.Workers) != 0 {
		t.Errorf("grid 099 (in no management grid) roster: %+v", r)
	}

	// Refusals name what and where, and store nothing.
	var before int
	pool.QueryRow(ctx, `SELECT count(*) FROM grid_worker_duties`).Scan(&before) //nolint:errcheck
	early := t0.Add(-day)
	for _, c := range []struct {
		step  string
		d     grids.Duty
		field string
		has   string
	}{
		{"unknown management grid", grids.Duty{WorkerID: wang.ID, MgmtGrid: "nowhere", Starts: t0}, "mgmt_grid", "no current management grid nowhere"},
		{"unknown worker", grids.Duty{WorkerID: 9999, MgmtGrid: s01, Starts: t0}, "worker", "9999"},
		{"overlap", grids.Duty{WorkerID: wang.ID, MgmtGrid: s01, Starts: t0.Add(29 * day)}, "from", "already has duty"},
		{"overlap, open-ended one", grids.Duty{WorkerID: li.ID, MgmtGrid: s01, Starts: t0.Add(400 * day), Ends: timeAt(t0.Add(401 * day))}, "from", s01},
		{"ends before starts", grids.Duty{WorkerID: wang.ID, MgmtGrid: s01, Starts: t0, Ends: &early}, "to", "not after its start"},
	} {
		_, err := st.AssignDuty(ctx, c.d, "tester", "")
		var inv *grids.InvalidError
		if !errors.As(err, &inv) || inv.Field != c.field || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: %v; want an invalid %s naming %q", c.step, err, c.field, c.has)
		}
	}
	var after int
	pool.QueryRow(ctx, `SELECT count(*) FROM grid_worker_duties`).Scan(&after) //nolint:errcheck
	if after != before {
		t.Errorf("refused assignments stored duties: %d → %d", before, after)
	}
	// Back to back is no overlap; the same worker may serve another grid meanwhile.
	if _, err := st.AssignDuty(ctx, grids.Duty{WorkerID: wang.ID, MgmtGrid: s01, Starts: end}, "tester", ""); err != nil {
		t.Errorf("back-to-back duty: %v", err)
	}
	if _, err := st.AssignDuty(ctx, grids.Duty{WorkerID: wang.ID, MgmtGrid: "patrol-1", Starts: t0}, "tester", ""); err != nil {
		t.Errorf("second grid: %v", err)
	}

	// Ending a duty.
	stop := t0.Add(20 * day)
	dLi, _ := st.Duties(ctx, li.ID)
	if _, err := st.EndDuty(ctx, dLi[0].ID, stop, "tester", "moved"); err != nil {
		t.Fatal(err)
	}
	if got := names(t0.Add(25*day), g1); got != s01+":王芳:grid_worker,patrol-1:王芳:grid_worker" {
		t.Errorf("after ending 李强's duty: %q", got)
	}
	if _, err := st.EndDuty(ctx, dLi[0].ID, t0, "tester", ""); err == nil {
		t.Error("ending a duty before its start was accepted")
	}

	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity IN ('grid_worker', 'grid_worker_duty')`).Scan(&n) //nolint:errcheck
	if n != 2+4+1 {
		t.Errorf("history rows: %d, want 7 (2 workers, 4 duties, 1 end)", n)
	}
	list, err := st.Workers(ctx, "patrol-1")
	if err != nil || len(list) != 1 || list[0].Name != "王芳" {
		t.Errorf("workers of patrol-1: %+v %v", list, err)
	}
}

func timeAt(t time.Time) *time.Time { return &t }

// seedWorkerGrids makes the social grids S01 (grids 001 and 002) and S02
// (grid 003) of community comm, and the responsibility grid patrol-1 over
// the community's grids patrol.
func seedWorkerGrids(t *testing.T, pool *pgxpool.Pool, comm string, patrol ...string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		WITH s AS (INSERT INTO mgmt_grids (code, name, street_code, kind, community_code)
		           VALUES ($1 || '-S01', '南池子一网格', '110101001', 'social', $1) RETURNING id),
		     s2 AS (INSERT INTO mgmt_grids (code, name, street_code, kind, community_code)
		           VALUES ($1 || '-S02', '南池子二网格', '110101001', 'social', $1) RETURNING id),
		     p AS (INSERT INTO mgmt_grids (code, name, street_code) VALUES ('patrol-1', '巡查一组', '110101001') RETURNING id)
		INSERT INTO mgmt_grid_members
		SELECT s.id, c FROM s, unnest(ARRAY[$1 || '001', $1 || '002']) c
		UNION ALL SELECT s2.id, $1 || '003' FROM s2
		UNION ALL SELECT p.id, $1 || c FROM p, unnest($2::text[]) c`, comm, patrol)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// The duty book in memory (what lookups and routing read in gridd serve)
// names the same workers as the database's Roster, for every grid and at
// every moment around the duties' starts and ends and a worker leaving.
func TestDutyBookAgreesWithRoster(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	const comm = "110101001007"
	seedWorkerGrids(t, pool, comm, "001", "003")
	now := time.Now().Truncate(time.Second)
	h := time.Hour
	add := func(name, role string) int64 {
		t.Helper()
		w, err := st.AddWorker(ctx, grids.GridWorker{Name: name, Role: role}, "tester", "hired")
		if err != nil {
			t.Fatal(err)
		}
		return w.ID
	}
	assign := func(w int64, grid string, from time.Time, to *time.Time) {
		t.Helper()
		if _, err := st.AssignDuty(ctx, grids.Duty{WorkerID: w, MgmtGrid: grid, Starts: from, Ends: to}, "tester", "rota"); err != nil {
			t.Fatal(err)
		}
	}
	wang, li, zhao, sun := add("王芳", ""), add("李强", "supervisor"), add("赵敏", ""), add("孙磊", "")
	assign(wang, comm+"-S01", now.Add(-48*h), timeAt(now.Add(2*h)))
	assign(wang, comm+"-S01", now.Add(5*h), nil)
	assign(li, comm+"-S01", now.Add(-h), nil)
	assign(li, "patrol-1", now.Add(h), timeAt(now.Add(3*h)))
	assign(zhao, comm+"-S02", now.Add(-h), nil)
	assign(zhao, comm+"-S01", now.Add(-3*h), timeAt(now.Add(-2*h))) // ended before the book is read
	assign(sun, comm+"-S01", now.Add(-h), nil)
	// 孙磊 leaves in four hours.
	if _, err := pool.Exec(ctx, `UPDATE grid_workers SET valid_to = $2 WHERE id = $1`, sun, now.Add(4*h)); err != nil {
		t.Fatal(err)
	}

	book, err := st.DutyBook(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	named := func(r grids.Roster) string {
		var b strings.Builder
		for _, m := range r.Covering {
			b.WriteString("in " + m.Code + "/" + m.Name + "/" + m.Kind + "; ")
		}
		for _, w := range r.Workers {
			fmt.Fprintf(&b, "%s %s %d %s %s %d %v-%v; ", w.MgmtGrid.Code, w.MgmtGrid.Kind, w.WorkerID, w.Name, w.Role, w.DutyID, w.Since.Unix(), w.Until)
		}
		for _, m := range r.Uncovered {
			b.WriteString("nobody on " + m.Code + "; ")
		}
		return b.String()
	}
	compared := 0
	for _, g := range []string{"001", "002", "003", "099"} {
		for _, at := range []time.Duration{0, h, 2 * h, 3 * h, 4 * h, 5 * h, 6 * h} {
			want, err := st.Roster(ctx, comm+g, now.Add(at))
			if err != nil {
				t.Fatal(err)
			}
			var covering []geo.Named // as the lookup index lists them: by code
			for _, m := range want.Covering {
				covering = append(covering, geo.Named{Code: m.Code, Name: m.Name})
			}
			slices.Reverse(covering)
			got := book.Roster(covering, now.Add(at))
			if named(got) != named(want) {
				t.Errorf("grid %s at now+%v:\nbook     %s\ndatabase %s", g, at, named(got), named(want))
			}
			compared += len(want.Workers)
		}
	}
	if compared < 20 {
		t.Errorf("only %d workers on duty compared: the fixture does not exercise the book", compared)
	}
}
