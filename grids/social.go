package grids

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Social-management grids (社会管理网格) group whole unit grids of one
// community so that each holds about a target number of households (户数),
// and optionally of residents. PartitionSocial computes the groups of one
// community from its unit grids' totals and their adjacency; it is pure and
// deterministic: the same community and target always give the same groups,
// numbered by their smallest unit-grid code.
//
// The algorithm:
//
//  1. The unit grids form a graph whose edges are the boundaries two grids
//     share, weighted by the shared length (a boundary along a road counts
//     SocialRoadFactor of its length, so cuts prefer roads). Each connected
//     part of the community is partitioned on its own.
//  2. A part of load W (households / target, or the mean of that and
//     residents / resident target) gets k = max(1, round(W)) groups, at most
//     one per unit grid. A unit grid above SocialOutsizeGrid cannot share
//     its group without making it worse: it counts as one group and the
//     rest of the part is divided by its own load.
//  3. Seeds: grids at or above the target first (heaviest first), then
//     farthest-point seeding on the graph (hop distance, ties to the smaller
//     code), starting from the grid farthest from the smallest code.
//  4. Growth: the lightest group that can still grow takes the unassigned
//     neighbour that adds the least cut length (ties: nearest its seed, then
//     smallest code), until every grid is assigned.
//  5. Improvement: a boundary grid moves to a neighbouring group when that
//     lowers Σload² + SocialCompactness·cut/typical edge (with k fixed,
//     Σload² falls as the loads even out), and the group it leaves stays
//     connected and non-empty. Moves repeat until none helps. Balancing
//     counts each grid SocialGridWeight more than its load, so that empty
//     grids are shared out too.
//  6. Steps 3-5 run from socialRestarts seedings (the farthest-point one,
//     then farthest-point from grids spread through the code order) and the
//     best result is kept: fewest groups outside ±SocialTolerance, then the
//     least imbalance, then the shortest cut.

// SocialTolerance is the balance aimed for: a social grid within ±30% of
// the target is on target.
const SocialTolerance = 0.30

// SocialOutsizeGrid is the load above which a single unit grid makes its
// social grid too big, whatever the partition.
const SocialOutsizeGrid = 1.3

// SocialRoadFactor is how much of its length a shared boundary along a road
// counts when measuring cuts: cutting along roads is cheaper.
const SocialRoadFactor = 0.25

// SocialCompactness weighs the cut length (in typical shared boundaries)
// against the imbalance Σload² when improving a partition.
const SocialCompactness = 0.01

// SocialGridWeight is what each unit grid adds to its group's load when
// balancing (not when reporting): empty grids (parks, schools, water) are
// shared out too instead of drifting to one group and walling in another.
const SocialGridWeight = 0.02

// SocialUnit is one unit grid as the partition sees it.
type SocialUnit struct {
	Code       string `json:"code"`
	Households int    `json:"households"`
	Residents  int    `json:"residents"`
}

// SocialEdge says unit grids A and B share a boundary LengthM metres long;
// Road when that boundary lies along a road.
type SocialEdge struct {
	A       string  `json:"a"`
	B       string  `json:"b"`
	LengthM float64 `json:"length_m"`
	Road    bool    `json:"road,omitempty"`
}

// SocialCommunity is one community's current unit grids and their
// adjacency: what partitioning its social grids needs.
type SocialCommunity struct {
	Code  string       `json:"code"`
	Units []SocialUnit `json:"units"`
	Edges []SocialEdge `json:"edges"`
}

// SocialTarget is the size of a social grid: households per grid and,
// when not 0, residents per grid too. At least one is positive.
type SocialTarget struct {
	Households int `json:"households"`
	Residents  int `json:"residents,omitempty"`
}

// Validate checks the target on its own.
func (t SocialTarget) Validate() error {
	if t.Households < 0 {
		return Invalid("target_households", "must be a positive number of households, got %d", t.Households)
	}
	if t.Residents < 0 {
		return Invalid("target_residents", "must be a positive number of residents, got %d", t.Residents)
	}
	if t.Households == 0 && t.Residents == 0 {
		return Invalid("target_households", "a social grid needs a target number of households or residents")
	}
	return nil
}

// Load is households and residents against the target: 1 is on target.
// With both targets it is the mean of the two ratios.
func (t SocialTarget) Load(households, residents int) float64 {
	var sum float64
	var n int
	if t.Households > 0 {
		sum += float64(households) / float64(t.Households)
		n++
	}
	if t.Residents > 0 {
		sum += float64(residents) / float64(t.Residents)
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func (t SocialTarget) String() string {
	switch {
	case t.Households > 0 && t.Residents > 0:
		return fmt.Sprintf("%d households and %d residents", t.Households, t.Residents)
	case t.Residents > 0:
		return fmt.Sprintf("%d residents", t.Residents)
	}
	return fmt.Sprintf("%d households", t.Households)
}

// SocialGroup is one social grid: its number in the community (1, 2, ...
// by smallest unit-grid code), its unit grids in code order and totals.
type SocialGroup struct {
	Number     int      `json:"number"`
	Grids      []string `json:"grids"`
	Households int      `json:"households"`
	Residents  int      `json:"residents"`
	// Load is the group against the target (SocialTarget.Load).
	Load float64 `json:"load"`
}

// SocialQuality is how well a community's social grids meet the target.
type SocialQuality struct {
	Community  string `json:"community"`
	UnitGrids  int    `json:"unit_grids"`
	Households int    `json:"households"`
	Residents  int    `json:"residents"`
	// Parts is how many separate (not adjacent) pieces the unit grids form.
	Parts  int `json:"parts"`
	Groups int `json:"groups"`
	// MinLoad, MaxLoad and StdDevLoad spread the groups' loads (1 is on
	// target); Within counts groups within ±SocialTolerance.
	MinLoad    float64 `json:"min_load"`
	MaxLoad    float64 `json:"max_load"`
	StdDevLoad float64 `json:"stddev_load"`
	Within     int     `json:"within_tolerance"`
	// Reasons say why the target cannot be met, when it cannot.
	Reasons []string `json:"reasons,omitempty"`
}

// SocialPartition is a community's social grids and their quality.
type SocialPartition struct {
	Community string        `json:"community"`
	Groups    []SocialGroup `json:"groups"`
	Quality   SocialQuality `json:"quality"`
}

// socialGraph is the community's adjacency by unit-grid index (codes in
// order), with each grid's load and total effective boundary length.
type socialGraph struct {
	codes []string
	units []SocialUnit
	w     []float64
	bw    []float64 // w + SocialGridWeight: what balancing moves
	adj   [][]socialArc
	deg   []float64
	lref  float64
}

type socialArc struct {
	to int
	l  float64
}

// PartitionSocial partitions one community's unit grids into social grids
// of about the target. An *InvalidError for a bad target, repeated or
// foreign unit grids, or an edge naming a grid not listed.
func PartitionSocial(c SocialCommunity, t SocialTarget) (SocialPartition, error) {
	if err := t.Validate(); err != nil {
		return SocialPartition{}, err
	}
	g, err := newSocialGraph(c, t)
	if err != nil {
		return SocialPartition{}, err
	}
	out := SocialPartition{Community: c.Code}
	q := &out.Quality
	q.Community, q.UnitGrids = c.Code, len(g.codes)
	for _, u := range g.units {
		q.Households += u.Households
		q.Residents += u.Residents
	}
	if len(g.codes) == 0 {
		q.Reasons = append(q.Reasons, "community has no unit grids")
		return out, nil
	}

	label := make([]int, len(g.codes))
	parts := g.components()
	q.Parts = len(parts)
	next := 0
	var short []string
	for _, nodes := range parts {
		// A grid above SocialOutsizeGrid makes a group on its own: it counts
		// one group, and the rest of the part is divided by its own load.
		var hh, res, outsize int
		for _, i := range nodes {
			if g.w[i] > SocialOutsizeGrid {
				outsize++
				continue
			}
			hh += g.units[i].Households
			res += g.units[i].Residents
		}
		load := t.Load(hh, res)
		k := outsize + int(math.Round(load))
		if k < 1 {
			k = 1
		}
		if k > len(nodes) {
			short = append(short, fmt.Sprintf("%d unit grids hold %.1f× the target", len(nodes), load))
			k = len(nodes)
		}
		local := g.partition(nodes, k)
		for j, i := range nodes {
			label[i] = next + local[j]
		}
		next += k
	}

	// Number the groups by their smallest code: grids are indexed in code
	// order, so by the first index met.
	number := map[int]int{}
	for i := range g.codes {
		if _, ok := number[label[i]]; !ok {
			number[label[i]] = len(number)
			out.Groups = append(out.Groups, SocialGroup{Number: len(number)})
		}
		gr := &out.Groups[number[label[i]]]
		gr.Grids = append(gr.Grids, g.codes[i])
		gr.Households += g.units[i].Households
		gr.Residents += g.units[i].Residents
	}
	q.Groups = len(out.Groups)
	q.MinLoad = math.Inf(1)
	q.MaxLoad = math.Inf(-1)
	var sum, sum2 float64
	for i := range out.Groups {
		gr := &out.Groups[i]
		gr.Load = t.Load(gr.Households, gr.Residents)
		q.MinLoad = math.Min(q.MinLoad, gr.Load)
		q.MaxLoad = math.Max(q.MaxLoad, gr.Load)
		sum += gr.Load
		sum2 += gr.Load * gr.Load
		if math.Abs(gr.Load-1) <= SocialTolerance+1e-9 {
			q.Within++
		}
	}
	mean := sum / float64(q.Groups)
	q.StdDevLoad = math.Sqrt(math.Max(0, sum2/float64(q.Groups)-mean*mean))

	// Reasons, most specific first.
	total := t.Load(q.Households, q.Residents)
	if q.Parts > 1 {
		firsts := make([]string, len(parts))
		for i, p := range parts {
			firsts[i] = g.codes[p[0]]
		}
		q.Reasons = append(q.Reasons, fmt.Sprintf("community's unit grids form %d separate parts (from %s): each part has its own social grids",
			q.Parts, strings.Join(firsts, ", ")))
	}
	if total == 0 {
		q.Reasons = append(q.Reasons, "community has no households: one social grid per part")
	} else if q.Parts == 1 && q.Groups == 1 && total < 1-SocialTolerance {
		q.Reasons = append(q.Reasons, fmt.Sprintf("community has %s, %.0f%% of the target of %s: one social grid",
			socialAmount(t, q.Households, q.Residents), 100*total, t))
	}
	if q.Groups == 1 && q.UnitGrids == 1 && total > 1+SocialTolerance {
		q.Reasons = append(q.Reasons, fmt.Sprintf("community has one unit grid holding %s, %.1f× the target of %s",
			socialAmount(t, q.Households, q.Residents), total, t))
	}
	for i, w := range g.w {
		if w > SocialOutsizeGrid && q.UnitGrids > 1 {
			q.Reasons = append(q.Reasons, fmt.Sprintf("unit grid %s holds %s, %.1f× the target of %s: its social grid cannot be within ±%.0f%%",
				g.codes[i], socialAmount(t, g.units[i].Households, g.units[i].Residents), w, t, 100*SocialTolerance))
		}
	}
	for _, s := range short {
		q.Reasons = append(q.Reasons, s+": too few unit grids for social grids of the target")
	}
	if len(q.Reasons) == 0 && q.Within < q.Groups && q.Parts == 1 && q.Groups == 1 && total > 1+SocialTolerance {
		q.Reasons = append(q.Reasons, fmt.Sprintf("community has %s, %.1f× the target of %s, but its unit grids make one social grid",
			socialAmount(t, q.Households, q.Residents), total, t))
	}
	if len(q.Reasons) == 0 && q.Within < q.Groups {
		q.Reasons = append(q.Reasons, fmt.Sprintf("%d of %d social grids are outside ±%.0f%% of the target: the unit grids (%s in all, %.2f targets) do not divide more evenly",
			q.Groups-q.Within, q.Groups, 100*SocialTolerance, socialAmount(t, q.Households, q.Residents), total))
	}
	return out, nil
}

func socialAmount(t SocialTarget, households, residents int) string {
	switch {
	case t.Households > 0 && t.Residents > 0:
		return fmt.Sprintf("%d households and %d residents", households, residents)
	case t.Residents > 0:
		return fmt.Sprintf("%d residents", residents)
	}
	return fmt.Sprintf("%d households", households)
}

func newSocialGraph(c SocialCommunity, t SocialTarget) (*socialGraph, error) {
	units := append([]SocialUnit(nil), c.Units...)
	sort.Slice(units, func(i, j int) bool { return units[i].Code < units[j].Code })
	g := &socialGraph{units: units}
	index := map[string]int{}
	for i, u := range units {
		if _, dup := index[u.Code]; dup {
			return nil, Invalid("grids", "unit grid %s is listed twice", u.Code)
		}
		if c.Code != "" && !strings.HasPrefix(u.Code, c.Code) {
			return nil, Invalid("grids", "unit grid %s is not in community %s", u.Code, c.Code)
		}
		if u.Households < 0 || u.Residents < 0 {
			return nil, Invalid("grids", "unit grid %s has %d households and %d residents", u.Code, u.Households, u.Residents)
		}
		index[u.Code] = i
		g.codes = append(g.codes, u.Code)
		g.w = append(g.w, t.Load(u.Households, u.Residents))
		g.bw = append(g.bw, g.w[len(g.w)-1]+SocialGridWeight)
	}
	n := len(units)
	pair := map[[2]int]float64{}
	for _, e := range c.Edges {
		a, okA := index[e.A]
		b, okB := index[e.B]
		if !okA || !okB {
			return nil, Invalid("edges", "edge %s-%s names a unit grid not in the community", e.A, e.B)
		}
		if a == b || !(e.LengthM > 0) || math.IsInf(e.LengthM, 0) {
			return nil, Invalid("edges", "edge %s-%s of %v m is not a boundary two grids share", e.A, e.B, e.LengthM)
		}
		if a > b {
			a, b = b, a
		}
		l := e.LengthM
		if e.Road {
			l *= SocialRoadFactor
		}
		pair[[2]int{a, b}] += l
	}
	g.adj = make([][]socialArc, n)
	g.deg = make([]float64, n)
	var lens []float64
	for p, l := range pair {
		g.adj[p[0]] = append(g.adj[p[0]], socialArc{p[1], l})
		g.adj[p[1]] = append(g.adj[p[1]], socialArc{p[0], l})
		g.deg[p[0]] += l
		g.deg[p[1]] += l
		lens = append(lens, l)
	}
	for i := range g.adj {
		sort.Slice(g.adj[i], func(a, b int) bool { return g.adj[i][a].to < g.adj[i][b].to })
	}
	sort.Float64s(lens)
	g.lref = 1
	if len(lens) > 0 {
		g.lref = lens[len(lens)/2]
	}
	return g, nil
}

// components lists the connected parts, each in index order, ordered by
// their first index.
func (g *socialGraph) components() [][]int {
	seen := make([]bool, len(g.codes))
	var out [][]int
	for s := range g.codes {
		if seen[s] {
			continue
		}
		seen[s] = true
		part := []int{s}
		for q := 0; q < len(part); q++ {
			for _, a := range g.adj[part[q]] {
				if !seen[a.to] {
					seen[a.to] = true
					part = append(part, a.to)
				}
			}
		}
		sort.Ints(part)
		out = append(out, part)
	}
	return out
}

// hops is the number of shared boundaries from s to each grid of its part
// (-1 elsewhere).
func (g *socialGraph) hops(s int) []int {
	d := make([]int, len(g.codes))
	for i := range d {
		d[i] = -1
	}
	d[s] = 0
	q := []int{s}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		for _, a := range g.adj[v] {
			if d[a.to] < 0 {
				d[a.to] = d[v] + 1
				q = append(q, a.to)
			}
		}
	}
	return d
}

// partition splits one connected part into k groups, labelled 0..k-1 in
// the order of nodes.
func (g *socialGraph) partition(nodes []int, k int) []int {
	if k == 1 {
		return make([]int, len(nodes))
	}
	// Grow and improve from a few seedings, keeping the best: fewest
	// groups outside the tolerance, then least imbalance, then least cut.
	var best []int
	var bestScore [3]float64
	for v := 0; v < socialRestarts && v < len(nodes); v++ {
		start := -1 // farthest from the smallest code
		if v > 0 {
			start = nodes[v*len(nodes)/socialRestarts]
		}
		label, load := g.grow(nodes, k, start)
		g.improve(nodes, label, load)
		score := g.score(nodes, label, load)
		if best == nil || score[0] < bestScore[0] ||
			(score[0] == bestScore[0] && (score[1] < bestScore[1]-1e-9 ||
				(math.Abs(score[1]-bestScore[1]) <= 1e-9 && score[2] < bestScore[2]-1e-9))) {
			best, bestScore = localLabels(label, nodes), score
		}
	}
	return best
}

// socialRestarts is how many seedings partition tries.
const socialRestarts = 8

// score rates a partition of a part: groups outside the tolerance,
// Σload² (balancing loads), cut length.
func (g *socialGraph) score(nodes []int, label []int, load []float64) [3]float64 {
	var s [3]float64
	real := make([]float64, len(load))
	for _, i := range nodes {
		real[label[i]] += g.w[i]
	}
	for r, l := range real {
		if math.Abs(l-1) > SocialTolerance+1e-9 {
			s[0]++
		}
		s[1] += sq(load[r])
	}
	for _, i := range nodes {
		for _, e := range g.adj[i] {
			if e.to > i && label[e.to] != label[i] {
				s[2] += e.l
			}
		}
	}
	return s
}

// grow seeds k groups (the first farthest-point seed at start, or chosen
// when start is -1) and grows the lightest group that can until the part
// is covered.
func (g *socialGraph) grow(nodes []int, k, start int) ([]int, []float64) {
	label := make([]int, len(g.codes))
	for i := range label {
		label[i] = -2 // not in this part
	}
	for _, i := range nodes {
		label[i] = -1
	}
	seeds := g.seeds(nodes, k, start)
	dist := make([][]int, k)
	load := make([]float64, k)
	for r, s := range seeds {
		dist[r] = g.hops(s)
		label[s] = r
		load[r] = g.bw[s]
	}
	// Grow the lightest group that can.
	stuck := make([]bool, k)
	left := len(nodes) - k
	for left > 0 {
		r := -1
		for j := 0; j < k; j++ {
			if !stuck[j] && (r < 0 || load[j] < load[r]) {
				r = j
			}
		}
		if r < 0 { // cannot happen in a connected part; stay safe
			for _, i := range nodes {
				if label[i] == -1 {
					for _, a := range g.adj[i] {
						if label[a.to] >= 0 {
							label[i] = label[a.to]
							left--
							break
						}
					}
				}
			}
			continue
		}
		best, bestCut, bestDist := -1, 0.0, 0
		for _, i := range nodes {
			if label[i] != -1 {
				continue
			}
			var s float64
			touches := false
			for _, a := range g.adj[i] {
				if label[a.to] == r {
					s += a.l
					touches = true
				}
			}
			if !touches {
				continue
			}
			cut := g.deg[i] - 2*s
			d := dist[r][i]
			if best < 0 || cut < bestCut-1e-9 || (math.Abs(cut-bestCut) <= 1e-9 && d < bestDist) {
				best, bestCut, bestDist = i, cut, d
			}
		}
		if best < 0 {
			stuck[r] = true
			continue
		}
		label[best] = r
		load[r] += g.bw[best]
		left--
	}
	return label, load
}

// localLabels renumbers the groups of a part 0..k-1 in the order of nodes.
func localLabels(label []int, nodes []int) []int {
	m := map[int]int{}
	out := make([]int, len(nodes))
	for j, i := range nodes {
		if _, ok := m[label[i]]; !ok {
			m[label[i]] = len(m)
		}
		out[j] = m[label[i]]
	}
	return out
}

// seeds picks k well-separated grids of a part: those at or above the
// target first, then start (when not -1), then farthest-point on hop
// distance.
func (g *socialGraph) seeds(nodes []int, k, start int) []int {
	heavy := []int{}
	for _, i := range nodes {
		if g.w[i] >= 1 {
			heavy = append(heavy, i)
		}
	}
	sort.SliceStable(heavy, func(a, b int) bool { return g.w[heavy[a]] > g.w[heavy[b]] })
	if len(heavy) > k {
		heavy = heavy[:k]
	}
	var seeds []int
	minD := map[int]int{}
	add := func(s int) {
		seeds = append(seeds, s)
		d := g.hops(s)
		for _, i := range nodes {
			if v, ok := minD[i]; !ok || d[i] < v {
				minD[i] = d[i]
			}
		}
	}
	for _, s := range heavy {
		add(s)
	}
	if start >= 0 && len(seeds) < k && minD[start] != 0 {
		add(start)
	}
	if len(seeds) == 0 {
		d := g.hops(nodes[0])
		far := nodes[0]
		for _, i := range nodes {
			if d[i] > d[far] {
				far = i
			}
		}
		add(far)
	}
	for len(seeds) < k {
		far := -1
		for _, i := range nodes {
			if minD[i] > 0 && (far < 0 || minD[i] > minD[far]) {
				far = i
			}
		}
		add(far)
	}
	return seeds
}

// improve moves boundary grids between neighbouring groups while that lowers
// Σload² + SocialCompactness·cut/lref, keeping every group connected.
func (g *socialGraph) improve(nodes []int, label []int, load []float64) {
	size := make([]int, len(load))
	for _, i := range nodes {
		size[label[i]]++
	}
	limit := 50 * len(nodes)
	for moves := 0; moves < limit; {
		moved := false
		for _, i := range nodes {
			a := label[i]
			if size[a] < 2 {
				continue
			}
			// Shared length with each neighbouring group.
			shared := map[int]float64{}
			for _, e := range g.adj[i] {
				shared[label[e.to]] += e.l
			}
			best, bestDelta := -1, -1e-9
			wi := g.bw[i]
			for b, sb := range shared {
				if b == a {
					continue
				}
				bal := 2 * wi * (wi + load[b] - load[a]) // change of Σ load²
				delta := bal + SocialCompactness*(shared[a]-sb)/g.lref
				if delta < bestDelta-1e-12 || (best >= 0 && math.Abs(delta-bestDelta) <= 1e-12 && b < best) {
					best, bestDelta = b, delta
				}
			}
			if best < 0 || !g.connectedWithout(label, a, i) {
				continue
			}
			label[i] = best
			load[a] -= wi
			load[best] += wi
			size[a]--
			size[best]++
			moved = true
			moves++
		}
		if !moved {
			break
		}
	}
}

func sq(x float64) float64 { return x * x }

// connectedWithout reports whether group r stays connected once grid x
// leaves it.
func (g *socialGraph) connectedWithout(label []int, r, x int) bool {
	start, total := -1, 0
	for _, e := range g.adj[x] {
		if label[e.to] == r {
			start = e.to
			break
		}
	}
	if start < 0 {
		return false // x is r's only grid, or r is already split
	}
	for i := range label {
		if label[i] == r && i != x {
			total++
		}
	}
	seen := map[int]bool{start: true}
	q := []int{start}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		for _, e := range g.adj[v] {
			if e.to != x && label[e.to] == r && !seen[e.to] {
				seen[e.to] = true
				q = append(q, e.to)
			}
		}
	}
	return len(seen) == total
}
