package postgis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

// The test community: 110101001007, a lattice of nx × ny cells of about
// 100 m × 100 m near Dongcheng. Interior lattice points may be jittered;
// neighbouring cells are built from the same lattice points, so their shared
// vertices are bit-identical, as the builder's noded union makes them.
const (
	testComm = "110101001007"
	lon0     = 116.40
	lat0     = 39.90
	dLon     = 0.00117 // ≈ 100 m at 39.9°N
	dLat     = 0.0009  // ≈ 100 m
	testNX   = 4
	testNY   = 3
)

type lattice struct {
	nx, ny int
	pts    [][]orb.Point // [i][j], i west→east, j south→north
}

func newLattice(nx, ny int, jitter float64, rng *rand.Rand) lattice {
	l := lattice{nx: nx, ny: ny, pts: make([][]orb.Point, nx+1)}
	for i := 0; i <= nx; i++ {
		l.pts[i] = make([]orb.Point, ny+1)
		for j := 0; j <= ny; j++ {
			p := orb.Point{lon0 + float64(i)*dLon, lat0 + float64(j)*dLat}
			if jitter > 0 && i > 0 && i < nx && j > 0 && j < ny {
				p[0] += (rng.Float64() - 0.5) * jitter * dLon
				p[1] += (rng.Float64() - 0.5) * jitter * dLat
			}
			l.pts[i][j] = p
		}
	}
	return l
}

// cell is the polygon of cell (i, j), counter-clockwise.
func (l lattice) cell(i, j int) orb.Polygon {
	return orb.Polygon{{l.pts[i][j], l.pts[i+1][j], l.pts[i+1][j+1], l.pts[i][j+1], l.pts[i][j]}}
}

// outline is the community's boundary, with every lattice point on it.
func (l lattice) outline() orb.Polygon {
	var r orb.Ring
	for i := 0; i < l.nx; i++ {
		r = append(r, l.pts[i][0])
	}
	for j := 0; j < l.ny; j++ {
		r = append(r, l.pts[l.nx][j])
	}
	for i := l.nx; i > 0; i-- {
		r = append(r, l.pts[i][l.ny])
	}
	for j := l.ny; j > 0; j-- {
		r = append(r, l.pts[0][j])
	}
	r = append(r, l.pts[0][0])
	return orb.Polygon{r}
}

// cellCode numbers cells north to south, then west to east, from 001.
func (l lattice) cellCode(i, j int) string {
	return fmt.Sprintf("%s%03d", testComm, (l.ny-1-j)*l.nx+i+1)
}

func mustWKB(t testing.TB, g orb.Geometry) []byte {
	t.Helper()
	b, err := wkb.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedCommunity writes the district, street, community and its grids in one
// transaction, as the builder would.
func seedCommunity(t testing.TB, pool *pgxpool.Pool, l lattice) {
	t.Helper()
	ctx := context.Background()
	out := mustWKB(t, l.outline())
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区', ST_Multi(ST_Buffer(ST_GeomFromWKB($1, 4326), 0.01)))`,
			`INSERT INTO streets (code, name, parent_code, geom) VALUES ('110101001', '东华门街道', '110101', ST_Multi(ST_Buffer(ST_GeomFromWKB($1, 4326), 0.005)))`,
			`INSERT INTO communities (code, name, parent_code, geom) VALUES ('110101001007', '南池子社区', '110101001', ST_Multi(ST_GeomFromWKB($1, 4326)))`,
		} {
			if _, err := tx.Exec(ctx, q, out); err != nil {
				return err
			}
		}
		for i := 0; i < l.nx; i++ {
			for j := 0; j < l.ny; j++ {
				if _, err := tx.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
					VALUES ($1, left($1, 12), left($1, 9), left($1, 6), ST_GeomFromWKB($2, 4326), ST_Area(gridd_edit_metric(ST_GeomFromWKB($2, 4326))))`,
					l.cellCode(i, j), mustWKB(t, l.cell(i, j))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed community: %v", err)
	}
}

// checkPartition asks PostGIS, independently of the guard, whether the
// current grids cover the community exactly and every sample point has
// exactly one owner under gridd_grid_at.
func checkPartition(t testing.TB, pool *pgxpool.Pool, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	var symdiff, overlap, k float64
	var n int
	var allPoly bool
	err := pool.QueryRow(ctx, `WITH g AS (SELECT geom FROM unit_grids WHERE community_code = $1 AND valid_to IS NULL),
			c AS (SELECT geom FROM communities WHERE code = $1 AND valid_to IS NULL)
		SELECT ST_Area(ST_SymDifference((SELECT ST_Union(geom) FROM g), c.geom)),
			(SELECT sum(ST_Area(geom)) FROM g) - ST_Area((SELECT ST_Union(geom) FROM g)),
			gridd_m2_per_deg2(ST_Y(ST_Centroid(c.geom))),
			(SELECT count(*) FROM g), (SELECT bool_and(GeometryType(geom) = 'POLYGON' AND ST_IsValid(geom)) FROM g)
		FROM c`, testComm).Scan(&symdiff, &overlap, &k, &n, &allPoly)
	if err != nil {
		t.Fatal(err)
	}
	if symdiff*k > 0.01 || overlap*k > 0.01 || !allPoly || n == 0 {
		t.Fatalf("partition broken: symmetric difference %.4f m², overlap %.4f m², %d grids, all valid polygons %v", symdiff*k, overlap*k, n, allPoly)
	}
	// Sample points: each has exactly one owner, and it covers the point.
	var bad int
	var sample string
	pts := make([]float64, 0, 200)
	for range 100 {
		pts = append(pts, lon0+rng.Float64()*dLon*float64(testNX), lat0+rng.Float64()*dLat*float64(testNY))
	}
	err = pool.QueryRow(ctx, `WITH p AS (
			SELECT ST_SetSRID(ST_MakePoint(($1::float8[])[2*i - 1], ($1::float8[])[2*i]), 4326) AS pt
			FROM generate_series(1, cardinality($1::float8[]) / 2) i)
		SELECT count(*), coalesce(min(ST_AsText(pt)), '') FROM p
		WHERE ST_Covers((SELECT geom FROM communities WHERE code = $2), pt)
		  AND (gridd_grid_at(pt) IS NULL
		   OR NOT ST_Covers((SELECT geom FROM unit_grids WHERE code = gridd_grid_at(pt) AND valid_to IS NULL), pt))`,
		pts, testComm).Scan(&bad, &sample)
	if err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Fatalf("%d sample points have no owning grid, e.g. %s", bad, sample)
	}
}

// fingerprint summarises every table an edit writes.
func fingerprint(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"unit_grids", "history", "changesets", "grid_lineage"} {
		var n int
		var sum *string
		if err := pool.QueryRow(context.Background(),
			fmt.Sprintf("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM %s t", table)).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		s := ""
		if sum != nil {
			s = *sum
		}
		parts = append(parts, fmt.Sprintf("%s:%d:%s", table, n, s))
	}
	return strings.Join(parts, " ")
}

func line(pts ...orb.Point) *geojson.Geometry {
	return geojson.NewGeometry(orb.LineString(pts))
}

func poly(p orb.Polygon) *geojson.Geometry { return geojson.NewGeometry(p) }

func ref(code string, v int) grids.GridRef { return grids.GridRef{Code: geo.Code(code), Version: v} }

// current returns the current version of every current grid of the test
// community.
func current(t testing.TB, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT code, version FROM unit_grids WHERE community_code = $1 AND valid_to IS NULL`, testComm)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	var c string
	var v int
	if _, err := pgx.ForEachRow(rows, []any{&c, &v}, func() error { m[c] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func unmarshalPolygon(b []byte) (orb.Polygon, error) {
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	p, ok := g.(orb.Polygon)
	if !ok {
		return nil, fmt.Errorf("not a polygon: %T", g)
	}
	return p, nil
}
