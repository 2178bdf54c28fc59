package postgis_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

func newEditStore(t *testing.T) (*postgis.Store, lattice) {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	l := newLattice(testNX, testNY, 0, nil)
	seedCommunity(t, st.Pool(), l)
	return st, l
}

func code(seq string) string { return testComm + seq }

// The guard refuses any write that breaks the partition, from plain SQL too,
// and lets a full rebuild of a community through.
func TestPartitionGuard(t *testing.T) {
	ctx := context.Background()
	st, l := newEditStore(t)
	pool := st.Pool()
	checkPartition(t, pool, rand.New(rand.NewPCG(1, 1)))
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"retiring a grid leaves a gap", `UPDATE unit_grids SET valid_to = now() WHERE code = '110101001007006'`,
			"partition broken: community 110101001007: a gap of 99"},
		{"deleting a grid leaves a gap", `DELETE FROM unit_grids WHERE code = '110101001007001'`,
			"community 110101001007: a gap of"},
		{"growing a grid overlaps its neighbours", `UPDATE unit_grids SET geom = ST_Buffer(geom, 0.00005, 'join=mitre') WHERE code = '110101001007006'`,
			"community 110101001007: grids 110101001007001 and 110101001007006 overlap by"},
		{"moving a grid out of the community", `UPDATE unit_grids SET geom = ST_Translate(geom, -0.0002, 0) WHERE code = '110101001007001'`,
			"community 110101001007: grid 110101001007001 sticks out of the community by"},
		{"a new grid on top of others", `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT '110101001007099', community_code, street_code, district_code, geom, area_m2 FROM unit_grids WHERE code = '110101001007005'`,
			"grids 110101001007005 and 110101001007099 overlap"},
		{"shrinking the community under its grids", `UPDATE communities SET geom = ST_Multi(ST_Buffer(geom, -0.0001, 'join=mitre'))`,
			"sticks out of the community"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fingerprint(t, pool)
			_, err := pool.Exec(ctx, tt.sql)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if after := fingerprint(t, pool); after != before {
				t.Fatal("a refused write changed the database")
			}
		})
	}

	// A full rebuild (retire every grid, insert a new set, one transaction)
	// passes, and so does a two-statement edit that is only valid at commit.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE unit_grids SET valid_to = now() WHERE community_code = $1 AND valid_to IS NULL`, testComm); err != nil {
			return err
		}
		for i, half := range []orb.Polygon{
			{{l.pts[0][0], l.pts[2][0], l.pts[2][1], l.pts[2][2], l.pts[2][3], l.pts[1][3], l.pts[0][3], l.pts[0][2], l.pts[0][1], l.pts[0][0]}},
			{{l.pts[2][0], l.pts[3][0], l.pts[4][0], l.pts[4][1], l.pts[4][2], l.pts[4][3], l.pts[2][3], l.pts[2][2], l.pts[2][1], l.pts[2][0]}},
		} {
			_, err := tx.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
				VALUES ($1, left($1, 12), left($1, 9), left($1, 6), ST_GeomFromWKB($2, 4326), 1)`,
				code([]string{"013", "014"}[i]), mustWKB(t, half))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("a valid rebuild was refused: %v", err)
	}
	checkPartition(t, pool, rand.New(rand.NewPCG(1, 2)))
}

func apply(t *testing.T, st *postgis.Store, ops ...grids.Operation) grids.Changeset {
	t.Helper()
	cs, err := st.ApplyChangeset(context.Background(), "tester", grids.ChangesetRequest{Message: "test edit", Operations: ops})
	if err != nil {
		t.Fatalf("changeset: %v", err)
	}
	checkPartition(t, st.Pool(), rand.New(rand.NewPCG(uint64(cs.ID), 7)))
	return cs
}

func versions(vs []grids.GridVersion) string {
	var s []string
	for _, v := range vs {
		s = append(s, string(v.Code)[12:]+"v"+string(rune('0'+v.Version)))
	}
	return strings.Join(s, ",")
}

func TestEditOperations(t *testing.T) {
	ctx := context.Background()
	st, l := newEditStore(t)
	pool := st.Pool()

	// Split 006 (cell 1,1) by a north-south line a third of the way across:
	// the larger part keeps the code, the other gets 013. The neighbours
	// north and south (002, 010) gain the cut's end points as vertices, so
	// shared vertices stay bit-identical; their shape does not change.
	x := l.pts[1][1][0] + dLon/3
	cs := apply(t, st, grids.Operation{Op: grids.Split, Grids: []grids.GridRef{ref(code("006"), 1)},
		Line: line(orb.Point{x, lat0 - 0.001}, orb.Point{x, lat0 + 0.004})})
	if got := versions(cs.Result.Changed) + "|" + versions(cs.Result.Created) + "|" + versions(cs.Result.Retired); got != "006v2,002v2,010v2|013v1|" {
		t.Errorf("split result %s, want 006v2,002v2,010v2|013v1|", got)
	}
	if len(cs.Result.Warnings) != 1 || cs.Result.Warnings[0].Code != "110101001007013" { // a third of 10,000 m² < 0.5 × target
		t.Errorf("split warnings %+v, want 1 area warning for 013", cs.Result.Warnings)
	}
	var west string
	pool.QueryRow(ctx, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))`,
		x-dLon/6, l.pts[1][1][1]+dLat/2).Scan(&west)
	if west != code("013") {
		t.Errorf("the smaller, western part is %s, want the new code 013", west)
	}

	// Merge 013 back into 005 (its western neighbour): 005 is larger, keeps
	// its code, 013 is retired.
	cs = apply(t, st, grids.Operation{Op: grids.Merge, Grids: []grids.GridRef{ref(code("013"), 1), ref(code("005"), 1)}})
	if got := versions(cs.Result.Changed) + "|" + versions(cs.Result.Retired); got != "005v2|013v1" {
		t.Errorf("merge result %s, want 005v2|013v1", got)
	}

	// A new split numbers from the highest sequence ever used: 014, not 013.
	y := l.pts[0][0][1] + dLat/2
	cs = apply(t, st, grids.Operation{Op: grids.Split, Grids: []grids.GridRef{ref(code("009"), 1)},
		Line: line(orb.Point{lon0 - 0.001, y}, orb.Point{lon0 + dLon*1.5, y})})
	if versions(cs.Result.Created) != "014v1" {
		t.Errorf("second split created %s, want 014v1 (retired 013 is never reused)", versions(cs.Result.Created))
	}

	// Reshape the edge between 007 and 008 (cells 2,1 and 3,1) by a new line.
	ex := l.pts[3][1][0] + dLon/4
	cs = apply(t, st, grids.Operation{Op: grids.Reshape, Grids: []grids.GridRef{ref(code("007"), 1), ref(code("008"), 1)},
		Line: line(orb.Point{ex, l.pts[3][1][1]}, orb.Point{ex - dLon/10, l.pts[3][2][1]})})
	if versions(cs.Result.Changed) != "007v2,008v2,004v2,012v2" { // 004, 012 gain the new end points
		t.Errorf("reshape changed %s, want 007v2,008v2,004v2,012v2", versions(cs.Result.Changed))
	}

	// Move lattice point 1,2, a vertex of 001, 002 and 005 (006 lost it to
	// 005 in the split and merge): every grid with it is listed.
	from := l.pts[1][2]
	to := orb.Point{from[0] + dLon/5, from[1] - dLat/5}
	var vs []grids.GridRef
	for c, v := range current(t, pool) {
		var has bool
		pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unit_grids u, ST_DumpPoints(u.geom) d WHERE u.code = $1 AND u.valid_to IS NULL
			AND ST_Equals(d.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)))`, c, from[0], from[1]).Scan(&has)
		if has {
			vs = append(vs, ref(c, v))
		}
	}
	if len(vs) != 3 {
		t.Fatalf("lattice point 1,2 is on %d grids, want 3", len(vs))
	}
	_, err := st.ApplyChangeset(ctx, "tester", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{
		{Op: grids.Reshape, Grids: vs[:2], Moves: []grids.VertexMove{{From: from, To: to}}}}})
	if err == nil || !strings.Contains(err.Error(), "is also a vertex of grid") {
		t.Errorf("moving a vertex without all its grids: %v", err)
	}
	cs = apply(t, st, grids.Operation{Op: grids.Reshape, Grids: vs, Moves: []grids.VertexMove{{From: from, To: to}}})
	if len(cs.Result.Changed) != 3 {
		t.Errorf("vertex move changed %s, want 3 grids", versions(cs.Result.Changed))
	}

	// Replace 003 and 004 (cells 2,2 and 3,2) by a new pair split
	// diagonally; 003 keeps its code, the other part is new (015), 004 retires.
	c := current(t, pool)
	a, b, cc, d := l.pts[2][2], l.pts[4][2], l.pts[4][3], l.pts[2][3]
	mid := l.pts[3][2]
	top := l.pts[3][3]
	// 008's top edge passes through lattice point 3,2; keep it on both parts.
	cs = apply(t, st, grids.Operation{Op: grids.Replace, Grids: []grids.GridRef{ref(code("003"), c[code("003")]), ref(code("004"), c[code("004")])},
		Parts: []grids.Part{
			{Code: "110101001007003", Geometry: poly(orb.Polygon{{a, mid, cc, top, d, a}})},
			{Geometry: poly(orb.Polygon{{mid, b, cc, mid}})},
		}})
	if versions(cs.Result.Created) != "015v1" || versions(cs.Result.Retired) != "004v2" {
		t.Errorf("replace: created %s retired %s, want 015v1 and 004v2", versions(cs.Result.Created), versions(cs.Result.Retired))
	}

	// Redraw 010 (cell 1,0) a little wider to the east: 011 gives up a strip.
	c = current(t, pool)
	p0, p1, p2, p3 := l.pts[1][0], l.pts[2][0], l.pts[2][1], l.pts[1][1]
	p1b, p2b := orb.Point{p1[0] + dLon/4, p1[1]}, orb.Point{p2[0] + dLon/4, p2[1]}
	cs, err = st.UpdateGrid(ctx, "tester", ref(code("010"), c[code("010")]), grids.GridAttributes{},
		orb.Polygon{{p0, p1b, p2b, p3, p0}}, "widen 010")
	if err != nil {
		t.Fatalf("redraw: %v", err)
	}
	checkPartition(t, pool, rand.New(rand.NewPCG(3, 3)))
	if !strings.Contains(versions(cs.Result.Changed), "010v") || !strings.Contains(versions(cs.Result.Changed), "011v") {
		t.Errorf("redraw changed %s, want 010 and 011", versions(cs.Result.Changed))
	}

	// Lineage: 006v1 → 006v2 and 013v1 by split; 005v1 and 013v1 → 005v2 by merge.
	var lin []string
	rows, _ := pool.Query(ctx, `SELECT right(parent_code, 3) || 'v' || parent_version || '>' || right(child_code, 3) || 'v' || child_version || ':' || operation
		FROM grid_lineage WHERE operation IN ('split', 'merge') AND parent_code IN ($1, $2, $3) ORDER BY id`, code("006"), code("013"), code("005"))
	lin, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	if got := strings.Join(lin, " "); got != "006v1>006v2:split 006v1>013v1:split 005v1>005v2:merge 013v1>005v2:merge" {
		t.Errorf("lineage %s", got)
	}
	// History: who, why, before and after.
	hs, err := st.GridHistory(ctx, "110101001007013")
	if err != nil || len(hs) != 2 || hs[0].Action != "create" || hs[1].Action != "retire" || hs[1].Actor != "tester" ||
		hs[1].Reason != "test edit" || hs[1].Before["version"] != float64(1) || hs[1].After != nil {
		t.Errorf("history of 013: %+v %v", hs, err)
	}
}

func TestEditRejections(t *testing.T) {
	ctx := context.Background()
	st, l := newEditStore(t)
	pool := st.Pool()
	cell := func(i, j int) orb.Polygon { return l.cell(i, j) }
	shrunk := cell(1, 1).Clone()
	shrunk[0][2] = orb.Point{shrunk[0][2][0] - dLon/4, shrunk[0][2][1]}
	grown := cell(1, 1).Clone()
	grown[0][2] = orb.Point{grown[0][2][0] + dLon/4, grown[0][2][1]}
	x := l.pts[1][1][0] + dLon/20
	tests := []struct {
		name string
		ops  []grids.Operation
		want string
		kind any
	}{
		{"replace leaving a gap", []grids.Operation{{Op: grids.Replace, Grids: []grids.GridRef{ref(code("006"), 1)},
			Parts: []grids.Part{{Code: "110101001007006", Geometry: poly(shrunk)}}}},
			"community 110101001007: a gap of", &grids.PartitionError{}},
		{"replace overlapping a neighbour", []grids.Operation{{Op: grids.Replace, Grids: []grids.GridRef{ref(code("006"), 1)},
			Parts: []grids.Part{{Code: "110101001007006", Geometry: poly(grown)}}}},
			"grids 110101001007006 and 110101001007007 overlap", &grids.PartitionError{}},
		{"merge across communities", []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("006"), 1), ref("110101001008001", 1)}}},
			"are in different communities", &grids.InvalidError{}},
		{"merging grids that do not touch", []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("003"), 1)}}},
			"are not adjacent", &grids.InvalidError{}},
		{"stale version", []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 2)}}},
			"grid 110101001007002 was edited against version 2, the current version is 1", &grids.StaleError{}},
		{"unknown grid", []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("099"), 1)}}},
			"grid 110101001007099 version 1 is no longer current", &grids.StaleError{}},
		{"split below the hard area limit", []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{ref(code("006"), 1)},
			Line: line(orb.Point{x, lat0 - 0.001}, orb.Point{x, lat0 + 0.004})}},
			"below the hard limit of 2500 m²", &grids.InvalidError{}},
		{"split line that does not cross", []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{ref(code("006"), 1)},
			Line: line(l.pts[1][1], orb.Point{l.pts[1][1][0] + dLon/2, l.pts[1][1][1] + dLat/2})}},
			"does not cut grid 110101001007006 from side to side", &grids.InvalidError{}},
		{"reshape moving a community boundary vertex", []grids.Operation{{Op: grids.Reshape, Grids: []grids.GridRef{ref(code("001"), 1)},
			Moves: []grids.VertexMove{{From: l.pts[0][3], To: orb.Point{l.pts[0][3][0] + dLon/5, l.pts[0][3][1]}}}}},
			"a gap of", &grids.PartitionError{}},
		{"reshape of grids without a shared edge", []grids.Operation{{Op: grids.Reshape, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("003"), 1)},
			Line: line(orb.Point{lon0, lat0}, orb.Point{lon0 + 1e-3, lat0 + 1e-3})}},
			"do not share an edge", &grids.InvalidError{}},
		{"a good operation then a bad one", []grids.Operation{
			{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 1)}},
			{Op: grids.Merge, Grids: []grids.GridRef{ref(code("003"), 1), ref(code("011"), 1)}}},
			"operations[1].grids: grids 110101001007003, 110101001007011 are not adjacent", &grids.InvalidError{}},
		{"no message", nil, "message: a changeset needs a message", &grids.InvalidError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fingerprint(t, pool)
			msg := "test"
			if tt.ops == nil {
				msg = " "
				tt.ops = []grids.Operation{{Op: grids.Merge}}
			}
			_, err := st.ApplyChangeset(ctx, "tester", grids.ChangesetRequest{Message: msg, Operations: tt.ops})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			switch tt.kind.(type) {
			case *grids.PartitionError:
				var e *grids.PartitionError
				if !errors.As(err, &e) {
					t.Errorf("error %T, want *grids.PartitionError", err)
				}
			case *grids.InvalidError:
				var e *grids.InvalidError
				if !errors.As(err, &e) {
					t.Errorf("error %T, want *grids.InvalidError", err)
				}
			case *grids.StaleError:
				var e *grids.StaleError
				if !errors.As(err, &e) {
					t.Errorf("error %T, want *grids.StaleError", err)
				}
			}
			if after := fingerprint(t, pool); after != before {
				t.Fatal("a refused changeset changed the database")
			}
		})
	}
}

func TestRevert(t *testing.T) {
	ctx := context.Background()
	st, l := newEditStore(t)
	pool := st.Pool()
	original := fingerprintGrids(t, st)

	x := l.pts[1][1][0] + dLon/2
	split := apply(t, st, grids.Operation{Op: grids.Split, Grids: []grids.GridRef{ref(code("006"), 1)},
		Line: line(orb.Point{x, lat0 - 0.001}, orb.Point{x, lat0 + 0.004})})
	merge := apply(t, st, grids.Operation{Op: grids.Merge, Grids: []grids.GridRef{ref(code("003"), 1), ref(code("004"), 1)}})

	// Reverting the split while the merge stands is fine (they touch
	// different grids); reverting it twice is refused.
	rv, err := st.RevertChangeset(ctx, "reverter", split.ID, "")
	if err != nil {
		t.Fatalf("revert split: %v", err)
	}
	checkPartition(t, pool, rand.New(rand.NewPCG(5, 5)))
	if versions(rv.Result.Changed) != "002v3,006v3,010v3" || versions(rv.Result.Retired) != "013v1" || rv.Reverts == nil || *rv.Reverts != split.ID {
		t.Errorf("revert result %+v", rv.Result)
	}
	if _, err := st.RevertChangeset(ctx, "reverter", split.ID, ""); !errors.Is(err, grids.ErrConflict) || !strings.Contains(err.Error(), "already reverted") {
		t.Errorf("second revert: %v", err)
	}
	// The merged grid is edited again, so reverting the merge conflicts.
	c := current(t, pool)
	ex := l.pts[2][2][0] - dLon/4
	apply(t, st, grids.Operation{Op: grids.Reshape, Grids: []grids.GridRef{ref(code("002"), c[code("002")]), ref(code("003"), c[code("003")])},
		Line: line(orb.Point{ex, l.pts[2][2][1]}, orb.Point{ex, l.pts[2][3][1]})})
	before := fingerprint(t, pool)
	_, err = st.RevertChangeset(ctx, "reverter", merge.ID, "")
	if !errors.Is(err, grids.ErrConflict) || !strings.Contains(err.Error(), "grid 110101001007003 was changed later (version 2, now 3, by changeset") {
		t.Errorf("revert with a later change: %v", err)
	}
	if fingerprint(t, pool) != before {
		t.Error("a refused revert changed the database")
	}
	// Undo the reshape, then the merge: the map is as it started, 002 revived.
	last, _ := st.Changeset(ctx, merge.ID+2)
	if _, err := st.RevertChangeset(ctx, "reverter", last.ID, ""); err != nil {
		t.Fatal(err)
	}
	rv, err = st.RevertChangeset(ctx, "reverter", merge.ID, "undo the merge")
	if err != nil {
		t.Fatalf("revert merge: %v", err)
	}
	if versions(rv.Result.Created) != "004v2" {
		t.Errorf("revert of the merge revived %s, want 004v2", versions(rv.Result.Created))
	}
	checkPartition(t, pool, rand.New(rand.NewPCG(6, 6)))
	if got := fingerprintGrids(t, st); got != original {
		t.Errorf("after reverting everything the grids differ:\n%s\n%s", original, got)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE action = 'revert' AND actor = 'reverter' AND reason = 'undo the merge'`).Scan(&n)
	if n != 2 {
		t.Errorf("%d history rows for the merge's revert, want 2", n)
	}
}

// fingerprintGrids is the current grids' codes and exact geometries.
func fingerprintGrids(t *testing.T, st *postgis.Store) string {
	var s string
	if err := st.Pool().QueryRow(context.Background(), `SELECT string_agg(code || ':' || md5(ST_AsBinary(geom)), ' ' ORDER BY code)
		FROM unit_grids WHERE valid_to IS NULL`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Two editors at the same moment: on different grids both succeed; on the
// same grid one wins and the other gets a stale-version error.
func TestConcurrentEdits(t *testing.T) {
	ctx := context.Background()
	st, l := newEditStore(t)
	run := func(ops ...[]grids.Operation) []error {
		errs := make([]error, len(ops))
		var wg sync.WaitGroup
		for i, o := range ops {
			wg.Go(func() {
				_, errs[i] = st.ApplyChangeset(ctx, "editor", grids.ChangesetRequest{Message: "concurrent", Operations: o})
			})
		}
		wg.Wait()
		return errs
	}
	mergeA := []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 1)}}}
	mergeB := []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("003"), 1), ref(code("004"), 1)}}}
	if errs := run(mergeA, mergeB); errs[0] != nil || errs[1] != nil {
		t.Fatalf("edits of different grids: %v", errs)
	}
	y := l.pts[0][0][1] + dLat/2
	splitC := []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{ref(code("009"), 1)},
		Line: line(orb.Point{lon0 - 0.001, y}, orb.Point{lon0 + dLon*1.5, y})}}
	mergeC := []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("009"), 1), ref(code("010"), 1)}}}
	errs := run(splitC, mergeC)
	var stale *grids.StaleError
	ok := (errs[0] == nil && errors.As(errs[1], &stale)) || (errs[1] == nil && errors.As(errs[0], &stale))
	if !ok {
		t.Fatalf("edits of the same grid: %v; want one success and one stale error", errs)
	}
	checkPartition(t, st.Pool(), rand.New(rand.NewPCG(9, 9)))
}

// A committed changeset is announced on the change feed with the extent of
// the grids it touched (that is how lookups and tiles on every instance
// follow an edit).
func TestEditAnnounced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, l := newEditStore(t)
	got := make(chan grids.Change, 64)
	go st.Listen(ctx, 200*time.Millisecond, func(c grids.Change) { got <- c }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)

	_, err := st.ApplyChangeset(ctx, "tester", grids.ChangesetRequest{Message: "bad", Operations: []grids.Operation{
		{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("003"), 1)}}}})
	if err == nil {
		t.Fatal("a merge of grids that do not touch was accepted")
	}
	apply(t, st, grids.Operation{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 1)}})
	want := orb.Bound{Min: l.pts[0][2], Max: l.pts[2][3]}
	// One notification per statement; together they cover the edit.
	var seen orb.Bound
	n := 0
	deadline := time.After(5 * time.Second)
	for {
		select {
		case c := <-got:
			if c.Table != "unit_grids" || c.All {
				continue
			}
			if n == 0 {
				seen = c.BBox
			} else {
				seen = seen.Union(c.BBox)
			}
			n++
			if seen.Contains(want.Min) && seen.Contains(want.Max) {
				return
			}
		case <-deadline:
			t.Fatalf("%d unit_grids changes announced within 5 s, covering %v, not the merged grids %v", n, seen, want)
		}
	}
}
