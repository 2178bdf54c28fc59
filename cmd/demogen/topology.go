package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/paulmach/orb/encoding/wkb"
)

// buildTopology turns the planar cells into the final division polygons, in
// WGS-84, as one exact topology:
//
//   - the cells are transformed to WGS-84 and their boundaries unioned and
//     noded on the output grid (gridSize), then polygonized into faces; every
//     piece of boundary now exists once, so neighbours cannot disagree;
//   - each face goes to the cell containing its point-on-surface (a sliver
//     left between cells by rounding goes to the nearest cell);
//   - community = union of its faces, street = union of its communities'
//     faces, district = union of all faces, all on the same grid, so shared
//     edges carry bit-identical vertices at every level.
//
// Streets are assigned between these steps (groupCells), from the adjacency
// of the final communities.
//
// Temporary tables: demo_cell, demo_face, demo_comm, demo_street,
// demo_district (all EPSG:4326).
func (g *gen) buildTopology() error {
	ids := make([]int32, len(g.cells))
	wkbs := make([][]byte, len(g.cells))
	for i, c := range g.cells {
		w, err := wkb.Marshal(c.geom)
		if err != nil {
			return err
		}
		ids[i], wkbs[i] = int32(i), w
	}
	if err := g.exec(`CREATE TEMP TABLE demo_cell AS
		SELECT t.i, ST_Transform(ST_SetSRID(ST_GeomFromWKB(t.w), $3::int), $4::int) AS g
		FROM unnest($1::int[], $2::bytea[]) AS t(i, w)`, ids, wkbs, sridPlane, sridWGS84); err != nil {
		return err
	}
	steps := []string{
		`CREATE INDEX ON demo_cell USING gist (g)`,
		`CREATE TEMP TABLE demo_face AS
		 SELECT d.path[1] AS f, d.geom AS g, NULL::int AS cell
		 FROM ST_Dump((
		   SELECT ST_Polygonize(u) FROM (SELECT ST_Union(ST_Boundary(g), $1::float8) AS u FROM demo_cell) x
		 )) AS d`,
		`UPDATE demo_face f SET cell = (
		   SELECT c.i FROM demo_cell c WHERE ST_Intersects(c.g, ST_PointOnSurface(f.g)) ORDER BY c.i LIMIT 1)`,
		`UPDATE demo_face f SET cell = (
		   SELECT c.i FROM demo_cell c ORDER BY ST_Distance(c.g, ST_PointOnSurface(f.g)), c.i LIMIT 1)
		 WHERE cell IS NULL`,
		`CREATE TEMP TABLE demo_comm AS
		 SELECT cell AS i, ST_Union(g, $1::float8) AS g, NULL::text AS code, NULL::text AS name, NULL::text AS street
		 FROM demo_face GROUP BY cell`,
		`CREATE INDEX ON demo_comm USING gist (g)`,
	}
	for _, s := range steps {
		var args []any
		if strings.Contains(s, "$1") {
			args = append(args, gridSize)
		}
		if err := g.exec(s, args...); err != nil {
			return err
		}
	}
	var nComm, nFaces, nSlivers int
	if err := g.conn.QueryRow(g.ctx, `SELECT (SELECT count(*) FROM demo_comm), (SELECT count(*) FROM demo_face),
		(SELECT count(*) FROM demo_face f JOIN demo_cell c ON c.i = f.cell WHERE NOT ST_Intersects(c.g, ST_PointOnSurface(f.g)))`).
		Scan(&nComm, &nFaces, &nSlivers); err != nil {
		return err
	}
	if nComm != len(g.cells) {
		return fmt.Errorf("topology: %d communities from %d cells", nComm, len(g.cells))
	}
	fmt.Printf("topology: %d faces from %d cells (%d rounding slivers reassigned)\n", nFaces, len(g.cells), nSlivers)

	// Adjacency: communities whose boundaries share a line.
	adj := make([][]int, len(g.cells))
	rows, err := g.conn.Query(g.ctx, `SELECT a.i, b.i FROM demo_comm a JOIN demo_comm b
		ON a.i < b.i AND ST_Intersects(a.g, b.g) AND ST_Relate(a.g, b.g, '****1****') ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var a, b int
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		adj[a] = append(adj[a], b)
		adj[b] = append(adj[b], a)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	if err := g.assignStreets(adj); err != nil {
		return err
	}
	codes := make([]string, len(g.cells))
	names := make([]string, len(g.cells))
	streets := make([]string, len(g.cells))
	comm := map[string]string{}
	for _, cs := range g.divs.communities {
		for _, c := range cs {
			comm[c.Code] = c.Name
		}
	}
	for i := range g.cells {
		codes[i] = g.cellCode[i]
		names[i] = comm[codes[i]]
		streets[i] = g.divs.streets[g.cellStreet[i]].Code
	}
	steps = []string{
		`UPDATE demo_comm c SET code = t.code, name = t.name, street = t.street
		 FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS t(i, code, name, street) WHERE c.i = t.i`,
		`CREATE TEMP TABLE demo_street AS
		 SELECT c.street AS code, ST_Union(f.g, $1::float8) AS g
		 FROM demo_face f JOIN demo_comm c ON c.i = f.cell GROUP BY c.street`,
		`CREATE TEMP TABLE demo_district AS SELECT ST_Union(g, $1::float8) AS g FROM demo_face`,
	}
	if err := g.exec(steps[0], ids, codes, names, streets); err != nil {
		return err
	}
	for _, s := range steps[1:] {
		if err := g.exec(s, gridSize); err != nil {
			return err
		}
	}
	return nil
}

// assignStreets groups the cells into streets (see groupCells), trying a few
// band heights until every street comes out contiguous, then gives each
// street's cells its community codes from north-west to south-east.
func (g *gen) assignStreets(adj [][]int) error {
	centroids := make([]pt, len(g.cells))
	for i, c := range g.cells {
		centroids[i] = c.centroid
	}
	counts := make([]int, len(g.divs.streets))
	for i, s := range g.divs.streets {
		counts[i] = len(g.divs.communities[s.Code])
	}
	var street []int
	for _, band := range []float64{1000, 1100, 900, 1200, 800, 1300, 1400, 700, 1500, 1600} {
		var ok bool
		if street, ok = groupCells(centroids, adj, counts, g.streetOrder(), band); ok {
			fmt.Printf("streets: grouped with %.0f m bands\n", band)
			break
		}
	}
	if street == nil {
		return fmt.Errorf("could not group communities into contiguous streets; try another -seed")
	}
	g.cellStreet = street
	g.cellCode = make([]string, len(g.cells))
	for s, st := range g.divs.streets {
		var members []int
		for i, si := range street {
			if si == s {
				members = append(members, i)
			}
		}
		sort.Slice(members, func(a, b int) bool {
			ca, cb := centroids[members[a]], centroids[members[b]]
			// north-west first: rows of ~500 m, then west to east
			ra, rb := math.Floor(-ca[1]/500), math.Floor(-cb[1]/500)
			if ra != rb {
				return ra < rb
			}
			return ca[0] < cb[0]
		})
		for k, i := range members {
			g.cellCode[i] = g.divs.communities[st.Code][k].Code
		}
	}
	return nil
}

// verifyTopology checks the division polygons before anything is written and
// prints the checks. It fails on any violation.
func (g *gen) verifyTopology() error {
	const area = `ST_Area(ST_Transform(%s, 4548))`
	type check struct {
		what string
		sql  string
		ok   func(v float64) bool
	}
	zero := func(v float64) bool { return v == 0 }
	tiny := func(v float64) bool { return v <= 0.01 }
	checks := []check{
		{"invalid geometries", `SELECT (SELECT count(*) FROM demo_comm WHERE NOT ST_IsValid(g))
			+ (SELECT count(*) FROM demo_street WHERE NOT ST_IsValid(g))
			+ (SELECT count(*) FROM demo_district WHERE NOT ST_IsValid(g))`, zero},
		{"multi-part streets or district", `SELECT (SELECT count(*) FROM demo_street WHERE ST_NumGeometries(g) > 1)
			+ (SELECT count(*) FROM demo_district WHERE ST_NumGeometries(g) > 1)`, zero},
		{"polygons with holes", `SELECT (SELECT count(*) FROM demo_comm WHERE ST_NRings(g) > ST_NumGeometries(g))
			+ (SELECT count(*) FROM demo_street WHERE ST_NRings(g) > ST_NumGeometries(g))
			+ (SELECT count(*) FROM demo_district WHERE ST_NRings(g) > ST_NumGeometries(g))`, zero},
		{"max |sum(community areas) - street area| m²", fmt.Sprintf(`SELECT max(abs(c.a - %s)) FROM demo_street s
			JOIN (SELECT street, sum(%s) AS a FROM demo_comm GROUP BY street) c ON c.street = s.code`,
			fmt.Sprintf(area, "s.g"), fmt.Sprintf(area, "g")), tiny},
		{"|sum(street areas) - district area| m²", fmt.Sprintf(`SELECT abs((SELECT sum(%s) FROM demo_street) - (SELECT %s FROM demo_district))`,
			fmt.Sprintf(area, "g"), fmt.Sprintf(area, "g")), tiny},
		{"max community overlap m²", fmt.Sprintf(`SELECT coalesce(max(%s), 0) FROM demo_comm a JOIN demo_comm b
			ON a.i < b.i AND ST_Intersects(a.g, b.g)`, fmt.Sprintf(area, "ST_Intersection(a.g, b.g)")), tiny},
		{"max street overlap m²", fmt.Sprintf(`SELECT coalesce(max(%s), 0) FROM demo_street a JOIN demo_street b
			ON a.code < b.code AND ST_Intersects(a.g, b.g)`, fmt.Sprintf(area, "ST_Intersection(a.g, b.g)")), tiny},
		{"communities not within their street", `SELECT count(*) FROM demo_comm c JOIN demo_street s ON s.code = c.street
			WHERE NOT ST_Within(c.g, s.g)`, zero},
		{"streets not within the district", `SELECT count(*) FROM demo_street s, demo_district d WHERE NOT ST_Within(s.g, d.g)`, zero},
		{"vertices added by noding community boundaries (T-junctions)", `SELECT
			(SELECT count(DISTINCT (ST_X(p.geom), ST_Y(p.geom))) FROM ST_DumpPoints((SELECT ST_Union(ST_Boundary(g)) FROM demo_comm)) p)
			- (SELECT count(DISTINCT (ST_X(p.geom), ST_Y(p.geom))) FROM demo_comm c, ST_DumpPoints(c.g) p)`, zero},
		{"unshared boundary length m (perimeters vs 2·edges - outline)", `SELECT abs(
			(SELECT sum(ST_Length(ST_Transform(ST_Boundary(g), 4548))) FROM demo_comm)
			- 2 * (SELECT ST_Length(ST_Transform(ST_Union(ST_Boundary(g)), 4548)) FROM demo_comm)
			+ (SELECT ST_Length(ST_Transform(ST_Boundary(g), 4548)) FROM demo_district))`, func(v float64) bool { return v < 1e-3 }},
		{"multi-part communities (allowed, reported)", `SELECT count(*) FROM demo_comm WHERE ST_NumGeometries(g) > 1`, func(float64) bool { return true }},
	}
	failed := 0
	for _, c := range checks {
		var v float64
		if err := g.conn.QueryRow(g.ctx, c.sql).Scan(&v); err != nil {
			return fmt.Errorf("check %q: %w", c.what, err)
		}
		status := "ok"
		if !c.ok(v) {
			status = "FAIL"
			failed++
		}
		fmt.Printf("check %-62s %-12.6g %s\n", c.what, v, status)
	}
	if failed > 0 {
		return fmt.Errorf("%d topology checks failed", failed)
	}
	return nil
}
