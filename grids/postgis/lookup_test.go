package postgis_test

import (
	"context"
	"math"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

// loadTestPartition fills the database with two adjacent partitions: a
// jittered lattice (shared vertices, mid-edge vertices, holes filled by inner
// grids) and, east of it, PostGIS Voronoi cells clipped to a box (computed
// coordinates, T-junctions along the seam between the two).
func loadTestPartition(t *testing.T, pool *pgxpool.Pool, seed int64) {
	t.Helper()
	ctx := context.Background()
	lat := synth.Lattice{Origin: orb.Point{116.40, 39.90}, NX: 40, NY: 40, Cell: 0.0005, Jitter: 0.2,
		HoleEvery: 37, District: "110101", Street: "001", PerCommunity: 300}
	if err := pgtest.CopyGrids(ctx, pool, lat.Grids(seed)); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT setseed($1)`, float64(seed%1000)/1000); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			WITH env AS (SELECT ST_MakeEnvelope(116.42, 39.90, 116.44, 39.92, 4326) AS e),
			seeds AS (SELECT ST_Collect(ST_SetSRID(ST_MakePoint(116.42 + random() * 0.02, 39.90 + random() * 0.02), 4326)) AS g
			          FROM generate_series(1, 1500)),
			cells AS (SELECT (ST_Dump(ST_VoronoiPolygons(seeds.g, 0, env.e))).geom AS g, env.e FROM seeds, env),
			clipped AS (SELECT ST_Intersection(g, e) AS g FROM cells),
			numbered AS (SELECT g, row_number() OVER (ORDER BY ST_XMin(g), ST_YMin(g)) - 1 AS n
			             FROM clipped WHERE GeometryType(g) = 'POLYGON' AND NOT ST_IsEmpty(g))
			INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT c, left(c, 12), left(c, 9), left(c, 6), g, ST_Area(g::geography)
			FROM (SELECT '110101002' || lpad((n / 500 + 1)::text, 3, '0') || lpad((n % 500 + 1)::text, 3, '0') AS c, g FROM numbered) x`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// oracleOwners asks PostGIS for gridd_grid_at of every point.
func oracleOwners(t *testing.T, pool *pgxpool.Pool, pts []orb.Point) []string {
	t.Helper()
	ctx := context.Background()
	out := make([]string, len(pts))
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := stagePoints(ctx, tx, pts); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, coalesce(gridd_grid_at(ST_SetSRID(ST_MakePoint(x, y), 4326)), '') FROM pts`)
		if err != nil {
			return err
		}
		var id int
		var code string
		_, err = pgx.ForEachRow(rows, []any{&id, &code}, func() error { out[id] = code; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stagePoints(ctx context.Context, tx pgx.Tx, pts []orb.Point) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE pts (id int, x float8, y float8) ON COMMIT DROP`); err != nil {
		return err
	}
	i := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"pts"}, []string{"id", "x", "y"}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(pts) {
			return nil, nil
		}
		i++
		return []any{i - 1, pts[i-1][0], pts[i-1][1]}, nil
	}))
	return err
}

// oracleCovering asks PostGIS for every grid covering each point (ST_Covers).
func oracleCovering(t *testing.T, pool *pgxpool.Pool, pts []orb.Point) [][]string {
	t.Helper()
	ctx := context.Background()
	out := make([][]string, len(pts))
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := stagePoints(ctx, tx, pts); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT p.id, array_agg(u.code ORDER BY u.code) FROM pts p
			JOIN unit_grids u ON u.valid_to IS NULL AND ST_Covers(u.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
			GROUP BY p.id`)
		if err != nil {
			return err
		}
		var id int
		var codes []string
		_, err = pgx.ForEachRow(rows, []any{&id, &codes}, func() error { out[id] = append([]string(nil), codes...); return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// boundaryPoints picks points exactly on grid vertices and points
// interpolated onto grid edges (on them only as far as float64 allows).
func boundaryPoints(rng *rand.Rand, in geo.IndexInput, n int) []orb.Point {
	out := make([]orb.Point, 0, n)
	for len(out) < n {
		g := in.Grids[rng.Intn(len(in.Grids))]
		r := g.Polygon[rng.Intn(len(g.Polygon))]
		k := rng.Intn(len(r) - 1)
		a, b := r[k], r[k+1]
		if len(out)%3 == 0 {
			out = append(out, a)
			continue
		}
		f := rng.Float64()
		out = append(out, orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])})
	}
	return out
}

func TestIndexAgreesWithPostGIS(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	pool := pgtest.New(t)
	loadTestPartition(t, pool, seed)
	st := postgis.NewStore(pool)
	in, err := st.IndexInput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ix := streamedIndex(t, st, in)
	t.Logf("%d grids", ix.Len())

	differential(t, pool, rng, in, ix, 100_000, 12_000, orb.Bound{Min: orb.Point{116.399, 39.899}, Max: orb.Point{116.441, 39.921}})
}

// streamedIndex builds the index as the Locator does, streaming the rows
// into the builder (Store.BuildIndex), and checks that it is the index
// NewIndex builds from the same snapshot read as Go values: the same grids
// under the same ids with the same descriptions, and the same owners of
// random points and of every input vertex.
func streamedIndex(t *testing.T, st *postgis.Store, in geo.IndexInput) *geo.Index {
	t.Helper()
	want, err := geo.NewIndex(in)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := st.BuildIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != want.Len() || ix.MapVersion() != want.MapVersion() || ix.MemoryBytes() != want.MemoryBytes() {
		t.Fatalf("streamed index: %d grids, version %d, %d bytes; NewIndex: %d, %d, %d",
			ix.Len(), ix.MapVersion(), ix.MemoryBytes(), want.Len(), want.MapVersion(), want.MemoryBytes())
	}
	for id := 0; id < ix.Len(); id++ {
		if a, b := ix.Info(id), want.Info(id); !reflect.DeepEqual(a, b) {
			t.Fatalf("grid %d: streamed %+v, NewIndex %+v", id, a, b)
		}
	}
	rng := rand.New(rand.NewSource(1))
	var pts []orb.Point
	for _, g := range in.Grids {
		b := g.Polygon.Bound()
		pts = append(pts, g.Polygon[0]...)
		pts = append(pts, orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])})
	}
	for _, p := range pts {
		a, aok := ix.Owner(p)
		b, bok := want.Owner(p)
		if a != b || aok != bok {
			t.Fatalf("owner of %v: streamed %d %v, NewIndex %d %v", p, a, aok, b, bok)
		}
	}
	return ix
}

// The demo district's 169 communities (real codes, synthetic geometry with
// exact shared topology), each loaded as one unit grid until the grid builder
// provides the demo's unit grids.
func TestIndexAgreesWithPostGISOnDemo(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	data, err := os.ReadFile("../../testdata/dongcheng/divisions.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatal(err)
	}
	var gs []geo.IndexGrid
	ext := fc.Features[0].Geometry.Bound()
	for _, f := range fc.Features {
		ext = ext.Union(f.Geometry.Bound())
		code, _ := f.Properties["code"].(string)
		if poly, ok := f.Geometry.(orb.Polygon); ok && len(code) == 12 {
			gs = append(gs, geo.IndexGrid{Code: geo.Code(code + "001"), Polygon: poly, AreaM2: 1})
		}
	}
	pool := pgtest.New(t)
	if err := pgtest.CopyGrids(context.Background(), pool, gs); err != nil {
		t.Fatal(err)
	}
	st := postgis.NewStore(pool)
	in, err := st.IndexInput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ix := streamedIndex(t, st, in)
	t.Logf("%d demo communities as grids", ix.Len())
	differential(t, pool, rng, in, ix, 50_000, 10_000, ext.Pad(0.002))
}

// differential compares the index with PostGIS on random points in ext and
// on points exactly on grid vertices and interpolated onto grid edges: the
// owner of every point, and the whole set of covering grids of the boundary
// points, most of which must be shared by two grids.
func differential(t *testing.T, pool *pgxpool.Pool, rng *rand.Rand, in geo.IndexInput, ix *geo.Index, nRandom, nBoundary int, ext orb.Bound) {
	t.Helper()
	pts := make([]orb.Point, 0, nRandom+nBoundary)
	for i := 0; i < nRandom; i++ {
		pts = append(pts, orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])})
	}
	pts = append(pts, boundaryPoints(rng, in, nBoundary)...)

	want := oracleOwners(t, pool, pts)
	// The batch path (View.Owners, points visited in spatial order by two
	// goroutines) must give the same owners as one-by-one lookups.
	view := geo.NewView(ix)
	batch := make([]int32, len(pts))
	view.Owners(pts, batch, 2)
	bad := 0
	for i, p := range pts {
		got, gotBatch := "", ""
		if id, ok := ix.Owner(p); ok {
			got = string(ix.Code(id))
		}
		if batch[i] >= 0 {
			gotBatch = string(view.Code(int(batch[i])))
		}
		if got != want[i] || gotBatch != want[i] {
			if bad++; bad <= 10 {
				t.Errorf("point %d %.17g,%.17g: index owner %q, batch owner %q, PostGIS gridd_grid_at %q", i, p[0], p[1], got, gotBatch, want[i])
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d points disagree", bad, len(pts))
	}

	// On the boundary points, the whole set of covering grids must agree,
	// and most of them must really be shared (so the tie-break is tested).
	bpts := pts[nRandom:]
	cover := oracleCovering(t, pool, bpts)
	shared := 0
	for i, p := range bpts {
		var got []string
		for _, id := range ix.Covering(p) {
			got = append(got, string(ix.Code(id)))
		}
		if !equalStrings(got, cover[i]) {
			if bad++; bad <= 10 {
				t.Errorf("boundary point %.17g,%.17g: index covering %v, PostGIS ST_Covers %v", p[0], p[1], got, cover[i])
			}
		}
		if len(cover[i]) >= 2 {
			shared++
		}
	}
	if bad > 0 {
		t.Fatalf("%d boundary points disagree on their covering grids", bad)
	}
	t.Logf("%d random + %d boundary points agree; %d boundary points are covered by two or more grids", nRandom, nBoundary, shared)
	if shared < nBoundary/4 {
		t.Errorf("only %d of %d boundary points are shared by two grids; the test data does not exercise the tie-break", shared, nBoundary)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Near's local metric distances against PostGIS geography ST_Distance.
func TestIndexDistanceAgreesWithPostGIS(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	pool := pgtest.New(t)
	lat := synth.Lattice{Origin: orb.Point{116.40, 39.90}, NX: 10, NY: 10, Cell: 0.001, Jitter: 0.2,
		HoleEvery: 7, District: "110101", Street: "001", PerCommunity: 500}
	if err := pgtest.CopyGrids(context.Background(), pool, lat.Grids(seed)); err != nil {
		t.Fatal(err)
	}
	in, err := postgis.NewStore(pool).IndexInput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := geo.NewIndex(in)
	if err != nil {
		t.Fatal(err)
	}
	const radius = 150.0
	checked := 0
	for k := 0; k < 300; k++ {
		// Around the lattice, many of them outside it.
		p := orb.Point{116.398 + rng.Float64()*0.014, 39.898 + rng.Float64()*0.014}
		got := map[string]float64{}
		for _, n := range ix.Near(p, radius) {
			got[string(ix.Code(n.ID))] = n.DistanceM
		}
		rows, err := pool.Query(context.Background(), `SELECT code, ST_Distance(geom::geography, $1::geography)
			FROM unit_grids WHERE valid_to IS NULL AND ST_DWithin(geom::geography, $1::geography, $2)`,
			pointEWKT(p), radius)
		if err != nil {
			t.Fatal(err)
		}
		var code string
		var d float64
		want := map[string]float64{}
		if _, err := pgx.ForEachRow(rows, []any{&code, &d}, func() error { want[code] = d; return nil }); err != nil {
			t.Fatal(err)
		}
		for c, wd := range want {
			gd, ok := got[c]
			if !ok {
				if wd < radius*0.999 {
					t.Errorf("point %v: PostGIS has grid %s at %.3f m, the index does not list it", p, c, wd)
				}
				continue
			}
			if math.Abs(gd-wd) > 0.002*wd+0.02 {
				t.Errorf("point %v grid %s: index %.3f m, PostGIS %.3f m", p, c, gd, wd)
			}
			checked++
		}
		for c, gd := range got {
			if _, ok := want[c]; !ok && gd < radius*0.999 {
				t.Errorf("point %v: index lists grid %s at %.3f m, PostGIS does not", p, c, gd)
			}
		}
	}
	t.Logf("%d distances agree", checked)
}

func pointEWKT(p orb.Point) string {
	return "SRID=4326;POINT(" + ftoa(p[0]) + " " + ftoa(p[1]) + ")"
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
