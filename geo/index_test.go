package geo

import (
	"math/rand"
	"testing"

	"github.com/paulmach/orb"
)

func square(x0, y0, s float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x0 + s, y0}, {x0 + s, y0 + s}, {x0, y0 + s}, {x0, y0}}}
}

// Four squares meeting at (1,1), coded so that the smallest code is not the
// first inserted; one has a hole filled by a fifth grid.
func testIndex(t *testing.T) *Index {
	t.Helper()
	holed := square(1, 1, 1)
	holed = append(holed, orb.Ring{{1.25, 1.25}, {1.25, 1.75}, {1.75, 1.75}, {1.75, 1.25}, {1.25, 1.25}})
	ix, err := NewIndex(IndexInput{
		Grids: []IndexGrid{
			{Code: "110101001001004", Polygon: square(0, 0, 1), AreaM2: 1},
			{Code: "110101001001003", Polygon: square(1, 0, 1), AreaM2: 1},
			{Code: "110101001001002", Polygon: square(0, 1, 1), AreaM2: 1},
			{Code: "110101001002001", Polygon: holed, AreaM2: 1},
			{Code: "110101001002005", Polygon: square(1.25, 1.25, 0.5), AreaM2: 1},
		},
		Names: map[Code]string{"110101": "东城区", "110101001": "东华门街道", "110101001001": "A", "110101001002": "B"},
		Mgmt:  map[Code][]Named{"110101001001003": {{Code: "M1", Name: "一网格"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestIndexOwnerRule(t *testing.T) {
	ix := testIndex(t)
	cases := []struct {
		p    orb.Point
		want string
	}{
		{orb.Point{0.5, 0.5}, "110101001001004"},
		{orb.Point{1, 1}, "110101001001002"},      // vertex shared by four
		{orb.Point{1, 0.5}, "110101001001003"},    // edge shared by 004 and 003
		{orb.Point{0.5, 1}, "110101001001002"},    // edge 004/002
		{orb.Point{1.5, 1}, "110101001001003"},    // edge 003/holed
		{orb.Point{1.5, 1.5}, "110101001002005"},  // in the hole
		{orb.Point{1.25, 1.5}, "110101001002001"}, // on the hole's edge: both cover, smaller code
		{orb.Point{1.1, 1.1}, "110101001002001"},
		{orb.Point{2, 2}, "110101001002001"}, // outer corner
		{orb.Point{0, 0}, "110101001001004"},
	}
	for _, c := range cases {
		id, ok := ix.Owner(c.p)
		got := ""
		if ok {
			got = string(ix.Code(id))
		}
		if got != c.want {
			t.Errorf("Owner(%v) = %q, want %q", c.p, got, c.want)
		}
	}
	for _, p := range []orb.Point{{-0.001, 0.5}, {2.0001, 1}, {0.5, 2.5}} {
		if id, ok := ix.Owner(p); ok {
			t.Errorf("Owner(%v) = %s, want outside", p, ix.Code(id))
		}
	}
	if got := len(ix.Covering(orb.Point{1, 1})); got != 4 {
		t.Errorf("Covering at the shared vertex: %d grids, want 4", got)
	}
	in := ix.Info(mustOwner(t, ix, orb.Point{1.5, 0.5}))
	if in.Community.Name != "A" || in.Street.Name != "东华门街道" || in.District.Code != "110101" || len(in.Mgmt) != 1 {
		t.Errorf("Info = %+v", in)
	}
}

func mustOwner(t *testing.T, ix *Index, p orb.Point) int {
	id, ok := ix.Owner(p)
	if !ok {
		t.Fatalf("no owner at %v", p)
	}
	return id
}

// The tree prefilter must find exactly what a scan of every grid finds.
func TestIndexTreeMatchesScan(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	var gs []IndexGrid
	for i := 0; i < 2000; i++ {
		x, y := rng.Float64()*10, rng.Float64()*10
		gs = append(gs, IndexGrid{Code: Code("110101001" + pad3(1+i/900) + pad3(1+i%900)), Polygon: square(x, y, rng.Float64()*0.5+0.01), AreaM2: 1})
	}
	ix, err := NewIndex(IndexInput{Grids: gs})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 5000; k++ {
		p := orb.Point{rng.Float64() * 10.5, rng.Float64() * 10.5}
		want := -1
		for id := 0; id < ix.Len(); id++ {
			if ix.Covers(id, p) && (want < 0 || ix.recs[id].code < ix.recs[want].code) {
				want = id
			}
		}
		got, _ := ix.Owner(p)
		if got != want {
			t.Fatalf("Owner(%v) = %d, scan says %d", p, got, want)
		}
	}
}

func pad3(n int) string {
	s := "00" + itoa(n)
	return s[len(s)-3:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestNewIndexRejects(t *testing.T) {
	for name, gs := range map[string][]IndexGrid{
		"duplicate code": {{Code: "110101001001001", Polygon: square(0, 0, 1)}, {Code: "110101001001001", Polygon: square(1, 0, 1)}},
		"short code":     {{Code: "110101001001", Polygon: square(0, 0, 1)}},
		"no ring":        {{Code: "110101001001001", Polygon: orb.Polygon{}}},
	} {
		if _, err := NewIndex(IndexInput{Grids: gs}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ix, err := NewIndex(IndexInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Owner(orb.Point{0, 0}); ok || len(ix.Near(orb.Point{0, 0}, 100)) != 0 {
		t.Error("an empty index found something")
	}
}
