package grids_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gridd/grids"
)

const socialCommunity = "110101001001"

// lattice is a community of rows×cols unit grids 100 m on a side, coded
// row by row, with the households and residents hh(r, c) gives; cells for
// which keep returns false are left out.
func lattice(rows, cols int, hh func(r, c int) (int, int), keep func(r, c int) bool) grids.SocialCommunity {
	com := grids.SocialCommunity{Code: socialCommunity}
	code := func(r, c int) string { return fmt.Sprintf("%s%03d", socialCommunity, r*cols+c+1) }
	in := func(r, c int) bool {
		return r >= 0 && c >= 0 && r < rows && c < cols && (keep == nil || keep(r, c))
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if !in(r, c) {
				continue
			}
			h, p := hh(r, c)
			com.Units = append(com.Units, grids.SocialUnit{Code: code(r, c), Households: h, Residents: p})
			if in(r, c+1) {
				com.Edges = append(com.Edges, grids.SocialEdge{A: code(r, c), B: code(r, c+1), LengthM: 100})
			}
			if in(r+1, c) {
				com.Edges = append(com.Edges, grids.SocialEdge{A: code(r, c), B: code(r+1, c), LengthM: 100})
			}
		}
	}
	return com
}

// randomLattice is a 10×10 community with 0-80 households a grid and
// about one grid in eight empty (a park, a school).
func randomLattice(seed int64) grids.SocialCommunity {
	rng := rand.New(rand.NewSource(seed))
	return lattice(10, 10, func(r, c int) (int, int) {
		if rng.Intn(8) == 0 {
			return 0, 0
		}
		h := rng.Intn(81)
		return h, h*2 + rng.Intn(h+1)
	}, nil)
}

// checkPartition asserts the invariants every partition keeps: each grid
// in exactly one group, each group connected through shared boundaries,
// totals adding up, groups numbered 1.. by smallest code.
func checkPartition(t *testing.T, com grids.SocialCommunity, p grids.SocialPartition) {
	t.Helper()
	units := map[string]grids.SocialUnit{}
	for _, u := range com.Units {
		units[u.Code] = u
	}
	adj := map[string][]string{}
	for _, e := range com.Edges {
		adj[e.A] = append(adj[e.A], e.B)
		adj[e.B] = append(adj[e.B], e.A)
	}
	seen := map[string]int{}
	prevFirst := ""
	for i, g := range p.Groups {
		if g.Number != i+1 {
			t.Errorf("group %d numbered %d", i+1, g.Number)
		}
		if len(g.Grids) == 0 {
			t.Fatalf("group %d is empty", g.Number)
		}
		if !sort.StringsAreSorted(g.Grids) {
			t.Errorf("group %d grids not in code order: %v", g.Number, g.Grids)
		}
		if g.Grids[0] <= prevFirst {
			t.Errorf("group %d starts at %s, after %s: not numbered by smallest code", g.Number, g.Grids[0], prevFirst)
		}
		prevFirst = g.Grids[0]
		var h, r int
		member := map[string]bool{}
		for _, c := range g.Grids {
			if n, dup := seen[c]; dup {
				t.Errorf("grid %s in groups %d and %d", c, n, g.Number)
			}
			seen[c] = g.Number
			member[c] = true
			h += units[c].Households
			r += units[c].Residents
		}
		if h != g.Households || r != g.Residents {
			t.Errorf("group %d says %d/%d, grids hold %d/%d", g.Number, g.Households, g.Residents, h, r)
		}
		// BFS within the group.
		reached := map[string]bool{g.Grids[0]: true}
		q := []string{g.Grids[0]}
		for len(q) > 0 {
			v := q[0]
			q = q[1:]
			for _, w := range adj[v] {
				if member[w] && !reached[w] {
					reached[w] = true
					q = append(q, w)
				}
			}
		}
		if len(reached) != len(g.Grids) {
			t.Errorf("group %d is not connected: %d of %d grids reached from %s", g.Number, len(reached), len(g.Grids), g.Grids[0])
		}
	}
	if len(seen) != len(com.Units) {
		t.Errorf("%d of %d grids in a group", len(seen), len(com.Units))
	}
	if p.Quality.Groups != len(p.Groups) {
		t.Errorf("quality says %d groups, %d made", p.Quality.Groups, len(p.Groups))
	}
}

func totalHouseholds(com grids.SocialCommunity) int {
	var n int
	for _, u := range com.Units {
		n += u.Households
	}
	return n
}

func TestSocialRandomLatticesBalanced(t *testing.T) {
	target := grids.SocialTarget{Households: 300}
	var groups, within int
	worst, stddev := 0.0, 0.0
	for seed := int64(1); seed <= 20; seed++ {
		com := randomLattice(seed)
		p, err := grids.PartitionSocial(com, target)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, com, p)
		want := int(math.Round(float64(totalHouseholds(com)) / 300))
		if len(p.Groups) != want {
			t.Errorf("seed %d: %d groups for %d households, want %d", seed, len(p.Groups), totalHouseholds(com), want)
		}
		q := p.Quality
		groups += q.Groups
		within += q.Within
		worst = math.Max(worst, math.Max(q.MaxLoad-1, 1-q.MinLoad))
		stddev += q.StdDevLoad
		if q.Within < q.Groups {
			t.Logf("seed %d: loads %.2f-%.2f within %d/%d reasons %q", seed, q.MinLoad, q.MaxLoad, q.Within, q.Groups, q.Reasons)
		}
		if float64(q.Within) < 0.9*float64(q.Groups) {
			t.Errorf("seed %d: %d of %d groups within ±30%%: loads %.2f-%.2f, reasons %v", seed, q.Within, q.Groups, q.MinLoad, q.MaxLoad, q.Reasons)
		}
		if q.Within < q.Groups && len(q.Reasons) == 0 {
			t.Errorf("seed %d: groups outside tolerance without a reason", seed)
		}
	}
	t.Logf("20 random 10×10 communities: %d of %d groups within ±30%%, worst deviation %.0f%%, mean stddev %.3f of the target",
		within, groups, 100*worst, stddev/20)
}

func TestSocialDeterministic(t *testing.T) {
	com := randomLattice(7)
	target := grids.SocialTarget{Households: 300, Residents: 900}
	first, err := grids.PartitionSocial(com, target)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, first)
	rng := rand.New(rand.NewSource(99))
	for i := 0; i < 5; i++ {
		// The same community listed in another order, edges reversed.
		shuffled := grids.SocialCommunity{Code: com.Code,
			Units: append([]grids.SocialUnit(nil), com.Units...),
			Edges: append([]grids.SocialEdge(nil), com.Edges...)}
		rng.Shuffle(len(shuffled.Units), func(a, b int) { shuffled.Units[a], shuffled.Units[b] = shuffled.Units[b], shuffled.Units[a] })
		rng.Shuffle(len(shuffled.Edges), func(a, b int) { shuffled.Edges[a], shuffled.Edges[b] = shuffled.Edges[b], shuffled.Edges[a] })
		for j := range shuffled.Edges {
			if rng.Intn(2) == 0 {
				e := &shuffled.Edges[j]
				e.A, e.B = e.B, e.A
			}
		}
		again, err := grids.PartitionSocial(shuffled, target)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("a reordered community partitions differently:\n%+v\n%+v", first.Groups, again.Groups)
		}
	}
}

func TestSocialSmallCommunityOneGroup(t *testing.T) {
	// 120 households over 12 grids.
	com := lattice(3, 4, func(r, c int) (int, int) { return 10, 25 }, nil)
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	if len(p.Groups) != 1 || p.Groups[0].Households != 120 {
		t.Fatalf("groups %+v", p.Groups)
	}
	if !hasReason(p, "community has 120 households, 40% of the target of 300 households: one social grid") {
		t.Errorf("reasons %q", p.Quality.Reasons)
	}
}

func TestSocialLShapedCommunity(t *testing.T) {
	// An L of 8×8 less its 5×5 upper-right corner: 39 grids, 40 households
	// each, 1,560 households: 5 groups of 312.
	com := lattice(8, 8, func(r, c int) (int, int) { return 40, 100 },
		func(r, c int) bool { return !(r < 5 && c >= 3) })
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	if len(com.Units) != 39 || len(p.Groups) != 5 {
		t.Fatalf("%d grids in %d groups", len(com.Units), len(p.Groups))
	}
	if p.Quality.Within != 5 || len(p.Quality.Reasons) != 0 {
		t.Errorf("quality %+v", p.Quality)
	}
	t.Logf("L: loads %.2f-%.2f, stddev %.3f", p.Quality.MinLoad, p.Quality.MaxLoad, p.Quality.StdDevLoad)
}

func TestSocialOutsizeGrid(t *testing.T) {
	// A 6×6 community of 30 households a grid, but one grid is a tower
	// block of 660 households.
	com := lattice(6, 6, func(r, c int) (int, int) {
		if r == 2 && c == 3 {
			return 660, 1500
		}
		return 30, 70
	}, nil)
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	// The tower stands alone; 35×30 = 1,050 households are 3.5 targets:
	// 4 groups more.
	if len(p.Groups) != 5 {
		t.Fatalf("%d groups", len(p.Groups))
	}
	tower := socialCommunity + "016"
	for _, g := range p.Groups {
		for _, c := range g.Grids {
			if c == tower && len(g.Grids) != 1 {
				t.Errorf("the tower's group holds %v; it should stand alone", g.Grids)
			}
		}
	}
	if !hasReason(p, "unit grid "+tower+" holds 660 households, 2.2× the target of 300 households") {
		t.Errorf("reasons %q", p.Quality.Reasons)
	}
	if p.Quality.Within != 4 {
		t.Errorf("only %d of the other groups within tolerance: %+v", p.Quality.Within, p.Groups)
	}
}

func TestSocialOneGridCommunity(t *testing.T) {
	com := grids.SocialCommunity{Code: socialCommunity, Units: []grids.SocialUnit{{Code: socialCommunity + "001", Households: 120}}}
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	if len(p.Groups) != 1 || !hasReason(p, "community has 120 households, 40% of the target") {
		t.Errorf("%+v", p)
	}
	com.Units[0].Households = 900
	p, _ = grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if len(p.Groups) != 1 || !hasReason(p, "community has one unit grid holding 900 households, 3.0× the target") {
		t.Errorf("%+v", p)
	}
}

func TestSocialDisconnectedCommunity(t *testing.T) {
	// Two blocks of 4×4 with a column missing between them (a river).
	com := lattice(4, 9, func(r, c int) (int, int) { return 40, 90 }, func(r, c int) bool { return c != 4 })
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	// 640 households each side: 2 groups each.
	if len(p.Groups) != 4 || p.Quality.Parts != 2 {
		t.Fatalf("%d groups, %d parts", len(p.Groups), p.Quality.Parts)
	}
	if !hasReason(p, "community's unit grids form 2 separate parts") {
		t.Errorf("reasons %q", p.Quality.Reasons)
	}
}

func TestSocialEmptyCommunity(t *testing.T) {
	com := lattice(3, 3, func(r, c int) (int, int) { return 0, 0 }, nil)
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	if len(p.Groups) != 1 || !hasReason(p, "community has no households") {
		t.Errorf("%+v", p)
	}
}

func TestSocialRoadsAttractCuts(t *testing.T) {
	// 6 rows × 4 columns, 25 households each: 600 households, 2 groups.
	// Without roads the shortest balanced cut is across, between rows 3
	// and 4 (4 boundaries); a road runs north-south between columns 2 and
	// 3, so cutting along it (6 boundaries at a quarter each) is cheaper.
	com := lattice(6, 4, func(r, c int) (int, int) { return 25, 60 }, nil)
	for i := range com.Edges {
		e := &com.Edges[i]
		if a, b := atoi(e.A[12:]), atoi(e.B[12:]); b == a+1 && (a-1)%4 == 1 {
			e.Road = true
		}
	}
	p, err := grids.PartitionSocial(com, grids.SocialTarget{Households: 300})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, com, p)
	if len(p.Groups) != 2 {
		t.Fatalf("%d groups", len(p.Groups))
	}
	for _, g := range p.Groups {
		var west, east bool
		for _, c := range g.Grids {
			col := (atoi(c[12:]) - 1) % 4
			west = west || col < 2
			east = east || col >= 2
		}
		if west && east {
			t.Errorf("group %d crosses the road: %v", g.Number, g.Grids)
		}
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestSocialInvalid(t *testing.T) {
	com := lattice(2, 2, func(r, c int) (int, int) { return 10, 20 }, nil)
	var inv *grids.InvalidError
	if _, err := grids.PartitionSocial(com, grids.SocialTarget{}); !errors.As(err, &inv) {
		t.Errorf("no target: %v", err)
	}
	bad := com
	bad.Edges = append(append([]grids.SocialEdge(nil), com.Edges...), grids.SocialEdge{A: socialCommunity + "001", B: socialCommunity + "099", LengthM: 10})
	if _, err := grids.PartitionSocial(bad, grids.SocialTarget{Households: 300}); !errors.As(err, &inv) {
		t.Errorf("edge to a foreign grid: %v", err)
	}
	bad = com
	bad.Units = append(append([]grids.SocialUnit(nil), com.Units...), com.Units[0])
	if _, err := grids.PartitionSocial(bad, grids.SocialTarget{Households: 300}); !errors.As(err, &inv) {
		t.Errorf("repeated grid: %v", err)
	}
}

func hasReason(p grids.SocialPartition, prefix string) bool {
	for _, r := range p.Quality.Reasons {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}
