package tiles

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// TestSocialGridsLayer: the layer comes right after mgmt_grids, and its
// tiles are touched by changes to mgmt_grids, to the social grids' building
// totals and to the targets, each only where its extent says.
func TestSocialGridsLayer(t *testing.T) {
	l := Lookup("social_grids")
	if l == nil {
		t.Fatal("no social_grids layer")
	}
	if !strings.Contains(LayerNames(), "mgmt_grids,social_grids,") {
		t.Errorf("layers %s: want social_grids right after mgmt_grids", LayerNames())
	}
	if got := strings.Join(l.Tables(), ","); got != "mgmt_grids,"+SocialTotalsTable+",social_targets" {
		t.Errorf("social_grids tables %s", got)
	}
	fields := map[string]string{}
	for _, f := range l.Fields {
		fields[f.Name] = f.Type
	}
	for _, f := range []string{"code", "name", "community_code"} {
		if fields[f] != "String" {
			t.Errorf("field %s: %q, want String", f, fields[f])
		}
	}
	for _, f := range []string{"households", "residents", "buildings", "unit_grids", "target_households", "target_residents", "load"} {
		if fields[f] != "Number" {
			t.Errorf("field %s: %q, want Number", f, fields[f])
		}
	}

	c := NewCache(1<<20, Buffer, Extent)
	social, mgmt := []*Layer{l}, []*Layer{Lookup("mgmt_grids")}
	center := ID{14, 13490, 6208}
	far := ID{14, 13500, 6208}
	put := func(ls []*Layer, id ID) CacheKey {
		k := CacheKey{Layers: Key(ls), ID: id}
		if !c.Put(k, ls, NewTile(make([]byte, 10), false), c.Generation()) {
			t.Fatalf("put %v refused", k)
		}
		return k
	}
	cached := func(k CacheKey) bool { _, ok := c.Get(k); return ok }
	inside := center.LonLatBound().Pad(-0.001)
	ks, kf, km := put(social, center), put(social, far), put(mgmt, center)
	if n := c.Invalidate(SocialTotalsTable, false, inside); n != 1 || cached(ks) || !cached(kf) || !cached(km) {
		t.Errorf("totals change in the centre tile dropped %d; social centre %v, far %v, mgmt %v cached; want only the social centre dropped",
			n, cached(ks), cached(kf), cached(km))
	}
	ks = put(social, center)
	if n := c.Invalidate("mgmt_grids", false, inside); n != 2 || cached(ks) || cached(km) || !cached(kf) {
		t.Errorf("mgmt_grids change dropped %d, want the social and mgmt centre tiles", n)
	}
	ks, km = put(social, center), put(mgmt, center)
	if n := c.Invalidate("social_targets", true, orb.Bound{}); n != 2 || cached(ks) || cached(kf) || !cached(km) {
		t.Errorf("target change dropped %d, want every social tile and no other", n)
	}
	// A multi-layer tile drawing social_grids is touched as the layer is.
	both := []*Layer{Lookup("communities"), l}
	kb := put(both, center)
	if c.Invalidate(SocialTotalsTable, false, inside); cached(kb) {
		t.Error("a communities,social_grids tile kept after a totals change inside it")
	}
	// A render that read before a totals change touching it is not cached.
	gen := c.Generation()
	c.Invalidate(SocialTotalsTable, false, inside)
	if c.Put(CacheKey{Key(social), center}, social, NewTile([]byte{1}, false), gen) {
		t.Error("a social tile rendered before a totals change inside it was cached")
	}
}

// TestStyleSocialGrids: the style draws the social grids as a choropleth of
// their load (classes in order, a colour each), by households where there
// is no target, with a line and a label of the grid's number and
// households, placed under the management-grid labels and over the unit
// grids' codes; every field it reads is one the layer carries.
func TestStyleSocialGrids(t *testing.T) {
	style := Style("http://x", StyleOptions{})
	if got := strings.Join(StyleLayerIDs(style, "social_grids"), ","); got != "social_grids-fill,social_grids-line,social_grids-label" {
		t.Fatalf("social_grids style layers %s", got)
	}
	var order []string
	byID := map[string]map[string]any{}
	for _, l := range style["layers"].([]map[string]any) {
		id := l["id"].(string)
		order = append(order, id)
		byID[id] = l
	}
	all := "," + strings.Join(order, ",") + ","
	for _, pair := range [][2]string{
		{"communities-fill", "social_grids-fill"}, {"social_grids-fill", "grids-fill"},
		{"social_grids-line", "mgmt_grids-line"}, {"grids-label", "social_grids-label"}, {"social_grids-label", "mgmt_grids-label"},
	} {
		if strings.Index(all, ","+pair[0]+",") > strings.Index(all, ","+pair[1]+",") {
			t.Errorf("style draws %s over %s: %s", pair[0], pair[1], all)
		}
	}

	b := SocialLoadClasses.Bounds
	if len(SocialLoadClasses.Colors) != len(b)+1 {
		t.Fatalf("%d colours for %d bounds", len(SocialLoadClasses.Colors), len(b))
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Errorf("load bounds %v not increasing", b)
		}
	}
	if b[0] >= 1 || b[len(b)-1] <= 1 {
		t.Errorf("load bounds %v do not surround the target (1)", b)
	}
	hex := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	seen := map[string]bool{}
	for _, c := range append(append([]string{}, SocialLoadClasses.Colors...), SocialNoTargetColors[:]...) {
		if !hex.MatchString(c) || seen[c] {
			t.Errorf("colour %q: not a lower-case hex colour, or repeated", c)
		}
		seen[c] = true
	}
	fill := byID["social_grids-fill"]["paint"].(map[string]any)["fill-color"].([]any)
	if fill[0] != "case" || len(fill) != 4 {
		t.Fatalf("fill colour %v: want case hasTarget step byHouseholds", fill)
	}
	step := fill[2].([]any)
	if step[0] != "step" || step[2] != SocialLoadClasses.Colors[0] || len(step) != 3+2*len(b) {
		t.Errorf("load step %v", step)
	}
	for i, bound := range b {
		if step[3+2*i] != bound || step[4+2*i] != SocialLoadClasses.Colors[i+1] {
			t.Errorf("load step %v: class %d is not %v %s", step, i+1, bound, SocialLoadClasses.Colors[i+1])
		}
	}

	// Every field the social style layers read is a field of the layer.
	fields := map[string]bool{}
	for _, f := range Lookup("social_grids").Fields {
		fields[f.Name] = true
	}
	for _, id := range StyleLayerIDs(style, "social_grids") {
		js, _ := json.Marshal(byID[id])
		for _, m := range regexp.MustCompile(`\["get","([a-z_]+)"\]`).FindAllStringSubmatch(string(js), -1) {
			if !fields[m[1]] {
				t.Errorf("%s reads %q, which the social_grids layer does not carry", id, m[1])
			}
		}
	}
	label := byID["social_grids-label"]
	js, _ := json.Marshal(label["layout"].(map[string]any)["text-field"])
	if !strings.Contains(string(js), `["get","households"]`) || !strings.Contains(string(js), `"户"`) || !strings.Contains(string(js), `"第"`) {
		t.Errorf("social label %s: want the grid's number (from 第) and its households with 户", js)
	}
	if label["minzoom"] != float64(Lookup("social_grids").LabelMinZoom) {
		t.Errorf("social label from zoom %v, the layer's label points from %d", label["minzoom"], Lookup("social_grids").LabelMinZoom)
	}
}
