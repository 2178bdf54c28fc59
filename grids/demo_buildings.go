package grids

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// The demo building layer: synthetic but plausible footprints with 户数 and
// 人口 over the demo district's unit grids, so that social-management grids
// and population figures can be shown without real data.
//
// Buildings are axis-aligned rectangles (Beijing's old city faces south):
// courtyards (院) and low blocks where lanes (胡同, road class "lane") are
// dense, residential slab and tower blocks (N号楼) elsewhere. Every footprint
// lies inside its grid, clear of the roads (ClearanceM by road class) and
// outside the parks and sites of DemoNoBuildingSites. Over the 4,184 unit
// grids of the Dongcheng demo (gridd demo, seed 110101) this gives 13,832
// buildings, 262,261 households and 695,131 residents in 3,685 grids:
// Dongcheng's order (about 700,000 residents over 42 km²).

// DemoSite is a park or non-residential place of the demo district where no
// building is generated.
type DemoSite struct {
	Name string
	Geom orb.Polygon // WGS-84, approximate outline
}

// DemoNoBuildingSites are approximate outlines of Dongcheng's large parks
// and non-residential sites.
var DemoNoBuildingSites = []DemoSite{
	// 1.7 km by 1.6 km; the northern wall is rounded (天圆地方).
	{"天坛公园", orb.Polygon{{{116.4007, 39.8750}, {116.4207, 39.8750}, {116.4207, 39.8865}, {116.4185, 39.8889}, {116.4155, 39.8894}, {116.4059, 39.8894}, {116.4029, 39.8889}, {116.4007, 39.8865}, {116.4007, 39.8750}}}},
	{"地坛公园", orb.Polygon{{{116.4095, 39.9499}, {116.4163, 39.9499}, {116.4163, 39.9555}, {116.4095, 39.9555}, {116.4095, 39.9499}}}},
	// Around 龙潭湖, wider to the east.
	{"龙潭公园", orb.Polygon{{{116.4274, 39.8730}, {116.4380, 39.8727}, {116.4384, 39.8772}, {116.4350, 39.8789}, {116.4290, 39.8789}, {116.4270, 39.8765}, {116.4274, 39.8730}}}},
	// The palace (0.75 km by 0.96 km) with its moat (筒子河).
	{"故宫", orb.Polygon{{{116.3922, 39.9115}, {116.4022, 39.9115}, {116.4022, 39.9211}, {116.3922, 39.9211}, {116.3922, 39.9115}}}},
	{"景山公园", orb.Polygon{{{116.3939, 39.9230}, {116.3991, 39.9230}, {116.3991, 39.9278}, {116.3939, 39.9278}, {116.3939, 39.9230}}}},
	{"劳动人民文化宫", orb.Polygon{{{116.3972, 39.9073}, {116.4008, 39.9073}, {116.4008, 39.9113}, {116.3972, 39.9113}, {116.3972, 39.9073}}}},
	{"中山公园", orb.Polygon{{{116.3917, 39.9073}, {116.3953, 39.9073}, {116.3953, 39.9113}, {116.3917, 39.9113}, {116.3917, 39.9073}}}},
	{"天安门广场", orb.Polygon{{{116.3886, 39.8992}, {116.3944, 39.8992}, {116.3944, 39.9070}, {116.3886, 39.9070}, {116.3886, 39.8992}}}},
}

// DemoClearanceM is how far a footprint stays from a road line of each
// class, in metres (half the road's width and a pavement); other classes
// take the lane's.
var DemoClearanceM = map[string]float64{"arterial": 18, "lane": 4}

// demoKind is one kind of building of the demo: footprint ranges in metres
// (w east-west, d north-south), the space kept to other buildings, and how
// its households are drawn.
type demoKind struct {
	courtyard      bool
	w0, w1, d0, d1 float64
	gapM           float64
	households     func(r *rand.Rand, w, d float64) int
}

var (
	// 四合院 and 大杂院: one to a dozen households.
	demoCourtyard = demoKind{true, 14, 24, 16, 30, 2, func(r *rand.Rand, w, d float64) int {
		return 1 + r.IntN(int(w*d/45)+1)
	}}
	// 简易楼 in hutong areas: 3-5 floors, two or three households a
	// stairwell landing, a stairwell every 15 m.
	demoLowBlock = demoKind{false, 30, 50, 11, 14, 8, func(r *rand.Rand, w, d float64) int {
		return (3 + r.IntN(3)) * (2 + r.IntN(2)) * int(w/15)
	}}
	// 板楼: 6-18 floors, a stairwell every 18 m, two to four households a
	// landing.
	demoSlab = demoKind{false, 40, 80, 12, 15, 18, func(r *rand.Rand, w, d float64) int {
		return (6 + r.IntN(13)) * (2 + r.IntN(3)) * int(w/18)
	}}
	// 塔楼: 14-28 floors, four to eight households a floor.
	demoTower = demoKind{false, 20, 30, 20, 30, 25, func(r *rand.Rand, w, d float64) int {
		return (14 + r.IntN(15)) * (4 + r.IntN(5))
	}}
)

// rect is an axis-aligned rectangle in local metres.
type rect struct{ x0, y0, x1, y1 float64 }

func (a rect) grow(m float64) rect { return rect{a.x0 - m, a.y0 - m, a.x1 + m, a.y1 + m} }
func (a rect) overlaps(b rect) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// segInRect says whether any part of the segment p-q lies in the closed
// rectangle (Liang-Barsky), and returns the length of that part.
func segInRect(p, q orb.Point, a rect) (bool, float64) {
	t0, t1 := 0.0, 1.0
	dx, dy := q[0]-p[0], q[1]-p[1]
	for _, c := range [4][2]float64{{-dx, p[0] - a.x0}, {dx, a.x1 - p[0]}, {-dy, p[1] - a.y0}, {dy, a.y1 - p[1]}} {
		if c[0] == 0 {
			if c[1] < 0 {
				return false, 0
			}
			continue
		}
		t := c[1] / c[0]
		if c[0] < 0 {
			t0 = math.Max(t0, t)
		} else {
			t1 = math.Min(t1, t)
		}
		if t0 > t1 {
			return false, 0
		}
	}
	return true, (t1 - t0) * math.Hypot(dx, dy)
}

// localFrame converts WGS-84 to metres east and north of an origin, which
// is precise enough over a district for placing footprints.
type localFrame struct{ lon0, lat0, mx float64 }

func (f localFrame) to(p orb.Point) orb.Point {
	return orb.Point{(p[0] - f.lon0) * f.mx, (p[1] - f.lat0) * metresPerDegree}
}
func (f localFrame) from(x, y float64) orb.Point {
	return orb.Point{f.lon0 + x/f.mx, f.lat0 + y/metresPerDegree}
}
func (f localFrame) polygon(p orb.Polygon) orb.Polygon {
	out := make(orb.Polygon, len(p))
	for i, ring := range p {
		out[i] = make(orb.Ring, len(ring))
		for j, pt := range ring {
			out[i][j] = f.to(pt)
		}
	}
	return out
}

// demoSeg is a road segment in local metres with its clearance and name.
type demoSeg struct {
	p, q      orb.Point
	clearance float64
	lane      bool
	name      string
}

// segIndex buckets segments by 100 m cells.
type segIndex struct {
	cells map[[2]int][]int
	segs  []demoSeg
}

const segCell = 100.0

func (ix *segIndex) add(s demoSeg) {
	i := len(ix.segs)
	ix.segs = append(ix.segs, s)
	b := orb.MultiPoint{s.p, s.q}.Bound()
	for cx := int(math.Floor(b.Min[0] / segCell)); cx <= int(math.Floor(b.Max[0]/segCell)); cx++ {
		for cy := int(math.Floor(b.Min[1] / segCell)); cy <= int(math.Floor(b.Max[1]/segCell)); cy++ {
			ix.cells[[2]int{cx, cy}] = append(ix.cells[[2]int{cx, cy}], i)
		}
	}
}

// near calls fn once for every segment whose cells meet the rectangle.
func (ix *segIndex) near(a rect, fn func(s demoSeg)) {
	seen := map[int]bool{}
	for cx := int(math.Floor(a.x0 / segCell)); cx <= int(math.Floor(a.x1/segCell)); cx++ {
		for cy := int(math.Floor(a.y0 / segCell)); cy <= int(math.Floor(a.y1/segCell)); cy++ {
			for _, i := range ix.cells[[2]int{cx, cy}] {
				if !seen[i] {
					seen[i] = true
					fn(ix.segs[i])
				}
			}
		}
	}
}

// polyHitsRect says whether the polygon and the rectangle share any point.
func polyHitsRect(poly orb.Polygon, a rect) bool {
	for _, c := range []orb.Point{{a.x0, a.y0}, {a.x1, a.y0}, {a.x1, a.y1}, {a.x0, a.y1}} {
		if planar.PolygonContains(poly, c) {
			return true
		}
	}
	return ringsHitRect(poly, a)
}

// ringsHitRect says whether an edge of the polygon meets the rectangle.
func ringsHitRect(poly orb.Polygon, a rect) bool {
	for _, ring := range poly {
		for i := 0; i+1 < len(ring); i++ {
			if ok, _ := segInRect(ring[i], ring[i+1], a); ok {
				return true
			}
		}
	}
	return false
}

// polyHoldsRect says whether the rectangle lies strictly inside the polygon.
func polyHoldsRect(poly orb.Polygon, a rect) bool {
	for _, c := range []orb.Point{{a.x0, a.y0}, {a.x1, a.y0}, {a.x1, a.y1}, {a.x0, a.y1}} {
		if !planar.PolygonContains(poly, c) {
			return false
		}
	}
	return !ringsHitRect(poly, a)
}

// DemoBuildings generates a synthetic building layer over the grids: in
// each grid, footprints of the kinds above are tried at random points,
// courtyards and low blocks the more often the denser the lanes around the
// grid, and kept when they lie inside the grid, clear of the roads and the
// sites of DemoNoBuildingSites, and apart from the grid's other buildings.
// Residents are 2 to 4 a household, 2.65 on average. Blocks are named N号楼 by grid,
// courtyards after their nearest lane (东四三条5号) or N号院. The same grids,
// roads and seed always give the same buildings.
func DemoBuildings(shapes []GridShape, roads []LineFeature, seed uint64) []BuildingFeature {
	r := rand.New(rand.NewPCG(seed, 0xb1d9))
	fr := localFrame{lon0: 116.4, lat0: 39.9, mx: metresPerDegree * math.Cos(39.9*math.Pi/180)}
	ix := &segIndex{cells: map[[2]int][]int{}}
	for _, l := range roads {
		c, ok := DemoClearanceM[l.Class]
		if !ok {
			c = DemoClearanceM["lane"]
		}
		for _, ls := range l.Geom {
			for i := 0; i+1 < len(ls); i++ {
				ix.add(demoSeg{fr.to(ls[i]), fr.to(ls[i+1]), c, l.Class == "lane", l.Name})
			}
		}
	}
	sites := make([]orb.Polygon, len(DemoNoBuildingSites))
	for i, s := range DemoNoBuildingSites {
		sites[i] = fr.polygon(s.Geom)
	}
	laneNumbers := map[string]int{}
	var out []BuildingFeature
	for _, g := range shapes {
		if len(g.Geom) == 0 || len(g.Geom[0]) < 4 {
			continue
		}
		poly := fr.polygon(g.Geom)
		b := poly.Bound()
		box := rect{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		area := planar.Area(poly)
		if area < 400 {
			continue
		}
		// Lane density around the grid, in km of lane per km².
		around := box.grow(60)
		var lanes float64
		ix.near(around, func(s demoSeg) {
			if s.lane {
				_, l := segInRect(s.p, s.q, around)
				lanes += l
			}
		})
		density := lanes / ((around.x1 - around.x0) * (around.y1 - around.y0)) * 1000
		hutong := math.Min(0.9, math.Max(0.1, (density-4)/8))
		var placed []rect
		var gaps []float64
		blocks := 0
		tries := int(area/250) + 4
		for try := 0; try < tries; try++ {
			var k demoKind
			switch x := r.Float64(); {
			case x < hutong*0.85:
				k = demoCourtyard
			case x < hutong:
				k = demoLowBlock
			case x < hutong+(1-hutong)*0.7:
				k = demoSlab
			default:
				k = demoTower
			}
			// Open ground, schools, offices and shops: not every spot
			// away from the lanes holds housing.
			if !k.courtyard && r.Float64() < 0.5 {
				continue
			}
			w := k.w0 + r.Float64()*(k.w1-k.w0)
			d := k.d0 + r.Float64()*(k.d1-k.d0)
			x := box.x0 + r.Float64()*(box.x1-box.x0-w)
			y := box.y0 + r.Float64()*(box.y1-box.y0-d)
			a := rect{x, y, x + w, y + d}
			if a.x1 > box.x1 || a.y1 > box.y1 || !polyHoldsRect(poly, a.grow(0.5)) {
				continue
			}
			ok := true
			for i, p := range placed {
				if a.grow(math.Max(k.gapM, gaps[i])).overlaps(p) {
					ok = false
					break
				}
			}
			for _, s := range sites {
				if ok && polyHitsRect(s, a) {
					ok = false
				}
			}
			nearest, nearestD := "", math.Inf(1)
			if ok {
				ix.near(a.grow(30), func(s demoSeg) {
					if hit, _ := segInRect(s.p, s.q, a.grow(s.clearance)); hit {
						ok = false
					}
					if s.lane && s.name != "" {
						if hit, _ := segInRect(s.p, s.q, a.grow(12)); hit {
							c := orb.Point{(a.x0 + a.x1) / 2, (a.y0 + a.y1) / 2}
							if dd := planar.DistanceFromSegment(s.p, s.q, c); dd < nearestD {
								nearest, nearestD = s.name, dd
							}
						}
					}
				})
			}
			if !ok {
				continue
			}
			placed, gaps = append(placed, a), append(gaps, k.gapM)
			hh := k.households(r, w, d)
			f := BuildingFeature{Index: len(out), Households: hh}
			for i := 0; i < hh; i++ {
				f.Residents += 2 + r.IntN(2) // 2 or 3 ...
				if r.Float64() < 0.15 {
					f.Residents++ // ... and some larger families: 2.65 a household
				}
			}
			switch {
			case k.courtyard && nearest != "":
				laneNumbers[nearest]++
				f.Name = fmt.Sprintf("%s%d号", nearest, laneNumbers[nearest])
			case k.courtyard:
				blocks++
				f.Name = fmt.Sprintf("%d号院", blocks)
			default:
				blocks++
				f.Name = fmt.Sprintf("%d号楼", blocks)
			}
			f.Geom = orb.Polygon{{fr.from(a.x0, a.y0), fr.from(a.x1, a.y0), fr.from(a.x1, a.y1), fr.from(a.x0, a.y1), fr.from(a.x0, a.y0)}}
			out = append(out, f)
		}
	}
	return out
}
