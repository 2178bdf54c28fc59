package postgis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// Metres to degrees near 39.9°N.
const (
	mLon = 1 / 85405.0
	mLat = 1 / 111000.0
)

// box is a rectangle x0..x0+w, y0..y0+h in metres from (lon, lat), as a
// closed ring.
func box(lon, lat, x0, y0, w, h float64) [][2]float64 {
	a, b := lon+x0*mLon, lat+y0*mLat
	c, d := lon+(x0+w)*mLon, lat+(y0+h)*mLat
	return [][2]float64{{a, b}, {c, b}, {c, d}, {a, d}, {a, b}}
}

func reverse(r [][2]float64) [][2]float64 {
	out := make([][2]float64, len(r))
	for i := range r {
		out[i] = r[len(r)-1-i]
	}
	return out
}

type edgeFeature struct {
	code, name, typ string
	coords          any
}

func edgeCollection(fs ...edgeFeature) []byte {
	var parts []string
	for _, f := range fs {
		g, _ := json.Marshal(map[string]any{"type": f.typ, "coordinates": f.coords})
		parts = append(parts, fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"name":%q},"geometry":%s}`, f.code, f.name, g))
	}
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(parts, ",") + `]}`)
}

// The edge cases, one community each, side by side in one street.
const (
	edgeHole     = "110101001001" // 400 m square with a 60 m courtyard that belongs to no grid
	edgeMulti    = "110101001002" // two 250 m squares 100 m apart
	edgeSmall    = "110101001003" // 60 m × 60 m, less than half the target
	edgeRoadEdge = "110101001004" // 300 m square with roads on and next to its boundary
	edgeThin     = "110101001005" // 40 m × 2,500 m
	edgeTinyPart = "110101001006" // 300 m square and a detached 40 m square
)

func TestBuildEdges(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	const lon, lat = 116.40, 39.90
	outer := box(lon, lat, -100, -100, 4000, 2800)
	data := edgeCollection(
		edgeFeature{"110101", "东城区", "Polygon", [][][2]float64{outer}},
		edgeFeature{"110101001", "东华门街道", "Polygon", [][][2]float64{outer}},
		edgeFeature{edgeHole, "有院子社区", "Polygon", [][][2]float64{box(lon, lat, 0, 0, 400, 400), reverse(box(lon, lat, 170, 170, 60, 60))}},
		edgeFeature{edgeMulti, "两块社区", "MultiPolygon", [][][][2]float64{{box(lon, lat, 500, 0, 250, 250)}, {box(lon, lat, 850, 0, 250, 250)}}},
		edgeFeature{edgeSmall, "小社区", "Polygon", [][][2]float64{box(lon, lat, 1200, 0, 60, 60)}},
		edgeFeature{edgeRoadEdge, "路边社区", "Polygon", [][][2]float64{box(lon, lat, 1400, 0, 300, 300)}},
		edgeFeature{edgeThin, "细长社区", "Polygon", [][][2]float64{box(lon, lat, 1800, 0, 40, 2500)}},
		edgeFeature{edgeTinyPart, "飞地社区", "MultiPolygon", [][][][2]float64{{box(lon, lat, 2000, 0, 300, 300)}, {box(lon, lat, 2400, 0, 40, 40)}}},
	)
	if _, err := importBytes(ctx, st, data); err != nil {
		t.Fatal(err)
	}
	pt := func(x, y float64) orb.Point { return orb.Point{lon + x*mLon, lat + y*mLat} }
	roads := []grids.LineFeature{
		// through the courtyard of the hole community
		{Class: "lane", Geom: orb.MultiLineString{{pt(-50, 200), pt(450, 200)}}},
		// exactly on the western edge of the road-edge community, with the
		// community's own vertices
		{Class: "arterial", Geom: orb.MultiLineString{{pt(1400, -50), pt(1400, 0), pt(1400, 300), pt(1400, 350)}}},
		// 3 m inside its northern edge, and one across its middle
		{Class: "lane", Geom: orb.MultiLineString{{pt(1350, 297), pt(1750, 297)}}},
		{Class: "lane", Geom: orb.MultiLineString{{pt(1550, -50), pt(1550, 350)}}},
		// along the thin community, 1 m inside its eastern edge
		{Class: "lane", Geom: orb.MultiLineString{{pt(1839, -50), pt(1839, 2550)}}},
	}
	for i := range roads {
		roads[i].Index = i
	}
	if _, err := st.ImportLines(ctx, "roads", roads, "test", "edge roads"); err != nil {
		t.Fatal(err)
	}
	rep, err := st.Build(ctx, grids.BuildRequest{Area: "110101001", Actor: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Quality.Problems {
		t.Logf("problem: %+v", p)
	}
	checkGuarantees(t, pool, "110101001", problemGrids(rep))

	count := func(community string) int {
		return queryInt(t, pool, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL AND community_code = $1`, community)
	}
	t.Run("only the small community and the detached part are reported", func(t *testing.T) {
		got := map[string][]string{}
		for _, p := range rep.Quality.Problems {
			got[p.Community] = append(got[p.Community], p.Guarantee+": "+p.Reason)
		}
		if len(got) != 2 || len(got[edgeSmall]) != 1 || len(got[edgeTinyPart]) != 1 {
			t.Fatalf("problems %v, want one for %s and one for %s", got, edgeSmall, edgeTinyPart)
		}
		if !strings.Contains(got[edgeSmall][0], "less than half the target") {
			t.Errorf("small community: %s", got[edgeSmall][0])
		}
		if !strings.Contains(got[edgeTinyPart][0], "separate part") {
			t.Errorf("detached part: %s", got[edgeTinyPart][0])
		}
	})
	t.Run("hole: the courtyard belongs to no grid", func(t *testing.T) {
		var owner *string
		p := pt(200, 200)
		if err := pool.QueryRow(ctx, `SELECT gridd_grid_at(ST_SetSRID(ST_MakePoint($1, $2), 4326))`, p[0], p[1]).Scan(&owner); err != nil {
			t.Fatal(err)
		}
		if owner != nil {
			t.Errorf("the courtyard's centre is in grid %s", *owner)
		}
		if n := count(edgeHole); n < 13 || n > 18 {
			t.Errorf("%d grids for 156,400 m²", n)
		}
	})
	t.Run("multipart: grids stay within one part", func(t *testing.T) {
		bad := queryStrings(t, pool, `SELECT g.code FROM unit_grids g JOIN communities c ON c.code = g.community_code AND c.valid_to IS NULL
			WHERE g.valid_to IS NULL AND g.community_code = $1
			  AND NOT EXISTS (SELECT 1 FROM ST_Dump(c.geom) d
			                  WHERE `+area("ST_Difference(g.geom, d.geom)")+` <= 0.01)`, edgeMulti)
		if len(bad) > 0 {
			t.Errorf("grids spanning both parts: %v", bad)
		}
		if n := count(edgeMulti); n < 10 || n > 14 {
			t.Errorf("%d grids for two parts of 62,500 m²", n)
		}
	})
	t.Run("small: one grid", func(t *testing.T) {
		if n := count(edgeSmall); n != 1 {
			t.Errorf("%d grids for a 3,600 m² community, want 1", n)
		}
	})
	t.Run("road on the boundary: no slivers, grids follow the roads", func(t *testing.T) {
		if n := count(edgeRoadEdge); n < 7 || n > 11 {
			t.Errorf("%d grids for 90,000 m²", n)
		}
		for _, q := range rep.Quality.Areas {
			if q.Code == "110101001" && q.OnLinesShare <= 0 {
				t.Errorf("no grid boundary on a road: %+v", q)
			}
		}
		// The road across the middle is a grid boundary: points along it
		// lie on the edge between two grids.
		for _, y := range []float64{40, 150, 260} {
			p := pt(1550, y)
			n := queryInt(t, pool, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL AND community_code = $1
				AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326), 1e-9)`, edgeRoadEdge, p[0], p[1])
			if n < 2 {
				t.Errorf("the middle road at %.0f m runs through a grid instead of between two", y)
			}
		}
	})
	t.Run("long thin community", func(t *testing.T) {
		if n := count(edgeThin); n < 8 || n > 12 {
			t.Errorf("%d grids for 100,000 m²", n)
		}
	})
}
