package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{20 << 20, 100},  // the demo: the default
		{128 << 20, 100}, // the budget is the live heap
		{200 << 20, 60},
		{300 << 20, 40}, // a million grids
		{3 << 30, 25},   // ten million: the floor
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
