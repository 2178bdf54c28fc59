package grids

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// GridShape is a current unit grid's code and outline.
type GridShape struct {
	Code string
	Geom orb.Polygon
}

// censusKind is one kind of component of the synthetic census: its class,
// owner, and where it stands (along the grid's edges, which follow streets,
// at a spacing in metres; or anywhere inside at a rate per grid).
type censusKind struct {
	class, name, owner string
	spacingM           float64 // along edges; 0: inside the grid
	perGrid            float64 // inside: expected number per grid
	offsetM            float64 // how far inside the edge
}

var censusKinds = []censusKind{
	{"01001", "供水井盖", "北京市自来水集团", 500, 0, 3},
	{"01002", "污水井盖", "北京城市排水集团", 400, 0, 4},
	{"01003", "雨水井盖", "北京城市排水集团", 500, 0, 2},
	{"01004", "雨水箅子", "北京城市排水集团", 800, 0, 1},
	{"01005", "电力井盖", "国网北京市电力公司", 800, 0, 5},
	{"01007", "通信井盖", "中国联通北京市分公司", 900, 0, 5},
	{"01010", "热力井盖", "北京市热力集团", 1200, 0, 4},
	{"01011", "燃气井盖", "北京燃气集团", 1000, 0, 3},
	{"01037", "路灯", "北京市城市照明管理中心", 100, 0, 6},
	{"03005", "垃圾箱", "东城区环境卫生服务中心", 400, 0, 5},
	{"04002", "行道树", "东城区园林绿化局", 120, 0, 4},
	{"02004", "公交站设施", "北京公交集团", 0, 0.2, 0},
	{"03001", "公共厕所", "东城区环境卫生服务中心", 0, 0.12, 0},
}

// metresPerDegree is the length of a degree of latitude; a degree of
// longitude is that times cos(latitude).
const metresPerDegree = 111_320.0

// DemoCensus generates a synthetic component census over the grids: manhole
// covers of several utilities, street lamps, trash bins and street trees
// along the grids' edges (which follow streets), bus stops and public
// toilets inside. The same grids and seed always give the same census.
// Each feature is checked (CheckComponentFeature) and has no code: codes are
// allocated on import.
func DemoCensus(shapes []GridShape, seed uint64) []ComponentFeature {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var out []ComponentFeature
	base := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(k censusKind, p orb.Point) {
		f := ComponentFeature{Index: len(out), ClassCode: k.class, Geom: p}
		f.Name, f.OwnerUnit, f.MaintUnit = k.name, k.owner, k.owner
		f.Accuracy, f.DataSource = "B", "surveyed"
		switch x := r.Float64(); {
		case x < 0.02:
			f.Status = "damaged"
		case x < 0.025:
			f.Status = "lost"
		}
		d := base.AddDate(0, 0, r.IntN(20*365))
		f.InitialDate = &d
		if CheckComponentFeature(&f) == nil {
			out = append(out, f)
		}
	}
	for _, g := range shapes {
		if len(g.Geom) == 0 || len(g.Geom[0]) < 4 {
			continue
		}
		ring := g.Geom[0]
		b := g.Geom.Bound()
		lat := (b.Min[1] + b.Max[1]) / 2
		mx := metresPerDegree * math.Cos(lat*math.Pi/180) // metres per degree of longitude
		for _, k := range censusKinds {
			if k.spacingM > 0 {
				along(ring, mx, k.spacingM, k.offsetM, r, g.Geom, func(p orb.Point) { add(k, p) })
				continue
			}
			n := int(k.perGrid)
			if r.Float64() < k.perGrid-float64(n) {
				n++
			}
			for i := 0; i < n; i++ {
				if p, ok := inside(g.Geom, b, r); ok {
					add(k, p)
				}
			}
		}
	}
	return out
}

// along walks the ring placing a point every spacing metres (from a random
// start), moved offset metres toward the inside; points that do not land
// inside the polygon are dropped.
func along(ring orb.Ring, mx, spacing, offset float64, r *rand.Rand, poly orb.Polygon, fn func(orb.Point)) {
	next := r.Float64() * spacing
	for i := 0; i+1 < len(ring); i++ {
		a, b := ring[i], ring[i+1]
		dx, dy := (b[0]-a[0])*mx, (b[1]-a[1])*metresPerDegree
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		for ; next <= l; next += spacing {
			t := next / l
			p := orb.Point{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t}
			// The inward normal of a counter-clockwise ring is to the left;
			// try both sides and keep the one inside.
			nx, ny := -dy/l*offset/mx, dx/l*offset/metresPerDegree
			for _, q := range []orb.Point{{p[0] + nx, p[1] + ny}, {p[0] - nx, p[1] - ny}} {
				if planar.PolygonContains(poly, q) {
					fn(q)
					break
				}
			}
		}
		next -= l
	}
}

// inside draws a point inside the polygon by rejection from its bounds.
func inside(poly orb.Polygon, b orb.Bound, r *rand.Rand) (orb.Point, bool) {
	for try := 0; try < 30; try++ {
		p := orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
		if planar.PolygonContains(poly, p) {
			return p, true
		}
	}
	return orb.Point{}, false
}
