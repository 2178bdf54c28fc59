package postgis

import (
	"testing"

	"gridd/h3"
)

// A cell's outline keeps its longitudes on one side of the antimeridian
// (it spans a few degrees, not the world), and an ordinary cell's outline
// is its boundary as H3 gives it, closed.
func TestCellPolygonAntimeridian(t *testing.T) {
	for _, lng := range []float64{179.99, -179.99, 180} {
		c, err := h3.LatLngToCell(10, lng, HotspotMinRes)
		if err != nil {
			t.Fatal(err)
		}
		ring := cellPolygon(c)[0]
		b := ring.Bound()
		if w := b.Max[0] - b.Min[0]; w > 5 {
			t.Errorf("cell %s at longitude %v: outline %v spans %.1f degrees of longitude", c, lng, b, w)
		}
		if ring[0] != ring[len(ring)-1] || len(ring) != len(c.Boundary())+1 {
			t.Errorf("cell %s: ring of %d points for %d vertices, or not closed", c, len(ring), len(c.Boundary()))
		}
	}
	c, _ := h3.LatLngToCell(39.905, 116.405, 9)
	ring := cellPolygon(c)[0]
	for i, v := range c.Boundary() {
		if ring[i][0] != v[1] || ring[i][1] != v[0] {
			t.Errorf("vertex %d: outline %v, boundary (lat, lng) %v", i, ring[i], v)
		}
	}
}
