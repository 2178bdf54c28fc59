package postgis_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// Vertex moves as QGIS makes them over OGC API - Features Part 4: it reads a
// grid as the server serves it (GeoJSON, 9 decimals), moves one vertex (the
// new coordinate in full double precision) and sends the whole polygon back,
// which reaches the store as UpdateGrid. The grids are the demo's, built by
// the builder from the demo roads, so their vertices are arbitrary doubles
// (road intersections), not the lattice of the hand-made fixture.

// vertexStreet is the demo street whose grids the tests edit.
const vertexStreet = "110101001"

// nearTolM is how close (metres) two vertices, or a vertex and an edge it is
// not on, may come before the editor's vertex tool shows a cluster.
const nearTolM = 0.01

var vertexMoves = flag.Int("vertex-moves", 50, "number of random moves of TestRandomVertexMoves")

// demoStreet imports the demo and builds the grids of one street.
func demoStreet(t *testing.T) (*postgis.Store, *pgxpool.Pool) {
	t.Helper()
	st, pool := loadDemo(t)
	if _, err := st.Build(context.Background(), grids.BuildRequest{Area: vertexStreet, Actor: "test", Reason: "build"}, nil); err != nil {
		t.Fatal(err)
	}
	return st, pool
}

// served is a grid as the OGC items endpoint serves it, read back as QGIS
// reads it, and its version.
func served(t *testing.T, pool *pgxpool.Pool, code string) (orb.Polygon, int) {
	t.Helper()
	var js string
	var v int
	if err := pool.QueryRow(context.Background(), `SELECT ST_AsGeoJSON(geom, 9), version FROM unit_grids
		WHERE code = $1 AND valid_to IS NULL`, code).Scan(&js, &v); err != nil {
		t.Fatalf("grid %s: %v", code, err)
	}
	g, err := geojson.UnmarshalGeometry([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := g.Geometry().(orb.Polygon)
	if !ok {
		t.Fatalf("grid %s is a %T", code, g.Geometry())
	}
	return p, v
}

// offset moves p by dx metres east and dy metres north.
func offset(p orb.Point, dx, dy float64) orb.Point {
	return orb.Point{p[0] + dx/(111320*math.Cos(p[1]*math.Pi/180)), p[1] + dy/110574}
}

// sharers lists the current grids other than code with a vertex within
// 1 mm of pt.
func sharers(t *testing.T, pool *pgxpool.Pool, code string, pt orb.Point) []string {
	t.Helper()
	return queryStrings(t, pool, `SELECT DISTINCT u.code FROM unit_grids u, ST_DumpPoints(u.geom) d
		WHERE u.valid_to IS NULL AND u.community_code = left($1, 12) AND u.code <> $1
		  AND ST_DWithin(u.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326), 1e-7)
		  AND ST_Distance(ST_Transform(d.geom, 32650), ST_Transform(ST_SetSRID(ST_MakePoint($2, $3), 4326), 32650)) < 0.001
		ORDER BY 1`, code, pt[0], pt[1])
}

// hasVertexNear tells whether the current grid code has a vertex within
// 1 mm of pt.
func hasVertexNear(t *testing.T, pool *pgxpool.Pool, code string, pt orb.Point) bool {
	t.Helper()
	return queryInt(t, pool, `SELECT count(*) FROM unit_grids u, ST_DumpPoints(u.geom) d
		WHERE u.code = $1 AND u.valid_to IS NULL
		  AND ST_Distance(ST_Transform(d.geom, 32650), ST_Transform(ST_SetSRID(ST_MakePoint($2, $3), 4326), 32650)) < 0.001`,
		code, pt[0], pt[1]) > 0
}

// nearDuplicates lists, in metres measured in UTM 50N, every place where
// the current grids named (and their neighbours, against them) have
// vertices the editor's vertex tool would show as a cluster: two vertices
// of one ring closer than nearTolM; a vertex of a ring within nearTolM of
// an edge of the ring it is not an end of; a vertex of one grid within
// nearTolM of a vertex of another grid without being the same point; a
// vertex of one grid within nearTolM of another grid's edge, not on it and
// not at its ends. Grids of different communities are not compared: the
// builder does not node them with each other.
func nearDuplicates(t *testing.T, pool *pgxpool.Pool, codes []string) []string {
	t.Helper()
	if len(codes) == 0 {
		return nil
	}
	return queryStrings(t, pool, `WITH sel AS (
			SELECT code, geom FROM unit_grids WHERE code = ANY($1) AND valid_to IS NULL
		), g AS (
			SELECT DISTINCT u.code, ST_Transform(u.geom, 32650) m, u.code = ANY($1) AS sel FROM unit_grids u, sel
			WHERE u.valid_to IS NULL AND u.community_code = left(sel.code, 12) AND ST_DWithin(u.geom, sel.geom, 1e-5)
		), pts AS (
			SELECT g.code, g.sel, (d).path[1] AS ring, (d).path[2] AS i, (d).geom AS p,
				max((d).path[2]) OVER (PARTITION BY g.code, (d).path[1]) AS last
			FROM g, ST_DumpPoints(g.m) d
		), pt AS (
			SELECT * FROM pts WHERE i < last
		), seg AS (
			SELECT g.code, g.sel, (s).path[1] AS ring, (s).path[2] AS i, (s).geom AS s FROM g, ST_DumpSegments(g.m) s
		), nr AS (
			SELECT code, ring, max(i) AS n FROM pt GROUP BY code, ring
		)
		SELECT format('grid %s: vertices %s and %s of ring %s are %s m apart', a.code, a.i, b.i, a.ring, round(ST_Distance(a.p, b.p)::numeric, 5))
		FROM pt a JOIN pt b ON a.code = b.code AND a.ring = b.ring AND a.i < b.i
		WHERE a.sel AND ST_DWithin(a.p, b.p, $2)
		UNION ALL
		SELECT format('grid %s: vertex %s is %s m from edge %s of its ring', a.code, a.i, round(ST_Distance(a.p, s.s)::numeric, 5), s.i)
		FROM pt a JOIN seg s ON a.code = s.code AND a.ring = s.ring JOIN nr ON nr.code = a.code AND nr.ring = a.ring
		WHERE a.sel AND s.i <> a.i AND s.i <> (CASE WHEN a.i = 1 THEN nr.n ELSE a.i - 1 END)
		  AND ST_DWithin(a.p, s.s, $2)
		  AND ST_Distance(a.p, ST_StartPoint(s.s)) >= $2 AND ST_Distance(a.p, ST_EndPoint(s.s)) >= $2
		UNION ALL
		SELECT format('grids %s and %s: vertices %s m apart near %s', a.code, b.code, round(ST_Distance(a.p, b.p)::numeric, 5), ST_AsText(ST_Transform(a.p, 4326), 7))
		FROM pt a JOIN pt b ON a.code < b.code AND left(a.code, 12) = left(b.code, 12) AND (a.sel OR b.sel) AND ST_DWithin(a.p, b.p, $2) AND NOT ST_Equals(a.p, b.p)
		UNION ALL
		SELECT format('grid %s: a vertex is %s m from an edge of grid %s near %s', a.code, round(ST_Distance(a.p, s.s)::numeric, 5), s.code, ST_AsText(ST_Transform(a.p, 4326), 7))
		FROM pt a JOIN seg s ON a.code <> s.code AND left(a.code, 12) = left(s.code, 12) AND (a.sel OR s.sel) AND ST_DWithin(a.p, s.s, $2)
		WHERE ST_Distance(a.p, s.s) > 1e-6
		  AND ST_Distance(a.p, ST_StartPoint(s.s)) >= $2 AND ST_Distance(a.p, ST_EndPoint(s.s)) >= $2`,
		codes, nearTolM)
}

// changedCodes lists the grids whose geometry a changeset gave a new version.
func changedCodes(cs grids.Changeset) []string {
	var out []string
	for _, l := range [][]grids.GridVersion{cs.Result.Changed, cs.Result.Created} {
		for _, v := range l {
			out = append(out, v.Code.String())
		}
	}
	return out
}

// partitionProblem asks the guard's own function about the community.
func partitionProblem(t *testing.T, pool *pgxpool.Pool, comm string) string {
	t.Helper()
	var p *string
	if err := pool.QueryRow(context.Background(), `SELECT gridd_partition_problem($1)`, comm).Scan(&p); err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return ""
	}
	return *p
}

// vertexKind describes a vertex of a served grid.
type vertexKind struct {
	code    string
	i       int         // index in the exterior ring
	at      orb.Point   // as served
	sharers []string    // other grids with it as a vertex
	border  bool        // on the community's boundary
	ring    orb.Ring    // the served exterior ring
	poly    orb.Polygon // the served polygon
	version int
}

// describeVertex looks at vertex i of the exterior ring of grid code.
func describeVertex(t *testing.T, pool *pgxpool.Pool, code string, i int) vertexKind {
	t.Helper()
	p, v := served(t, pool, code)
	at := p[0][i]
	border := queryInt(t, pool, `SELECT count(*) FROM communities c WHERE c.code = left($1, 12) AND c.valid_to IS NULL
		AND ST_Distance(ST_Transform(ST_Boundary(c.geom), 32650), ST_Transform(ST_SetSRID(ST_MakePoint($2, $3), 4326), 32650)) < 0.01`,
		code, at[0], at[1]) > 0
	return vertexKind{code: code, i: i, at: at, sharers: sharers(t, pool, code, at), border: border, ring: p[0], poly: p, version: v}
}

// withVertex returns the polygon with vertex i of its exterior ring (and
// the closing point with the first) replaced.
func withVertex(p orb.Polygon, i int, to orb.Point) orb.Polygon {
	q := p.Clone()
	r := q[0]
	r[i] = to
	if i == 0 {
		r[len(r)-1] = to
	}
	if i == len(r)-1 {
		r[0] = to
	}
	return q
}

// sendAsQGIS sends the polygon the way the OGC handler does, and checks the
// result: success, the partition exact, no near-duplicate vertices in the
// grids the edit changed, and the moved vertices where they were asked to be
// in the grid and in the grids that shared them. It returns the problems.
func sendAsQGIS(t *testing.T, st *postgis.Store, pool *pgxpool.Pool, code string, version int, p orb.Polygon, moved []orb.Point, sharedBy [][]string) (cs grids.Changeset, err error, problems []string) {
	t.Helper()
	cs, err = st.UpdateGrid(context.Background(), "qgis", grids.GridRef{Code: geo.Code(code), Version: version}, grids.GridAttributes{}, p, "vertex move")
	if err != nil {
		return cs, err, nil
	}
	if prob := partitionProblem(t, pool, code[:12]); prob != "" {
		problems = append(problems, "partition: "+prob)
	}
	problems = append(problems, nearDuplicates(t, pool, changedCodes(cs))...)
	for k, m := range moved {
		if !hasVertexNear(t, pool, code, m) {
			problems = append(problems, fmt.Sprintf("grid %s has no vertex within 1 mm of the moved vertex %v", code, m))
		}
		for _, s := range sharedBy[k] {
			if !hasVertexNear(t, pool, s, m) {
				problems = append(problems, fmt.Sprintf("grid %s shared the moved vertex but has no vertex within 1 mm of %v", s, m))
			}
		}
	}
	return cs, nil, problems
}

// pickVertex finds, in the street, the first grid (in code order) with an
// exterior-ring vertex that matches.
func pickVertex(t *testing.T, pool *pgxpool.Pool, want func(vertexKind) bool) vertexKind {
	t.Helper()
	codes := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND street_code = $1 ORDER BY code`, vertexStreet)
	for _, c := range codes {
		p, _ := served(t, pool, c)
		for i := 0; i < len(p[0])-1; i++ {
			v := describeVertex(t, pool, c, i)
			if want(v) {
				return v
			}
		}
	}
	t.Fatal("no such vertex in the street")
	return vertexKind{}
}

func TestVertexMoves(t *testing.T) {
	st, pool := demoStreet(t)
	if bad := nearDuplicates(t, pool, queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND street_code = $1`, vertexStreet)); len(bad) > 0 {
		t.Fatalf("the demo build already has %d near-duplicate vertices, e.g. %s", len(bad), bad[0])
	}
	triple := pickVertex(t, pool, func(v vertexKind) bool { return !v.border && len(v.sharers) >= 2 })
	bend := pickVertex(t, pool, func(v vertexKind) bool {
		return !v.border && len(v.sharers) == 1 && v.code != triple.code
	})
	tests := []struct {
		name   string
		v      vertexKind
		dx, dy float64
	}{
		{"shared by three grids, 1 m", triple, 0.6, 0.8},
		{"shared by three grids, 0.1 m", triple, -0.06, 0.08},
		{"shared by three grids, 3 m", triple, 1.8, -2.4},
		{"shared by two grids, 1 m", bend, -0.8, -0.6},
		{"shared by two grids, 0.1 m", bend, 0.1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := describeVertex(t, pool, tt.v.code, tt.v.i) // current version, as QGIS reads it now
			to := offset(v.at, tt.dx, tt.dy)
			_, err, problems := sendAsQGIS(t, st, pool, v.code, v.version, withVertex(v.poly, v.i, to), []orb.Point{to}, [][]string{v.sharers})
			if err != nil {
				t.Fatalf("moving vertex %d of %s (shared with %v) by %.1f m: %v", v.i, v.code, v.sharers, math.Hypot(tt.dx, tt.dy), err)
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
	t.Run("a vertex added on an edge", func(t *testing.T) {
		v := describeVertex(t, pool, bend.code, 0)
		a, b := v.ring[1], v.ring[2]
		mid := orb.Point{a[0] + (b[0]-a[0])*0.37, a[1] + (b[1]-a[1])*0.37}
		p := v.poly.Clone()
		p[0] = append(orb.Ring{}, p[0][:2]...)
		p[0] = append(p[0], mid)
		p[0] = append(p[0], v.poly[0][2:]...)
		_, err, problems := sendAsQGIS(t, st, pool, v.code, v.version, p, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
	t.Run("an edge nudged 0.5 m", func(t *testing.T) {
		v := pickVertex(t, pool, func(v vertexKind) bool { return !v.border && v.code == triple.code })
		n := len(v.ring) - 1
		j := (v.i + 1) % n
		w := describeVertex(t, pool, v.code, j)
		if w.border {
			j = (v.i + n - 1) % n
			w = describeVertex(t, pool, v.code, j)
		}
		if w.border {
			t.Skip("no interior edge next to the vertex")
		}
		toA, toB := offset(v.at, 0.3, 0.4), offset(w.at, 0.3, 0.4)
		p := withVertex(withVertex(v.poly, v.i, toA), j, toB)
		_, err, problems := sendAsQGIS(t, st, pool, v.code, v.version, p, []orb.Point{toA, toB}, [][]string{v.sharers, w.sharers})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
	t.Run("a boundary vertex moved 1 m out of the community", func(t *testing.T) {
		v := pickVertex(t, pool, func(v vertexKind) bool { return v.border && len(v.sharers) == 0 })
		// outward: away from the grid's centroid
		c, _ := centroid(v.poly)
		dx, dy := v.at[0]-c[0], v.at[1]-c[1]
		l := math.Hypot(dx*111320*math.Cos(v.at[1]*math.Pi/180), dy*110574)
		to := offset(v.at, dx*111320*math.Cos(v.at[1]*math.Pi/180)/l, dy*110574/l)
		_, err, problems := sendAsQGIS(t, st, pool, v.code, v.version, withVertex(v.poly, v.i, to), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
}

// TestRandomVertexMoves makes seeded random small edits of random grids of
// the demo street, one after the other, as QGIS sends them: a vertex moved
// 0.1 to 3 m, a vertex added on an edge (and moved up to 3 m, or not), an
// edge nudged. An edit is valid when the requested polygon is a valid
// polygon inside the community and moves no vertex on the community's
// boundary; every valid edit must succeed and leave no near-duplicate
// vertices, and each moved vertex where it was asked to be in the grid and
// in the grids that shared it.
func TestRandomVertexMoves(t *testing.T) {
	seed := *editSeed
	if seed == 0 {
		seed = 12
	}
	t.Logf("seed %d (replay with -edit-seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 12))
	ctx := context.Background()
	st, pool := demoStreet(t)
	codes := queryStrings(t, pool, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND street_code = $1 ORDER BY code`, vertexStreet)
	var valid, invalid, failed, refusedInvalid, withDups, dups, misplaced int
	for step := 0; step < *vertexMoves; step++ {
		code := codes[rng.IntN(len(codes))]
		poly, version := served(t, pool, code)
		n := len(poly[0]) - 1
		dist := []float64{0.1, 0.3, 1, 2, 3}[rng.IntN(5)]
		ang := rng.Float64() * 2 * math.Pi
		dx, dy := dist*math.Cos(ang), dist*math.Sin(ang)
		var req orb.Polygon
		var moved []orb.Point
		var sharedBy [][]string
		var from []orb.Point
		var what string
		switch kind := rng.IntN(4); kind {
		case 0, 1: // move one vertex
			i := rng.IntN(n)
			v := describeVertex(t, pool, code, i)
			to := offset(v.at, dx, dy)
			req, moved, sharedBy, from = withVertex(poly, i, to), []orb.Point{to}, [][]string{v.sharers}, []orb.Point{v.at}
			what = fmt.Sprintf("vertex %d (shared with %d) moved %.1f m", i, len(v.sharers), dist)
		case 2: // add a vertex on an edge, maybe moved
			i := rng.IntN(n)
			a, b := poly[0][i], poly[0][i+1]
			f := 0.2 + 0.6*rng.Float64()
			mid := orb.Point{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}
			if rng.IntN(2) == 0 {
				dist = 0
			}
			mid = offset(mid, dx*dist/math.Max(dist, 1e-9), dy*dist/math.Max(dist, 1e-9))
			if dist == 0 {
				mid = orb.Point{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}
			}
			from = []orb.Point{{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}}
			if dist == 0 {
				from = nil
			}
			req = poly.Clone()
			r := append(orb.Ring{}, req[0][:i+1]...)
			r = append(r, mid)
			req[0] = append(r, poly[0][i+1:]...)
			what = fmt.Sprintf("vertex added on edge %d, moved %.1f m", i, dist)
			if dist > 0 {
				moved, sharedBy = []orb.Point{mid}, [][]string{nil}
			}
		case 3: // nudge an edge
			i := rng.IntN(n)
			j := (i + 1) % n
			v, w := describeVertex(t, pool, code, i), describeVertex(t, pool, code, j)
			ta, tb := offset(v.at, dx, dy), offset(w.at, dx, dy)
			req = withVertex(withVertex(poly, i, ta), j, tb)
			moved, sharedBy, from = []orb.Point{ta, tb}, [][]string{v.sharers, w.sharers}, []orb.Point{v.at, w.at}
			what = fmt.Sprintf("edge %d nudged %.1f m", i, dist)
		}
		// Valid: a valid polygon, inside the community (as far as the grid
		// as served is: its rounding to 9 decimals puts vertices of the
		// boundary a little outside), no vertex of the community's boundary
		// moved.
		reqWKB := mustWKB(t, req)
		var ok bool
		var why string
		if err := pool.QueryRow(ctx, `SELECT ST_IsValid(r) AND ST_Area(ST_Transform(ST_Difference(r, ST_Union(c.geom, ST_GeomFromWKB($5, 4326))), 32650)) < 1e-4
			AND NOT EXISTS (SELECT 1 FROM unnest($3::float8[], $4::float8[]) f(x, y)
				WHERE ST_Distance(ST_Transform(ST_Boundary(c.geom), 32650), ST_Transform(ST_SetSRID(ST_MakePoint(f.x, f.y), 4326), 32650)) < 0.01),
			CASE WHEN NOT ST_IsValid(r) THEN ST_IsValidReason(r)
				WHEN ST_Area(ST_Transform(ST_Difference(r, ST_Union(c.geom, ST_GeomFromWKB($5, 4326))), 32650)) >= 1e-4 THEN 'leaves the community'
				ELSE 'moves a vertex of the community boundary' END
			FROM communities c, (SELECT ST_GeomFromWKB($1, 4326) r) x WHERE c.code = left($2, 12) AND c.valid_to IS NULL`,
			reqWKB, code, xs(from), ys(from), mustWKB(t, poly)).Scan(&ok, &why); err != nil {
			t.Fatal(err)
		}
		if !ok {
			moved = nil // clipped or refused: not where asked
		}
		_, err, problems := sendAsQGIS(t, st, pool, code, version, req, moved, sharedBy)
		switch {
		case !ok:
			invalid++
			if err != nil {
				refusedInvalid++
			}
			t.Logf("step %d: %s: %s (not a valid move: %s): %v", step, code, what, why, err)
		case err != nil:
			valid++
			failed++
			t.Errorf("step %d: %s: %s: a valid move failed: %v", step, code, what, err)
		default:
			valid++
		}
		var nd int
		for _, p := range problems {
			if strings.Contains(p, "1 mm") {
				misplaced++
			} else {
				nd++
			}
		}
		if len(problems) > 0 {
			withDups++
			dups += nd
			t.Errorf("step %d: %s: %s: %d problems, e.g. %s", step, code, what, len(problems), problems[0])
			if os.Getenv("DEBUGV") != "" {
				t.Logf("asked %v\nfrom %v\nnow %v", req, poly, queryStrings(t, pool, `SELECT code || ' ' || ST_AsText(geom) FROM unit_grids WHERE valid_to IS NULL AND community_code = left($1, 12) AND ST_DWithin(geom, ST_GeomFromWKB($2, 4326), 1e-5)`, code, mustWKB(t, poly)))
				t.Log(queryStrings(t, pool, `SELECT ST_AsText(geom) FROM communities WHERE code = left($1, 12) AND valid_to IS NULL`, code))
			}
		}
	}
	t.Logf("%d edits: %d valid, %d of them failed; %d not valid, %d of them refused; %d edits left problems: %d near-duplicates, %d moved vertices not where asked",
		*vertexMoves, valid, failed, invalid, refusedInvalid, withDups, dups, misplaced)
}

func xs(ps []orb.Point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p[0]
	}
	return out
}

func ys(ps []orb.Point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p[1]
	}
	return out
}
