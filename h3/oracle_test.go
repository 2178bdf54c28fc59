package h3

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The oracle is Uber's h3-js, pinned in testdata/h3js/package.json and
// installed by make test-deps; testdata/h3js/oracle.js answers requests
// one JSON line at a time.
var oracleDir = filepath.Join("..", "testdata", "h3js")

// oracleNode finds node and the installed h3-js, or skips the test; under
// CI it fails instead.
func oracleNode(t *testing.T) string {
	t.Helper()
	missing := ""
	node, err := exec.LookPath("node")
	if err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", "h3-js", "package.json")); err != nil {
		missing = "h3-js is not installed in testdata/h3js"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s (make test-deps installs it)", missing)
		}
		t.Skipf("%s (make test-deps installs it)", missing)
	}
	return node
}

type oracleRequest struct {
	Op   string  `json:"op"`
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Res  []int   `json:"res,omitempty"`
	Cell string  `json:"cell,omitempty"`
}

// oracleAnswer is h3-js's answer to a request.
type oracleAnswer struct {
	Error      string         // h3-js rejected the request
	Cells      []string       // point: latLngToCell at res 0-15
	Parents    []string       // point: cellToParent(Cells[15], r) for each r of Res
	Centers    [][2]float64   // point: cellToLatLng(Cells[r])
	Boundaries [][][2]float64 // point: cellToBoundary(Cells[r])
	Valid      bool           // cell: isValidCell
	Pentagon   bool           // cell: isPentagon, if valid
}

// parseAnswer reads the answer line of oracle.js to q.
func parseAnswer(q oracleRequest, line string) (*oracleAnswer, error) {
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return &oracleAnswer{Error: msg}, nil
	}
	f := strings.Fields(line)
	if q.Op == "cell" {
		return &oracleAnswer{Valid: f[0] == "true", Pentagon: len(f) > 1 && f[1] == "true"}, nil
	}
	if len(f) < 16 {
		return nil, fmt.Errorf("short answer %q", line)
	}
	a := &oracleAnswer{Cells: f[:16]}
	f = f[16:]
	num := func() float64 {
		if len(f) == 0 {
			panic(fmt.Sprintf("short answer %q", line))
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			panic(fmt.Sprintf("answer %q: %v", line, err))
		}
		f = f[1:]
		return v
	}
	for range q.Res {
		a.Parents = append(a.Parents, f[0])
		f = f[1:]
		a.Centers = append(a.Centers, [2]float64{num(), num()})
		b := make([][2]float64, int(num()))
		for i := range b {
			b[i] = [2]float64{num(), num()}
		}
		a.Boundaries = append(a.Boundaries, b)
	}
	return a, nil
}

// askOracle sends all requests through one node process and hands each
// answer, in order, to check as it arrives.
func askOracle(t *testing.T, reqs []oracleRequest, check func(q oracleRequest, a *oracleAnswer)) {
	t.Helper()
	node := oracleNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "oracle.js")
	cmd.Dir = oracleDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(stdin, 1<<16)
		enc := json.NewEncoder(w)
		for _, q := range reqs {
			if err := enc.Encode(q); err != nil {
				werr <- err
				return
			}
		}
		if err := w.Flush(); err != nil {
			werr <- err
			return
		}
		werr <- stdin.Close()
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for n, q := range reqs {
		if !sc.Scan() {
			t.Fatalf("node oracle.js: answer %d of %d missing: %v", n+1, len(reqs), sc.Err())
		}
		a, err := parseAnswer(q, sc.Text())
		if err != nil {
			t.Fatalf("node oracle.js: answer %d of %d: %v", n+1, len(reqs), err)
		}
		check(q, a)
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing to node oracle.js: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node oracle.js: %v", err)
	}
}

// tolerance is the largest difference in degrees allowed between h3-js's
// centres and vertices and ours, away from the poles.
const tolerance = 1e-9

// poleTolerance adds to tolerance near the poles. H3 4.5 computes a point
// as a unit vector (x, y, z) and its latitude as asin(z): there an error of
// a few units in the last place of z, from the last bits of sin, cos and
// atan (Go's and V8's differ), moves the latitude by about 2^-52/cos(lat)
// radians, and the longitude alike. 32 such units are allowed; 0.1° from a
// pole that is 4e-12°, at 1e-5° from it 4e-8°.
func poleTolerance(lat float64) float64 {
	return 32 * 0x1p-52 / math.Cos(lat*math.Pi/180) * 180 / math.Pi
}

// latLngDiff returns the larger of the latitude and longitude differences
// of two [lat, lng] points in degrees, longitudes compared modulo 360° and
// not at all at a pole.
func latLngDiff(a, b [2]float64) float64 {
	d := math.Abs(a[0] - b[0])
	if math.Abs(a[0]) > 90-tolerance-poleTolerance(a[0]) {
		return d
	}
	dLng := math.Mod(math.Abs(a[1]-b[1]), 360)
	return max(d, min(dLng, 360-dLng))
}

// diffStats collects the differences to h3-js's points.
type diffStats struct {
	max       float64 // largest difference
	maxAway   float64 // largest difference more than 1° from a pole
	nearPoles int     // differences over tolerance, within poleTolerance
	poleDist  float64 // the farthest of those from its pole, in degrees
}

// close reports whether two [lat, lng] points agree within tolerance (plus
// poleTolerance near the poles).
func (s *diffStats) close(a, b [2]float64) bool {
	d := latLngDiff(a, b)
	s.max = max(s.max, d)
	if math.Abs(a[0]) < 89 {
		s.maxAway = max(s.maxAway, d)
	}
	if d <= tolerance {
		return true
	}
	if d <= tolerance+poleTolerance(a[0]) {
		s.nearPoles++
		s.poleDist = max(s.poleDist, 90-math.Abs(a[0]))
		return true
	}
	return false
}

// testPoints returns the points of TestOracle, each with the resolutions
// to compare parents, centres and boundaries at (cells are compared at all
// 16): seeded random points uniform on the sphere, each at one resolution
// in turn, and at all resolutions points at and around the centres of the
// 122 base cells, around the 12 pentagons, at and near the poles and along
// the antimeridian.
func testPoints(random int) []oracleRequest {
	rng := rand.New(rand.NewPCG(20261205, 1))
	var reqs []oracleRequest
	for i := range random {
		lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
		lng := 360*rng.Float64() - 180
		reqs = append(reqs, oracleRequest{Op: "point", Lat: lat, Lng: lng, Res: []int{i % 16}})
	}

	var special [][2]float64
	for b := range numBaseCells {
		c := cellInit | cellMode<<modeOffset | Cell(b)<<baseCellOffset
		lat, lng := c.Center()
		special = append(special, [2]float64{lat, lng})
		for _, d := range []float64{1e-9, 1e-6, 1e-3, 0.5, 3} {
			special = append(special,
				[2]float64{lat + d, lng}, [2]float64{lat - d, lng},
				[2]float64{lat, lng + d}, [2]float64{lat, lng - d})
		}
		if baseCells[b].isPentagon {
			// rings around the pentagon: the cells there are rotated
			// out of the deleted k sub-sequence
			for _, d := range []float64{1e-7, 1e-5, 1e-3, 0.1, 1, 5} {
				for a := range 24 {
					az := float64(a) * 15 * math.Pi / 180
					special = append(special, [2]float64{lat + d*math.Cos(az), lng + d*math.Sin(az)})
				}
			}
		}
	}
	for _, lat := range []float64{90, -90, 90 - 1e-9, -90 + 1e-9, 89.99, -89.99, 89, -89} {
		for _, lng := range []float64{-180, -135, -90, -45, 0, 45, 90, 135, 180} {
			special = append(special, [2]float64{lat, lng})
		}
	}
	for lat := -88.0; lat <= 88; lat += 4 {
		for _, lng := range []float64{180, -180, 180 - 1e-9, -180 + 1e-9, 179.9, -179.9} {
			special = append(special, [2]float64{lat, lng})
		}
	}
	// longitudes outside [-180, 180] wrap, as in H3
	special = append(special, [2]float64{10, 190}, [2]float64{-20, -540}, [2]float64{45, 720.5})

	all := make([]int, 16)
	for res := range all {
		all[res] = res
	}
	for _, p := range special {
		reqs = append(reqs, oracleRequest{Op: "point", Lat: p[0], Lng: p[1], Res: all})
	}
	return reqs
}

// TestOracle compares LatLngToCell at every resolution, Parent, Center and
// Boundary with h3-js for a few hundred thousand points.
func TestOracle(t *testing.T) {
	random := 100_000
	if testing.Short() {
		random = 10_000
	}
	reqs := testPoints(random)

	var cells, boundaries, pentagons, distorted, failures int
	var diffs diffStats
	fail := func(format string, args ...any) {
		failures++
		if failures <= 20 {
			t.Errorf(format, args...)
		}
	}
	askOracle(t, reqs, func(q oracleRequest, a *oracleAnswer) {
		if a.Error != "" {
			fail("%+v: h3-js: %s", q, a.Error)
			return
		}
		var mine [16]Cell
		for res := range 16 {
			c, err := LatLngToCell(q.Lat, q.Lng, res)
			if err != nil {
				fail("LatLngToCell(%v, %v, %d): %v", q.Lat, q.Lng, res, err)
				continue
			}
			mine[res] = c
			cells++
			if c.String() != a.Cells[res] {
				fail("LatLngToCell(%v, %v, %d) = %s, h3-js %s", q.Lat, q.Lng, res, c, a.Cells[res])
			}
		}
		for n, res := range q.Res {
			if p, err := mine[15].Parent(res); err != nil || p.String() != a.Parents[n] {
				fail("%s.Parent(%d) = %s, %v; h3-js %s", mine[15], res, p, err, a.Parents[n])
			}
			c := mine[res]
			if c.String() != a.Cells[res] {
				continue // reported above
			}
			if lat, lng := c.Center(); !diffs.close([2]float64{lat, lng}, a.Centers[n]) {
				fail("%s.Center() = %v, %v; h3-js %v", c, lat, lng, a.Centers[n])
			}
			b, want := c.Boundary(), a.Boundaries[n]
			boundaries++
			if c.IsPentagon() {
				pentagons++
			}
			if len(b) > 6 || c.IsPentagon() && len(b) > 5 {
				distorted++
			}
			if len(b) != len(want) {
				fail("%s.Boundary() has %d vertices, h3-js %d:\n%v\n%v", c, len(b), len(want), b, want)
				continue
			}
			for i := range b {
				if !diffs.close(b[i], want[i]) {
					fail("%s.Boundary()[%d] = %v, h3-js %v", c, i, b[i], want[i])
					break
				}
			}
		}
	})
	if failures > 20 {
		t.Errorf("... %d failures in all", failures)
	}
	t.Logf("%d points (%d random): %d cells, %d parents, centres and boundaries (%d pentagons, %d with icosahedron-edge vertices) equal to h3-js's",
		len(reqs), random, cells, boundaries, pentagons, distorted)
	t.Logf("largest difference of a centre or vertex: %.3g° more than 1° from the poles, %.3g° in all; %d over %g°, all within %.2g° of a pole",
		diffs.maxAway, diffs.max, diffs.nearPoles, tolerance, diffs.poleDist)
}

// TestOracleValidity compares IsValid and IsPentagon with h3-js's
// isValidCell and isPentagon on valid cells and on indexes with random
// bits of them changed.
func TestOracleValidity(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261205, 2))
	var idx []Cell
	for range 20_000 {
		lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
		c, err := LatLngToCell(lat, 360*rng.Float64()-180, rng.IntN(16))
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, c)
		switch rng.IntN(4) {
		case 0: // one bit anywhere
			idx = append(idx, c^1<<rng.IntN(64))
		case 1: // one digit, possibly the deleted pentagon direction
			idx = append(idx, c.withDigit(1+rng.IntN(15), rng.IntN(8)))
		case 2: // another resolution
			idx = append(idx, c.withResolution(rng.IntN(16)))
		case 3: // another base cell
			idx = append(idx, c&^(0x7f<<baseCellOffset)|Cell(rng.IntN(128))<<baseCellOffset)
		}
	}
	// the pentagons' children, where the k digit is deleted
	for b := range numBaseCells {
		if !baseCells[b].isPentagon {
			continue
		}
		c := cellInit | cellMode<<modeOffset | Cell(b)<<baseCellOffset
		for res := 1; res <= 3; res++ {
			for d := range 8 {
				idx = append(idx, c.withResolution(res).withDigit(1, 0).withDigit(res, d))
				idx = append(idx, c.withResolution(res).withDigit(1, d).withDigit(2, 0).withDigit(3, 0))
			}
		}
	}
	reqs := make([]oracleRequest, len(idx))
	for i, c := range idx {
		reqs[i] = oracleRequest{Op: "cell", Cell: c.String()}
	}
	var valid, pentagons, failures, n int
	askOracle(t, reqs, func(_ oracleRequest, a *oracleAnswer) {
		c := idx[n]
		n++
		if c.IsValid() != a.Valid {
			failures++
			if failures <= 20 {
				t.Errorf("%s.IsValid() = %v, h3-js %v", c, c.IsValid(), a.Valid)
			}
			return
		}
		if !a.Valid {
			return
		}
		valid++
		if c.IsPentagon() != a.Pentagon {
			t.Errorf("%s.IsPentagon() = %v, h3-js %v", c, c.IsPentagon(), a.Pentagon)
		}
		if a.Pentagon {
			pentagons++
		}
		if p, err := ParseCell(c.String()); err != nil || p != c {
			t.Errorf("ParseCell(%q) = %s, %v", c.String(), p, err)
		}
	})
	t.Logf("%d indexes (%d valid, %d pentagons): IsValid and IsPentagon equal to h3-js's", len(idx), valid, pentagons)
}

func ExampleLatLngToCell() {
	c, _ := LatLngToCell(37.7749, -122.4194, 9)
	lat, lng := c.Center()
	fmt.Printf("%s %.5f %.5f %d\n", c, lat, lng, len(c.Boundary()))
	// Output: 89283082803ffff 37.77352 -122.41827 6
}
