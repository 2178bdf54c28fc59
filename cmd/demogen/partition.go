package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"
)

// cell is one community-to-be: a Voronoi cell of a seed, clipped to the
// district, in EPSG:4548.
type cell struct {
	seed     pt
	centroid pt
	geom     orb.Geometry
}

// lloydIterations evens out community areas: each iteration moves every seed
// to the centroid of its clipped cell.
const lloydIterations = 15

// partition places one seed per community and relaxes them, leaving g.cells.
func (g *gen) partition() error {
	n := g.divs.communityCount()
	b := g.outline.Bound()
	poly := orb.Polygon{g.outline}
	seeds := make([]pt, 0, n)
	for len(seeds) < n {
		p := pt{b.Min[0] + g.rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + g.rng.Float64()*(b.Max[1]-b.Min[1])}
		if planar.PolygonContains(poly, p) {
			seeds = append(seeds, p)
		}
	}
	for it := 0; ; it++ {
		cells, err := g.voronoi(seeds)
		if err != nil {
			return err
		}
		if it == lloydIterations {
			g.cells = cells
			return nil
		}
		for i := range seeds {
			seeds[i] = cells[i].centroid
		}
	}
}

// voronoi returns the Voronoi cells of seeds clipped to the district outline,
// in seed order.
func (g *gen) voronoi(seeds []pt) ([]cell, error) {
	xs := make([]float64, len(seeds))
	ys := make([]float64, len(seeds))
	for i, s := range seeds {
		xs[i], ys[i] = s[0], s[1]
	}
	outline, err := wkb.Marshal(orb.Polygon{g.outline})
	if err != nil {
		return nil, err
	}
	rows, err := g.conn.Query(g.ctx, `
WITH d AS (SELECT ST_SetSRID(ST_GeomFromWKB($1), $4::int) AS g),
s AS (
	SELECT t.i, ST_SetSRID(ST_MakePoint(t.x, t.y), $4::int) AS p
	FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS t(x, y, i)
),
v AS (
	SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(s.p), 0, (SELECT ST_Expand(g, 5000) FROM d)))).geom AS g
	FROM s
),
c AS (
	SELECT s.i, ST_Intersection(v.g, d.g) AS g
	FROM s JOIN v ON ST_Intersects(v.g, s.p) CROSS JOIN d
)
SELECT i, ST_AsBinary(g), ST_X(ST_Centroid(g)), ST_Y(ST_Centroid(g)) FROM c ORDER BY i`,
		outline, xs, ys, sridPlane)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cells := make([]cell, 0, len(seeds))
	for rows.Next() {
		var i int64
		var w []byte
		var c cell
		if err := rows.Scan(&i, &w, &c.centroid[0], &c.centroid[1]); err != nil {
			return nil, err
		}
		if int(i) != len(cells)+1 {
			return nil, fmt.Errorf("voronoi: seed %d has no cell or two cells", len(cells)+1)
		}
		if c.geom, err = wkb.Unmarshal(w); err != nil {
			return nil, err
		}
		c.seed = seeds[i-1]
		cells = append(cells, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cells) != len(seeds) {
		return nil, fmt.Errorf("voronoi: %d cells for %d seeds", len(cells), len(seeds))
	}
	return cells, nil
}

// streetOrderNS lists Dongcheng's streets roughly from north to south as they
// lie in reality (和平里 in the far north, 永定门外 in the far south), so the
// synthetic map keeps their relative positions loosely plausible. Streets of
// another CSV not listed here follow in CSV order.
var streetOrderNS = []string{
	"110101010", // 和平里
	"110101004", // 安定门
	"110101003", // 交道口
	"110101009", // 东直门
	"110101005", // 北新桥
	"110101002", // 景山
	"110101006", // 东四
	"110101007", // 朝阳门
	"110101001", // 东华门
	"110101008", // 建国门
	"110101011", // 前门
	"110101012", // 崇文门外
	"110101013", // 东花市
	"110101016", // 天坛
	"110101015", // 体育馆路
	"110101014", // 龙潭
	"110101017", // 永定门外
}

// streetOrder returns indexes into g.divs.streets in the order streets are
// laid out from north to south.
func (g *gen) streetOrder() []int {
	var order []int
	seen := map[int]bool{}
	for _, code := range streetOrderNS {
		if i, ok := g.divs.street(code); ok {
			order = append(order, i)
			seen[i] = true
		}
	}
	for i := range g.divs.streets {
		if !seen[i] {
			order = append(order, i)
		}
	}
	return order
}

// groupCells assigns every cell to a street so that each street gets exactly
// its number of communities and is one contiguous piece.
//
// Cells are ordered boustrophedon-wise: horizontal bands of height band from
// north to south, alternately west-to-east and east-to-west. Streets are then
// grown one after another, in north-to-south order: a street starts at the
// first unassigned cell in that order and repeatedly takes the adjacent
// unassigned cell that comes first in the order, until it has its count.
// Growing along adjacency makes each street contiguous by construction; the
// attempt fails (ok=false) if a street runs out of adjacent cells, which
// happens when earlier streets cut off a pocket. adj[i] lists the cells that
// share a boundary line with cell i.
func groupCells(centroids []pt, adj [][]int, counts []int, order []int, band float64) (street []int, ok bool) {
	n := len(centroids)
	maxY := math.Inf(-1)
	for _, c := range centroids {
		maxY = math.Max(maxY, c[1])
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	bandOf := func(i int) int { return int((maxY - centroids[i][1]) / band) }
	sort.Slice(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		bi, bj := bandOf(i), bandOf(j)
		if bi != bj {
			return bi < bj
		}
		if bi%2 == 0 {
			return centroids[i][0] < centroids[j][0]
		}
		return centroids[i][0] > centroids[j][0]
	})
	rank := make([]int, n)
	for r, i := range idx {
		rank[i] = r
	}

	street = make([]int, n)
	for i := range street {
		street[i] = -1
	}
	next := 0 // position in idx of the first possibly unassigned cell
	for _, s := range order {
		for next < n && street[idx[next]] >= 0 {
			next++
		}
		if next == n {
			return nil, false
		}
		street[idx[next]] = s
		members := []int{idx[next]}
		for len(members) < counts[s] {
			best := -1
			for _, m := range members {
				for _, nb := range adj[m] {
					if street[nb] < 0 && (best < 0 || rank[nb] < rank[best]) {
						best = nb
					}
				}
			}
			if best < 0 {
				return nil, false
			}
			street[best] = s
			members = append(members, best)
		}
	}
	for _, s := range street {
		if s < 0 {
			return nil, false
		}
	}
	return street, true
}
