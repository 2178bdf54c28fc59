package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

func init() {
	sections["components"] = section{order: 40, run: benchComponents}
}

// Synthetic district for the component import: 16 streets x 16 communities
// x 16 unit grids of about 85 x 100 m, laid out as a 64 x 64 block of cells
// from benchLon0, benchLat0 (4,096 grids, about 35 km²).
const (
	benchLon0, benchLat0 = 116.30, 39.85
	benchCellLon         = 0.001
	benchCellLat         = 0.0009
	benchSide            = 64
)

// benchGridCode names cell (i, j): each community is a 4 x 4 block of cells,
// each street a 4 x 4 block of communities.
func benchGridCode(i, j int) string {
	street := (j/16)*4 + i/16 + 1
	community := ((j/4)%4)*4 + (i/4)%4 + 1
	grid := (j%4)*4 + i%4 + 1
	return fmt.Sprintf("110101%03d%03d%03d", street, community, grid)
}

func benchInsertGrids(ctx context.Context, b *bench) error {
	return benchInsertGridsCoded(ctx, b, benchGridCode)
}

// benchInsertGridsCoded writes the synthetic block of grids, cell (i, j)
// named by code.
func benchInsertGridsCoded(ctx context.Context, b *bench, code func(i, j int) string) error {
	rows := make([][]any, 0, benchSide*benchSide)
	for j := 0; j < benchSide; j++ {
		for i := 0; i < benchSide; i++ {
			code := code(i, j)
			x0, y0 := benchLon0+float64(i)*benchCellLon, benchLat0+float64(j)*benchCellLat
			rows = append(rows, []any{code, x0, y0, x0 + benchCellLon, y0 + benchCellLat})
		}
	}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE cells (code text, x0 float8, y0 float8, x1 float8, y1 float8)`); err != nil {
		return err
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"cells"}, []string{"code", "x0", "y0", "x1", "y1"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(g::geography)
		FROM cells, ST_MakeEnvelope(x0, y0, x1, y1, 4326) g;
		ANALYZE unit_grids`)
	return err
}

// benchComponentClasses are the classes of the synthetic census.
var benchComponentClasses = []string{"01001", "01002", "01003", "01005", "01007", "01011", "01037", "03005", "03001", "02004", "04002"}

// benchComponentsCSV writes n random components over the synthetic district
// (one in a thousand up to 40 m outside its west edge, to be snapped).
func benchComponentsCSV(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var buf bytes.Buffer
	buf.Grow(n * 48)
	buf.WriteString("class_code,lon,lat\n")
	w, h := benchSide*benchCellLon, benchSide*benchCellLat
	for k := 0; k < n; k++ {
		lon, lat := benchLon0+r.Float64()*w, benchLat0+r.Float64()*h
		if k%1000 == 999 {
			lon = benchLon0 - r.Float64()*0.00045
		}
		fmt.Fprintf(&buf, "%s,%.7f,%.7f\n", benchComponentClasses[r.IntN(len(benchComponentClasses))], lon, lat)
	}
	return buf.Bytes()
}

func benchComponents(ctx context.Context, b *bench) error {
	n := 1_000_000
	if b.quick {
		n = 100_000
	}
	const seed = 20261122
	fmt.Fprintf(os.Stderr, "  components: %d synthetic components, seed %d\n", n, seed)
	if err := benchInsertGrids(ctx, b); err != nil {
		return fmt.Errorf("synthetic grids: %w", err)
	}
	data := benchComponentsCSV(n, seed)
	st := postgis.NewStore(b.pool)

	// The import from CSV text, parse and assignment included, repeated on
	// an emptied table (at most 3 runs: a run of 1M takes most of a
	// minute); PostGIS's side is the bare assignment of the same points, an
	// INSERT ... SELECT with the single-owner rule from a table already
	// loaded, run as often, the two alternating which goes first.
	runs := min(b.runs, 3)
	var totals, parses, bares []float64
	bareReady := false
	bareRun := func() error {
		if !bareReady {
			if _, err := b.pool.Exec(ctx, `CREATE TABLE bare_points AS SELECT id, geom FROM components;
				CREATE TABLE bare_assigned (id bigint, grid_code text); ANALYZE bare_points`); err != nil {
				return err
			}
			bareReady = true
		}
		if _, err := b.pool.Exec(ctx, `TRUNCATE bare_assigned`); err != nil {
			return err
		}
		d, err := timeIt(func() error {
			_, err := b.pool.Exec(ctx, `INSERT INTO bare_assigned
				SELECT p.id, (SELECT g.code FROM unit_grids g WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.geom) ORDER BY g.code LIMIT 1)
				FROM bare_points p`)
			return err
		})
		bares = append(bares, d.Seconds())
		return err
	}
	importRun := func() error {
		if _, err := b.pool.Exec(ctx, `TRUNCATE components, component_cells, component_seq;
			DELETE FROM history WHERE entity = 'component'`); err != nil {
			return fmt.Errorf("empty the components: %w", err)
		}
		var feats []grids.ComponentFeature
		parse, err := timeIt(func() error {
			var rejected []grids.Rejection
			var err error
			feats, rejected, err = grids.ParseComponentsCSV(bytes.NewReader(data), geo.WGS84)
			if err == nil && len(rejected) > 0 {
				err = fmt.Errorf("%d rows rejected, first %v", len(rejected), rejected[0])
			}
			return err
		})
		if err != nil {
			return err
		}
		var rep grids.ComponentImportReport
		load, err := timeIt(func() error {
			var err error
			rep, err = st.ImportComponents(ctx, feats, grids.ComponentImport{Mode: grids.AllOrNothing, Actor: "bench", Reason: "bench"})
			return err
		})
		if err != nil {
			return err
		}
		if rep.Created != n {
			return fmt.Errorf("import created %d of %d", rep.Created, n)
		}
		totals = append(totals, (parse + load).Seconds())
		parses = append(parses, parse.Seconds())
		return nil
	}
	for run := range runs {
		// The first run imports first (the bare side reads its points);
		// then the order alternates.
		first, second := importRun, bareRun
		if run%2 == 1 {
			first, second = bareRun, importRun
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		if run > 0 {
			continue
		}
		var disagree int
		if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM components c JOIN bare_assigned a USING (id)
			WHERE a.grid_code IS NOT NULL AND a.grid_code <> c.grid_code`).Scan(&disagree); err != nil {
			return err
		}
		if disagree > 0 {
			return fmt.Errorf("%d components placed differently from PostGIS's bare assignment", disagree)
		}
	}
	sTotal, sBare := statOf(totals), statOf(bares)
	secs := func(v float64) string { return fmt.Sprintf("%.1f s", v) }
	b.addStats(fmt.Sprintf("component import, %dk rows, assignment included (%s; parse %.1f s)", n/1000,
		rate(n, time.Duration(sTotal.Median*float64(time.Second))), statOf(parses).Median),
		"s", sTotal, &sBare, fmt.Sprintf("bare assignment, %s", rate(n, time.Duration(sBare.Median*float64(time.Second)))), secs, "1M in ≤ 60 s")
	return nil
}
