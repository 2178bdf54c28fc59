package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

func TestImportLines(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	road := func(i int, x float64) grids.LineFeature {
		return grids.LineFeature{Index: i, SourceID: "r", Class: "lane", Name: "路",
			Geom: orb.MultiLineString{{{x, 39.90}, {x, 39.91}}}}
	}
	feats := []grids.LineFeature{road(0, 116.40), road(1, 116.41)}
	rep, err := st.ImportLines(ctx, "roads", feats, "test", "first")
	if err != nil || rep.Created != 2 {
		t.Fatalf("first import: %+v %v", rep, err)
	}
	before := tableState(t, pool) + " " + strings.Join(queryStrings(t, pool, `SELECT id::text FROM lines ORDER BY id`), ",")

	rep, err = st.ImportLines(ctx, "roads", feats, "test", "again")
	if err != nil || rep.Unchanged != 2 || rep.Created+rep.Updated != 0 {
		t.Fatalf("same file again: %+v %v", rep, err)
	}
	after := tableState(t, pool) + " " + strings.Join(queryStrings(t, pool, `SELECT id::text FROM lines ORDER BY id`), ",")
	if before != after {
		t.Errorf("an unchanged import changed the database")
	}

	// One zero-length line refuses the whole file.
	bad := append([]grids.LineFeature{road(0, 116.42)},
		grids.LineFeature{Index: 1, SourceID: "z", Geom: orb.MultiLineString{{{116.43, 39.90}, {116.43, 39.90}}}})
	_, err = st.ImportLines(ctx, "roads", bad, "test", "bad")
	var rej *grids.RejectedError
	if !errors.As(err, &rej) || len(rej.Rejected) != 1 || rej.Rejected[0].Index != 1 || rej.Rejected[0].Code != "z" {
		t.Fatalf("zero-length line: %v", err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM lines WHERE valid_to IS NULL`); n != 2 {
		t.Errorf("%d current lines after a refused import, want the 2 before it", n)
	}

	// A changed file replaces the layer; another layer is left alone.
	if _, err := st.ImportLines(ctx, "rivers", []grids.LineFeature{road(0, 116.45)}, "test", "river"); err != nil {
		t.Fatal(err)
	}
	rep, err = st.ImportLines(ctx, "roads", []grids.LineFeature{road(0, 116.42)}, "test", "replace")
	if err != nil || rep.Updated != 1 {
		t.Fatalf("replace: %+v %v", rep, err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM lines WHERE valid_to IS NULL AND layer = 'roads'`); n != 1 {
		t.Errorf("%d current roads, want 1", n)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM lines WHERE valid_to IS NULL AND layer = 'rivers'`); n != 1 {
		t.Errorf("%d current rivers, want 1", n)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM history WHERE entity = 'line_layer'`); n != 3 {
		t.Errorf("%d history rows for line layers, want 3 (create roads, create rivers, update roads)", n)
	}
	if _, err := st.ImportLines(ctx, "bad layer", feats, "test", ""); err == nil {
		t.Error("a layer name with a space was accepted")
	}
}

// With a tolerance, a road end stopping short of another road within it is
// moved onto that road (so the builder cuts there); ends farther away, ends
// that already touch a road and the other road stay as given.
func TestImportLinesFit(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	line := func(i int, pts ...orb.Point) grids.LineFeature {
		return grids.LineFeature{Index: i, SourceID: string(rune('a' + i)), Class: "lane", Name: "路",
			Geom: orb.MultiLineString{orb.LineString(pts)}}
	}
	// East-west road A; B stops 1.1 m south of it, C 3.3 m south, D
	// crosses it.
	feats := []grids.LineFeature{
		line(0, orb.Point{116.400, 39.900}, orb.Point{116.410, 39.900}),
		line(1, orb.Point{116.405, 39.89999}, orb.Point{116.405, 39.890}),
		line(2, orb.Point{116.407, 39.89997}, orb.Point{116.407, 39.890}),
		line(3, orb.Point{116.403, 39.901}, orb.Point{116.403, 39.890}),
	}
	_, fit, err := st.ImportLinesFit(ctx, "roads", feats, "test", "fit", 2)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Snapped != 1 || fit.MaxMoveM < 1.0 || fit.MaxMoveM > 1.2 {
		t.Errorf("fit: %+v, want 1 end moved by about 1.1 m", fit)
	}
	var touches, moved []bool
	rows, err := pool.Query(ctx, `SELECT ST_DWithin(l.geom, a.geom, 1e-12), NOT ST_Equals(l.geom, ST_GeomFromText(g.wkt, 4326))
		FROM lines l JOIN (VALUES ('b', 'LINESTRING(116.405 39.89999,116.405 39.89)'),
		                          ('c', 'LINESTRING(116.407 39.89997,116.407 39.89)'),
		                          ('d', 'LINESTRING(116.403 39.901,116.403 39.89)')) g(id, wkt) ON g.id = l.source_id,
		     (SELECT geom FROM lines WHERE source_id = 'a' AND layer = 'roads' AND valid_to IS NULL) a
		WHERE l.valid_to IS NULL AND l.layer = 'roads' ORDER BY l.source_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tch, mv bool
		if err := rows.Scan(&tch, &mv); err != nil {
			t.Fatal(err)
		}
		touches, moved = append(touches, tch), append(moved, mv)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(touches) != 3 || !touches[0] || touches[1] || !touches[2] || !moved[0] || moved[1] || moved[2] {
		t.Errorf("touching road A %v, moved %v; want B moved onto A, C as given (too far), D as given (crossing)", touches, moved)
	}
	// Without a tolerance nothing moves.
	_, fit, err = st.ImportLinesFit(ctx, "rivers", feats, "test", "no fit", 0)
	if err != nil || fit.Snapped != 0 {
		t.Errorf("without --fit: %+v, %v", fit, err)
	}
}
