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
