package postgis_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

func TestChangeFeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := postgis.NewStore(pgtest.New(t))
	got := make(chan grids.Change, 16)
	go st.Listen(ctx, 200*time.Millisecond, func(c grids.Change) { got <- c }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)                                         // let the listener connect

	// A rolled-back write announces nothing.
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(ctx, `INSERT INTO districts (code, name, geom) VALUES ('110102', '西城区',
		ST_Multi(ST_MakeEnvelope(116.30, 39.88, 116.39, 39.97, 4326)))`)
	tx.Rollback(ctx)

	// A committed write from plain SQL is announced with its extent.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区',
		ST_Multi(ST_MakeEnvelope(116.37, 39.86, 116.45, 39.97, 4326)))`); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-got:
		if c.Table != "districts" || c.Op != "INSERT" || c.All || c.BBox.Min[0] != 116.37 || c.BBox.Max[1] != 39.97 {
			t.Errorf("change %+v, want the insert into districts with its bbox", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5 s of the commit")
	}
	// An update covers both the old and the new extent.
	st.Pool().Exec(ctx, `UPDATE districts SET geom = ST_Multi(ST_MakeEnvelope(116.38, 39.85, 116.46, 39.96, 4326))`)
	c := <-got
	if c.Op != "UPDATE" || c.BBox.Min[0] != 116.37 || c.BBox.Max[0] != 116.46 || c.BBox.Min[1] != 39.85 {
		t.Errorf("update change %+v, want the union of old and new extents", c)
	}
	v, err := st.MapVersion(ctx)
	if err != nil || v != c.Version {
		t.Errorf("MapVersion %d (%v), want %d", v, err, c.Version)
	}
	st.Pool().Exec(ctx, `TRUNCATE districts`)
	if c := <-got; !c.All {
		t.Errorf("truncate change %+v, want All", c)
	}
	select {
	case c := <-got:
		t.Errorf("unexpected change %+v (the rolled-back insert?)", c)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestGridAtSingleOwner(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	// Two grids sharing the edge lon = 116.41.
	_, err := pool.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2) VALUES
		('110101001001002', '110101001001', '110101001', '110101', ST_MakeEnvelope(116.40, 39.90, 116.41, 39.91, 4326), 1),
		('110101001001001', '110101001001', '110101001', '110101', ST_MakeEnvelope(116.41, 39.90, 116.42, 39.91, 4326), 1)`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		lon  float64
		lat  float64
		want *string
	}{
		{"inside the west grid", 116.405, 39.905, ptr("110101001001002")},
		{"on the shared edge: the smaller code", 116.41, 39.905, ptr("110101001001001")},
		{"on the shared corner", 116.41, 39.90, ptr("110101001001001")},
		{"on the west grid's outer edge", 116.40, 39.905, ptr("110101001001002")},
		{"outside", 116.43, 39.905, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *string
			if err := pool.QueryRow(ctx, `SELECT gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326))`, tt.lon, tt.lat).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("owner %v, want %v", deref(got), deref(tt.want))
			}
		})
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

// The change log delivers every committed change once, in any commit order,
// resumes after its connections are cut without losing or replaying
// anything, and says so when rows it had not read were pruned.
func TestChangeLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	insert := func(db interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, code string, x float64) {
		t.Helper()
		// What the watched tables' triggers call (migration 0024).
		if _, err := db.Exec(ctx, `SELECT gridd_announce('districts', 'INSERT ' || $1,
			ST_MakeEnvelope($2::float8, 39.9, $2::float8 + 0.01, 39.91, 4326)::box2d)`, code, x); err != nil {
			t.Fatal(err)
		}
	}
	cursor := ""
	read := func() []grids.Change {
		t.Helper()
		var got []grids.Change
		if err := st.ReadLog(ctx, &cursor, func(c grids.Change) { got = append(got, c) }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); len(got) != 0 {
		t.Fatalf("starting the log delivered %v", got)
	}

	// A change that takes its version first and commits last is still
	// delivered, after the one that overtook it.
	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx) //nolint:errcheck
	insert(slow, "110101", 116.40)
	insert(pool, "110102", 116.30)
	first := read()
	if len(first) != 1 || first[0].Table != "districts" || first[0].BBox.Min[0] != 116.30 {
		t.Fatalf("after the fast commit: %+v, want the insert at 116.30", first)
	}
	if got := read(); len(got) != 0 {
		t.Fatalf("reading again delivered %+v", got)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	late := read()
	if len(late) != 1 || late[0].BBox.Min[0] != 116.40 || late[0].Version >= first[0].Version {
		t.Fatalf("after the slow commit: %+v, want the insert at 116.40 with the smaller version", late)
	}

	// A rolled-back change is never delivered.
	tx, _ := pool.Begin(ctx)
	insert(tx, "110105", 116.50)
	tx.Rollback(ctx) //nolint:errcheck
	if got := read(); len(got) != 0 {
		t.Fatalf("a rolled-back insert was delivered: %+v", got)
	}

	// Listen follows the log across cut connections: the change committed
	// while its connections were down arrives, with no reload.
	got := make(chan grids.Change, 16)
	go st.Listen(ctx, 100*time.Millisecond, func(c grids.Change) { got <- c }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)
	admin, err := pgx.Connect(ctx, pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	insert(admin, "110106", 116.60)
	var changes []grids.Change
	deadline := time.After(5 * time.Second)
	for len(changes) == 0 || changes[len(changes)-1].Table != "districts" {
		select {
		case c := <-got:
			changes = append(changes, c)
		case <-deadline:
			t.Fatalf("the change committed while the connections were cut did not arrive: %+v", changes)
		}
	}
	for _, c := range changes {
		if c.All || c.Table == "*" {
			t.Errorf("a cut connection cost a reload: %+v", changes)
		}
	}
	if last := changes[len(changes)-1]; last.BBox.Min[0] != 116.60 {
		t.Errorf("delivered %+v, want the insert at 116.60", last)
	}
	// The status is set once the read that delivered the change returns.
	want := changes[len(changes)-1].Version
	for wait := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		f := st.FollowStatus()
		if f.Version == want && f.Err == nil {
			break
		}
		if time.Since(wait) > 2*time.Second {
			t.Errorf("follow status %+v, want version %d and no error", f, want)
			break
		}
	}

	// Rows older than the retention go, except the newest; a cursor that
	// had not read a pruned row gets everything as changed.
	behind := ""
	if err := st.ReadLog(ctx, &behind, func(grids.Change) {}); err != nil {
		t.Fatal(err)
	}
	insert(pool, "110107", 116.70)
	insert(pool, "110108", 116.80)
	if _, err := pool.Exec(ctx, `UPDATE map_changes SET at = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	before, _ := st.MapVersion(ctx)
	n, err := st.PruneChanges(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var left int
	pool.QueryRow(ctx, `SELECT count(*) FROM map_changes`).Scan(&left) //nolint:errcheck
	if after, _ := st.MapVersion(ctx); n == 0 || left != 1 || after != before {
		t.Errorf("pruned %d rows, %d left, version %d → %d; want all but the newest gone and the version kept", n, left, before, after)
	}
	var lost []grids.Change
	if err := st.ReadLog(ctx, &behind, func(c grids.Change) { lost = append(lost, c) }); err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || !lost[0].All || lost[0].Op != "PRUNED" || lost[0].Version != before {
		t.Errorf("a cursor behind the pruned rows got %+v, want one All change at version %d", lost, before)
	}
	if f := st.FollowStatus(); f.Resets != 1 {
		t.Errorf("resets %d, want 1", f.Resets)
	}
}
