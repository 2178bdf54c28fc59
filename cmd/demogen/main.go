// Command demogen generates gridd's demo data set for Dongcheng district
// (东城区, 110101): division boundaries for the district, its 17 streets and
// 169 communities, and a road network for the unit-grid builder.
//
// The codes and names are real (NBS 2023 division codes, read from
// testdata/divisions_110101.csv); all geometry is SYNTHETIC. The output is
// committed under testdata/dongcheng, so the generator only needs to run when
// the demo data is meant to change:
//
//	go run ./cmd/demogen            # uses $DATABASE_URL and the fixed seed
//
// Outline of the method (details in the files of this package):
//
//  1. outline.go    an irregular district outline near the real Dongcheng,
//     scaled to the real area (41.84 km² in EPSG:4548);
//  2. partition.go  169 community seeds, Lloyd-relaxed Voronoi cells clipped
//     to the district, grouped into 17 contiguous streets with exactly the
//     number of communities each street has in the CSV;
//  3. topology.go   rebuilds the cells as one shared-edge topology in WGS-84
//     (snapped to a 1e-7° grid, noded, polygonized), derives streets and the
//     district from the same faces, and verifies it;
//  4. roads.go      arterials (some along street boundaries) and hutong-like
//     lanes, clipped to the district;
//  5. output.go     writes divisions.geojson and roads.geojson;
//  6. summary.go    prints counts, areas and the blocks the roads make.
//
// PostGIS does the geometry work through one connection; only temporary
// tables are used, so the database is left as it was found.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// Projected CRS for areas and lengths: CGCS2000 / 3-degree Gauss-Kruger
// CM 117E, the plane Beijing's surveying uses. Output is WGS-84 (4326).
const (
	sridPlane = 4548
	sridWGS84 = 4326
	// gridSize is the snapping grid of all output coordinates, in degrees
	// (about 1 cm). Every vertex written lies on it.
	gridSize = 1e-7
)

func main() {
	db := flag.String("db", os.Getenv("DATABASE_URL"), "PostGIS connection string (default $DATABASE_URL)")
	out := flag.String("out", filepath.Join("testdata", "dongcheng"), "output directory")
	csvPath := flag.String("csv", filepath.Join("testdata", "divisions_110101.csv"), "division codes and names")
	seed := flag.Uint64("seed", 110101, "random seed; the same seed gives the same output")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("demogen: ")
	if *db == "" {
		log.Fatal("no database: set -db or DATABASE_URL")
	}
	if err := run(*db, *out, *csvPath, *seed); err != nil {
		log.Fatal(err)
	}
}

func run(dbURL, outDir, csvPath string, seed uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()

	divs, err := readDivisions(csvPath)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())

	rng := rand.New(rand.NewPCG(seed, 0x6772696464)) // "gridd"
	g := &gen{ctx: ctx, conn: conn, rng: rng, divs: divs}

	center, err := g.toPlane(116.41, 39.915) // roughly the middle of real Dongcheng
	if err != nil {
		return err
	}
	g.outline = districtOutline(rng, center, 41.84e6)
	if err := g.partition(); err != nil {
		return err
	}
	if err := g.buildTopology(); err != nil {
		return err
	}
	if err := g.verifyTopology(); err != nil {
		return err
	}
	if err := g.buildRoads(); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := g.writeDivisions(filepath.Join(outDir, "divisions.geojson")); err != nil {
		return err
	}
	if err := g.writeRoads(filepath.Join(outDir, "roads.geojson")); err != nil {
		return err
	}
	log.Printf("generated in %s", time.Since(start).Round(time.Millisecond))
	if err := g.summary(); err != nil {
		return err
	}
	return g.dropTemp()
}

// gen carries the state of one generator run.
type gen struct {
	ctx  context.Context
	conn *pgx.Conn
	rng  *rand.Rand
	divs *divisions

	outline ring // district outline in EPSG:4548 metres
	cells   []cell
	// street index (into divs.streets) of each cell, and the community code
	// given to each cell
	cellStreet []int
	cellCode   []string

	roads []road
}

// toPlane converts a WGS-84 lon/lat to EPSG:4548 x/y.
func (g *gen) toPlane(lon, lat float64) (pt, error) {
	var p pt
	err := g.conn.QueryRow(g.ctx, `SELECT ST_X(q), ST_Y(q) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), $3::int), $4::int) AS q) s`,
		lon, lat, sridWGS84, sridPlane).Scan(&p[0], &p[1])
	return p, err
}

// exec runs statements that return no rows.
func (g *gen) exec(sql string, args ...any) error {
	if _, err := g.conn.Exec(g.ctx, sql, args...); err != nil {
		return fmt.Errorf("%w\nSQL: %s", err, sql)
	}
	return nil
}

// dropTemp removes the session's temporary tables (they would go with the
// session anyway; dropping them keeps the intent explicit).
func (g *gen) dropTemp() error {
	return g.exec(`DROP TABLE IF EXISTS demo_cell, demo_face, demo_comm, demo_street, demo_district, demo_road`)
}
