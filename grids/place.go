package grids

import "github.com/paulmach/orb"

// Place is where a code is on the map: what it names and the WGS-84 bounding
// box of its current geometry.
type Place struct {
	// Kind is "district", "street", "community", "grid", "mgmt_grid" or
	// "component".
	Kind string
	Code string
	Name string
	BBox orb.Bound
}
