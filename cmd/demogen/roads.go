package main

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// road is one output line of the synthetic road network (EPSG:4326).
type road struct {
	ID    int
	Class string // arterial | lane
	Name  string
	Line  orb.LineString
}

// Road network parameters, in metres (EPSG:4548). The unit-grid builder cuts
// each community by these lines into blocks and then splits or merges blocks
// into ~10,000 m² unit grids, so the lane spacing aims at blocks of roughly
// 15,000-60,000 m²: E-W lanes every 100-180 m, N-S lanes every 200-350 m,
// each line broken into runs with gaps so that many lanes dead-end inside a
// block (dead ends do not cut blocks) while others run through.
const (
	arterialMin, arterialMax = 1000.0, 1500.0 // spacing of straight avenues
	ewLaneMin, ewLaneMax     = 100.0, 180.0   // spacing of E-W lanes (hutong)
	nsLaneMin, nsLaneMax     = 200.0, 350.0   // spacing of N-S lanes
	laneRunMin, laneRunMax   = 800.0, 3500.0  // length of one lane run
	laneGapMin, laneGapMax   = 20.0, 150.0    // gap between runs on one line
	laneAvoidArterial        = 60.0           // no parallel lane this close to an avenue
	boundaryRoadMinLen       = 400.0          // shortest street boundary used as a road
	boundaryRoadShare        = 0.6            // share of street boundaries that are avenues
	minRoadLen               = 30.0           // drop clipped pieces shorter than this
)

// rawRoad is a road before clipping, in EPSG:4548.
type rawRoad struct {
	class, name string
	line        orb.LineString
}

// buildRoads generates the network into the temporary table demo_road
// (EPSG:4326, clipped to the district) and loads it into g.roads.
func (g *gen) buildRoads() error {
	b := g.outline.Bound()
	var raws []rawRoad

	// Straight-ish avenues (大街) across the whole district, N-S and E-W.
	var nsArt, ewArt []float64
	for x := b.Min[0] + g.uniform(600, 1100); x < b.Max[0]-400; x += g.uniform(arterialMin, arterialMax) {
		nsArt = append(nsArt, x)
		raws = append(raws, rawRoad{"arterial", "南北" + chineseNum(len(nsArt)) + "大街",
			g.wobbly(pt{x, b.Min[1] - 200}, pt{x, b.Max[1] + 200}, 500, 12)})
	}
	for y := b.Max[1] - g.uniform(600, 1100); y > b.Min[1]+400; y -= g.uniform(arterialMin, arterialMax) {
		ewArt = append(ewArt, y)
		raws = append(raws, rawRoad{"arterial", "东西" + chineseNum(len(ewArt)) + "大街",
			g.wobbly(pt{b.Min[0] - 200, y}, pt{b.Max[0] + 200, y}, 500, 12)})
	}
	nearAny := func(v float64, lines []float64) bool {
		for _, l := range lines {
			if math.Abs(v-l) < laneAvoidArterial {
				return true
			}
		}
		return false
	}

	// Hutong-like lanes: E-W lines (条) numbered north to south, N-S lanes
	// (巷) numbered west to east; each line is a series of runs with gaps.
	n := 0
	for y := b.Max[1] - g.uniform(40, 120); y > b.Min[1]; y -= g.uniform(ewLaneMin, ewLaneMax) {
		if nearAny(y, ewArt) {
			continue
		}
		n++
		name := "横" + chineseNum(n) + "条"
		for x := b.Min[0] - g.uniform(0, 300); x < b.Max[0]; {
			run := g.uniform(laneRunMin, laneRunMax)
			tilt := g.uniform(-6, 6)
			raws = append(raws, rawRoad{"lane", name, g.wobbly(pt{x, y - tilt}, pt{x + run, y + tilt}, 150, 3)})
			x += run + g.uniform(laneGapMin, laneGapMax)
		}
	}
	n = 0
	for x := b.Min[0] + g.uniform(60, 200); x < b.Max[0]; x += g.uniform(nsLaneMin, nsLaneMax) {
		if nearAny(x, nsArt) {
			continue
		}
		n++
		name := "竖" + chineseNum(n) + "巷"
		for y := b.Max[1] + g.uniform(0, 300); y > b.Min[1]; {
			run := g.uniform(laneRunMin, laneRunMax)
			tilt := g.uniform(-6, 6)
			raws = append(raws, rawRoad{"lane", name, g.wobbly(pt{x - tilt, y}, pt{x + tilt, y - run}, 150, 3)})
			y -= run + g.uniform(laneGapMin, laneGapMax)
		}
	}

	// Clip to the district on the output grid; keep the generation order.
	ords := make([]int32, len(raws))
	classes := make([]string, len(raws))
	names := make([]string, len(raws))
	wkbs := make([][]byte, len(raws))
	for i, r := range raws {
		w, err := wkb.Marshal(r.line)
		if err != nil {
			return err
		}
		ords[i], classes[i], names[i], wkbs[i] = int32(i), r.class, r.name, w
	}
	if err := g.exec(`CREATE TEMP TABLE demo_road AS
		SELECT t.ord, d.path[1] AS part, t.class, t.name, d.geom AS g
		FROM unnest($1::int[], $2::text[], $3::text[], $4::bytea[]) AS t(ord, class, name, w)
		CROSS JOIN demo_district dd
		CROSS JOIN LATERAL ST_Dump(ST_LineMerge(ST_CollectionExtract(ST_Intersection(
			ST_Transform(ST_SetSRID(ST_GeomFromWKB(t.w), $5::int), $6::int), dd.g, $7::float8), 2))) AS d
		WHERE ST_Length(ST_Transform(d.geom, $5::int)) >= $8`,
		ords, classes, names, wkbs, sridPlane, sridWGS84, gridSize, minRoadLen); err != nil {
		return err
	}

	// Avenues along street boundaries: real Dongcheng streets are mostly
	// bounded by avenues, so a share of the lines two streets share become
	// arterials. Their vertices are the streets' own vertices.
	rows, err := g.conn.Query(g.ctx, `
		SELECT a.code, b.code, ST_AsBinary(d.geom)
		FROM demo_street a JOIN demo_street b ON a.code < b.code AND ST_Intersects(a.g, b.g),
		     ST_Dump(ST_LineMerge(ST_CollectionExtract(ST_Intersection(a.g, b.g), 2))) AS d
		WHERE ST_Length(ST_Transform(d.geom, $1::int)) >= $2
		ORDER BY a.code, b.code, d.path[1]`, sridPlane, boundaryRoadMinLen)
	if err != nil {
		return err
	}
	type shared struct {
		a, b string
		w    []byte
	}
	var edges []shared
	for rows.Next() {
		var s shared
		if err := rows.Scan(&s.a, &s.b, &s.w); err != nil {
			return err
		}
		edges = append(edges, s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	k := 0
	for _, e := range edges {
		if g.rng.Float64() >= boundaryRoadShare {
			continue
		}
		k++
		if err := g.exec(`INSERT INTO demo_road VALUES ($1, 1, 'arterial', $2, ST_GeomFromWKB($3, $4::int))`,
			len(raws)+k, "界"+chineseNum(k)+"路", e.w, sridWGS84); err != nil {
			return err
		}
	}

	// Read back: arterials first, then lanes, each in generation order.
	rows, err = g.conn.Query(g.ctx, `SELECT class, name, ST_AsBinary(g) FROM demo_road
		ORDER BY class = 'lane', ord, part`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r road
		var w []byte
		if err := rows.Scan(&r.Class, &r.Name, &w); err != nil {
			return err
		}
		geom, err := wkb.Unmarshal(w)
		if err != nil {
			return err
		}
		ls, ok := geom.(orb.LineString)
		if !ok {
			return fmt.Errorf("road %s: got %s, want LineString", r.Name, geom.GeoJSONType())
		}
		r.ID = len(g.roads) + 1
		r.Line = ls
		g.roads = append(g.roads, r)
	}
	return rows.Err()
}

// uniform returns a random float in [lo, hi).
func (g *gen) uniform(lo, hi float64) float64 { return lo + (hi-lo)*g.rng.Float64() }

// wobbly returns a line from a to b with a vertex about every step metres,
// each moved sideways by up to ±amp metres, so lines look surveyed rather
// than ruled.
func (g *gen) wobbly(a, b pt, step, amp float64) orb.LineString {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l := math.Hypot(dx, dy)
	n := int(math.Max(1, math.Round(l/step)))
	nx, ny := -dy/l, dx/l // unit normal
	ls := make(orb.LineString, 0, n+1)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		off := 0.0
		if i > 0 && i < n {
			off = g.uniform(-amp, amp)
		}
		ls = append(ls, pt{a[0] + t*dx + off*nx, a[1] + t*dy + off*ny})
	}
	return ls
}

// chineseNum writes 1..99 in Chinese numerals, as in road names (东四十条).
func chineseNum(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	if n < 10 {
		return digits[n]
	}
	if n < 100 {
		s := "十"
		if n >= 20 {
			s = digits[n/10] + s
		}
		if n%10 != 0 {
			s += digits[n%10]
		}
		return s
	}
	return fmt.Sprint(n)
}
