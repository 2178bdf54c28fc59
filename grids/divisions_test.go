package grids

import (
	"fmt"
	"testing"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// A division file in GCJ-02 is stored in WGS-84: every vertex comes back
// where the surveyed WGS-84 boundary was.
func TestParseDivisionsConvertsCRS(t *testing.T) {
	wgs := orb.Ring{{116.40, 39.90}, {116.41, 39.90}, {116.41, 39.91}, {116.40, 39.91}, {116.40, 39.90}}
	for _, c := range []geo.CRS{geo.GCJ02, geo.BD09} {
		coords := ""
		for i, p := range wgs {
			q := geo.FromWGS84(p, c)
			if i > 0 {
				coords += ","
			}
			coords += fmt.Sprintf("[%.15g,%.15g]", q[0], q[1])
		}
		file := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"110101","name":"东城区"},
			"geometry":{"type":"Polygon","coordinates":[[` + coords + `]]}}]}`
		feats, rejected, err := ParseDivisions([]byte(file), c)
		if err != nil || len(rejected) > 0 || len(feats) != 1 {
			t.Fatalf("%s: %v %v %d", c, err, rejected, len(feats))
		}
		for i, p := range feats[0].Geom[0][0] {
			if d := geo.DistanceM(p, wgs[i]); d > 0.01 {
				t.Errorf("%s: vertex %d stored %.3f m from its WGS-84 position", c, i, d)
			}
		}
	}
}
