package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// The build section: the unit grids of the demo district, then of synthetic
// districts of 10× and 100× its area made of translated copies of it (100×
// is skipped with -quick). The PostGIS figure is the plainest way to get
// cells of the target size in PostGIS, for scale: ST_SquareGrid cells of
// 100 m cut by the communities, with none of the builder's guarantees.
func init() {
	sections["build"] = section{order: 10, run: benchBuild}
}

const benchDir = "testdata/dongcheng"

func benchBuild(ctx context.Context, b *bench) error {
	st := postgis.NewStore(b.pool)
	if err := loadBenchDemo(ctx, st); err != nil {
		return err
	}
	var km2 float64
	if err := b.pool.QueryRow(ctx, `SELECT gridd_area_m2(geom, 4548) / 1e6 FROM districts WHERE code = '110101'`).Scan(&km2); err != nil {
		return err
	}
	// 1×: the demo district.
	var rep grids.BuildReport
	st1 := &stageTimes{}
	d, err := timeIt(func() error {
		var err error
		rep, err = st.Build(ctx, grids.BuildRequest{Area: "110101", Actor: "bench"}, st1.progress)
		return err
	})
	if err != nil {
		return fmt.Errorf("build 110101: %w", err)
	}
	base, err := squareGridTime(ctx, b, "110101")
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("build Dongcheng %.1f km², %d grids", km2, rep.Created),
		fmt.Sprintf("%.2fs (%.0f ms/km²; %s)", d.Seconds(), 1000*d.Seconds()/km2, st1),
		fmt.Sprintf("%.2fs square grid", base.Seconds()), fmt.Sprintf("%.1f×", d.Seconds()/base.Seconds()), "≤ 10 s")
	perKm2 := d.Seconds() / km2

	sizes := []int{10, 100}
	if b.quick {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		districts, err := tileDemo(ctx, b, n)
		if err != nil {
			return err
		}
		created := 0
		var baseN time.Duration
		stN := &stageTimes{}
		dn, err := timeIt(func() error {
			for _, code := range districts {
				r, err := st.Build(ctx, grids.BuildRequest{Area: geo.Code(code), Actor: "bench"}, stN.progress)
				if err != nil {
					return fmt.Errorf("build %s: %w", code, err)
				}
				created += r.Created
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, code := range districts {
			t, err := squareGridTime(ctx, b, code)
			if err != nil {
				return err
			}
			baseN += t
		}
		area := km2 * float64(n)
		b.add(fmt.Sprintf("build %d× (%.0f km², %d grids, %d district(s))", n, area, created, len(districts)),
			fmt.Sprintf("%.1fs (%.0f ms/km², %.2f× the 1× rate; %s)", dn.Seconds(), 1000*dn.Seconds()/area, dn.Seconds()/area/perKm2, stN),
			fmt.Sprintf("%.1fs square grid", baseN.Seconds()), fmt.Sprintf("%.1f×", dn.Seconds()/baseN.Seconds()), "linear in area")
	}
	return nil
}

// loadBenchDemo imports the demo divisions and roads.
func loadBenchDemo(ctx context.Context, st *postgis.Store) error {
	data, err := os.ReadFile(benchDir + "/divisions.geojson")
	if err != nil {
		return fmt.Errorf("demo data (run from the repository root): %w", err)
	}
	feats, rejected, err := grids.ParseDivisions(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		return fmt.Errorf("demo divisions: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, feats, "bench", "bench"); err != nil {
		return err
	}
	data, err = os.ReadFile(benchDir + "/roads.geojson")
	if err != nil {
		return err
	}
	lines, rejected, err := grids.ParseLines(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		return fmt.Errorf("demo roads: %v %v", err, rejected)
	}
	_, err = st.ImportLines(ctx, "roads", lines, "bench", "bench")
	return err
}

// tileDemo writes n translated copies of the demo district (communities,
// streets and roads) in a grid of 10 columns, ten copies to a synthetic
// district 1199NN (its streets renumbered copy × 17 + street), and returns
// the districts' codes. Earlier synthetic districts are removed first.
func tileDemo(ctx context.Context, b *bench, n int) ([]string, error) {
	return tileDemoBy(ctx, b, n, 10)
}

// tileDemoBy is tileDemo with perDistrict copies to a district.
func tileDemoBy(ctx context.Context, b *bench, n, perDistrict int) ([]string, error) {
	_, err := b.pool.Exec(ctx, `
		DELETE FROM unit_grids WHERE district_code LIKE '1199%';
		DELETE FROM history WHERE code LIKE '1199%';
		DELETE FROM lines WHERE layer = 'bench_roads';
		DELETE FROM communities WHERE code LIKE '1199%';
		DELETE FROM streets WHERE code LIKE '1199%';
		DELETE FROM districts WHERE code LIKE '1199%';
		CREATE TEMP TABLE IF NOT EXISTS bench_copies (k int, d text, j int, dx float8, dy float8);
		TRUNCATE bench_copies;`)
	if err != nil {
		return nil, fmt.Errorf("tile demo: %w", err)
	}
	_, err = b.pool.Exec(ctx, `
		INSERT INTO bench_copies
		SELECT k, '1199' || lpad((k / $2 + 1)::text, 2, '0'), k % $2,
		       (k % 10) * (ST_XMax(geom) - ST_XMin(geom) + 0.001), (k / 10) * (ST_YMax(geom) - ST_YMin(geom) + 0.001)
		FROM districts, generate_series(0, $1 - 1) k
		WHERE code = '110101' AND valid_to IS NULL`, n, perDistrict)
	if err != nil {
		return nil, fmt.Errorf("tile demo: %w", err)
	}
	_, err = b.pool.Exec(ctx, `
		INSERT INTO districts (code, name, geom)
		SELECT c.d, 'bench ' || c.d, ST_Multi(ST_Union(ST_Translate(x.geom, c.dx, c.dy)))
		FROM bench_copies c, districts x WHERE x.code = '110101' AND x.valid_to IS NULL GROUP BY c.d;
		INSERT INTO streets (code, name, parent_code, geom)
		SELECT c.d || lpad((c.j * 17 + right(s.code, 3)::int)::text, 3, '0'), s.name, c.d, ST_Translate(s.geom, c.dx, c.dy)
		FROM bench_copies c, streets s WHERE s.parent_code = '110101' AND s.valid_to IS NULL;
		INSERT INTO communities (code, name, parent_code, geom)
		SELECT c.d || lpad((c.j * 17 + substr(m.code, 7, 3)::int)::text, 3, '0') || right(m.code, 3), m.name,
		       c.d || lpad((c.j * 17 + substr(m.code, 7, 3)::int)::text, 3, '0'), ST_Translate(m.geom, c.dx, c.dy)
		FROM bench_copies c, communities m WHERE m.parent_code LIKE '110101%' AND m.valid_to IS NULL;
		INSERT INTO lines (layer, class, name, geom)
		SELECT 'bench_roads', l.class, l.name, ST_Translate(l.geom, c.dx, c.dy)
		FROM bench_copies c, lines l WHERE l.layer = 'roads' AND l.valid_to IS NULL;
		ANALYZE districts; ANALYZE streets; ANALYZE communities; ANALYZE lines;`)
	if err != nil {
		return nil, fmt.Errorf("tile demo: %w", err)
	}
	rows, err := b.pool.Query(ctx, `SELECT DISTINCT d FROM bench_copies ORDER BY d`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// squareGridTime times the PostGIS baseline for one district: 100 m
// squares (ST_SquareGrid in EPSG:4548) cut by every community.
func squareGridTime(ctx context.Context, b *bench, district string) (time.Duration, error) {
	return timeIt(func() error {
		_, err := b.pool.Exec(ctx, `
			CREATE TEMP TABLE IF NOT EXISTS bench_squares (code text, geom geometry);
			TRUNCATE bench_squares;`)
		if err != nil {
			return err
		}
		_, err = b.pool.Exec(ctx, `
			INSERT INTO bench_squares
			SELECT c.code, ST_Transform(ST_SetSRID(ST_Intersection(s.geom, m.g), 4490), 4326)
			FROM communities c
			CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(c.geom, 4490), 4548) AS g) m
			CROSS JOIN LATERAL ST_SquareGrid(100, m.g) s
			WHERE c.valid_to IS NULL AND left(c.code, 6) = $1 AND ST_Intersects(s.geom, m.g)`, district)
		return err
	})
}

// stageTimes adds up how long builds spend in each stage: partitioning the
// communities, checking, writing (the commit included).
type stageTimes struct {
	mu    sync.Mutex
	stage string
	since time.Time
	total map[string]time.Duration
}

func (s *stageTimes) progress(p grids.BuildProgress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Stage == s.stage {
		return
	}
	now := time.Now()
	if s.total == nil {
		s.total = map[string]time.Duration{}
	}
	if s.stage != "" {
		s.total[s.stage] += now.Sub(s.since)
	}
	s.stage, s.since = p.Stage, now
	if p.Stage == "done" {
		s.stage = ""
	}
}

func (s *stageTimes) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("partition %.1fs, check %.1fs, write+commit %.1fs",
		s.total["partition"].Seconds(), s.total["check"].Seconds(), s.total["write"].Seconds())
}
