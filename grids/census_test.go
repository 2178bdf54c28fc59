package grids

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func TestDemoCensus(t *testing.T) {
	// 10 x 10 grids of about 85 x 100 m near Dongcheng.
	var shapes []GridShape
	for j := 0; j < 10; j++ {
		for i := 0; i < 10; i++ {
			x, y := 116.40+float64(i)*0.001, 39.90+float64(j)*0.0009
			ring := orb.Ring{{x, y}, {x + 0.001, y}, {x + 0.001, y + 0.0009}, {x, y + 0.0009}, {x, y}}
			shapes = append(shapes, GridShape{Code: fmt.Sprintf("110101001001%03d", j*10+i+1), Geom: orb.Polygon{ring}})
		}
	}
	const seed = 7
	a, b := DemoCensus(shapes, seed), DemoCensus(shapes, seed)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed %d: two runs differ", seed)
	}
	if c := DemoCensus(shapes, seed+1); reflect.DeepEqual(a, c) {
		t.Errorf("seeds %d and %d give the same census", seed, seed+1)
	}
	perClass := map[string]int{}
	bound := orb.Bound{Min: orb.Point{116.40, 39.90}, Max: orb.Point{116.41, 39.909}}
	for i, f := range a {
		perClass[f.ClassCode]++
		p := f.Geom.(orb.Point)
		if !bound.Contains(p) {
			t.Fatalf("feature %d at %v is outside the grids", i, p)
		}
		if f.Index != i {
			t.Fatalf("feature %d has index %d", i, f.Index)
		}
	}
	for _, k := range censusKinds {
		if perClass[k.class] == 0 {
			t.Errorf("seed %d: no %s %s in the census", seed, k.class, k.name)
		}
	}
	if n := len(a); n < 800 || n > 2500 {
		t.Errorf("seed %d: %d components over 100 grids, want about 14 a grid", seed, n)
	}
	// Edge components stand inside their grid, not on its boundary.
	for _, f := range a[:50] {
		inAny := false
		for _, s := range shapes {
			if planar.PolygonContains(s.Geom, f.Geom.(orb.Point)) {
				inAny = true
			}
		}
		if !inAny {
			t.Errorf("feature %d (%s) is in no grid", f.Index, f.ClassCode)
		}
	}
	t.Logf("seed %d: %d components: %v", seed, len(a), perClass)
}
