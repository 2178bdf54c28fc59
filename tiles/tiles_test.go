package tiles

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"google.golang.org/protobuf/encoding/protowire"

	"gridd/grids"
)

func TestParseID(t *testing.T) {
	if id, err := ParseID("14", "13489", "6208"); err != nil || id != (ID{14, 13489, 6208}) {
		t.Fatalf("ParseID: %v %v", id, err)
	}
	var inv *grids.InvalidError
	for _, c := range [][3]string{{"23", "0", "0"}, {"-1", "0", "0"}, {"a", "0", "0"}, {"3", "x", "0"}, {"3", "0", "1.5"}} {
		if _, err := ParseID(c[0], c[1], c[2]); !errors.As(err, &inv) {
			t.Errorf("ParseID%v: %v, want an InvalidError", c, err)
		}
	}
	for _, c := range [][3]string{{"0", "1", "0"}, {"3", "8", "0"}, {"3", "0", "-1"}} {
		if _, err := ParseID(c[0], c[1], c[2]); !errors.Is(err, grids.ErrNotFound) || !strings.Contains(err.Error(), "run from 0 to") {
			t.Errorf("ParseID%v: %v, want not found with the range", c, err)
		}
	}
}

func TestParseLayers(t *testing.T) {
	ls, err := ParseLayers("grids, streets,grids")
	if err != nil || Key(ls) != "streets,grids" {
		t.Fatalf("%v %v, want streets,grids in drawing order without repeats", Key(ls), err)
	}
	for _, bad := range []string{"roads", "grids,,streets", ""} {
		if _, err := ParseLayers(bad); err == nil || !strings.Contains(err.Error(), LayerNames()) {
			t.Errorf("ParseLayers(%q): %v, want the valid layers listed", bad, err)
		}
	}
}

// TestCoveringAndBounds: the tiles Covering returns are exactly those whose
// squares meet the bound (random bounds; the seed is printed).
func TestCoveringAndBounds(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for range 200 {
		lon, lat := 73+r.Float64()*60, 18+r.Float64()*35
		b := orb.Bound{Min: orb.Point{lon, lat}, Max: orb.Point{lon + r.Float64()*0.05, lat + r.Float64()*0.05}}
		z := 8 + r.IntN(9)
		x0, y0, x1, y1 := Covering(b, z)
		m := MercatorBound(b)
		for x := x0 - 1; x <= x1+1; x++ {
			for y := y0 - 1; y <= y1+1; y++ {
				in := x >= x0 && x <= x1 && y >= y0 && y <= y1
				if meets := (ID{z, x, y}).Bound().Intersects(m); meets != in {
					t.Fatalf("seed %d: tile %d/%d/%d meets %v: %v, covering says %v", seed, z, x, y, b, meets, in)
				}
			}
		}
		p := ToLonLat(FromLonLat(b.Min))
		if math.Abs(p[0]-b.Min[0]) > 1e-9 || math.Abs(p[1]-b.Min[1]) > 1e-9 {
			t.Fatalf("projection round trip %v -> %v", b.Min, p)
		}
	}
}

func TestCacheInvalidation(t *testing.T) {
	grid, streets := Lookup("grids"), Lookup("streets")
	c := NewCache(1<<20, Buffer, Extent)
	put := func(ls []*Layer, id ID) CacheKey {
		k := CacheKey{Layers: Key(ls), ID: id}
		if !c.Put(k, ls, NewTile(make([]byte, 100), false), c.Generation()) {
			t.Fatalf("put %v refused", k)
		}
		return k
	}
	center := ID{16, 54724, 25265}
	b := center.LonLatBound()
	w := b.Max[0] - b.Min[0]
	// A change well inside the centre tile.
	inner := orb.Bound{Min: orb.Point{b.Min[0] + w/3, b.Min[1] + w/4}, Max: orb.Point{b.Min[0] + w/2, b.Min[1] + w/3}}
	east := ID{16, center.X + 1, center.Y}
	kc := put([]*Layer{grid}, center)
	ke := put([]*Layer{grid}, east)
	ks := put([]*Layer{streets}, center)
	kp := put([]*Layer{grid}, ID{15, center.X / 2, center.Y / 2})
	kz := put([]*Layer{grid}, ID{18, center.X*4 + 3, center.Y*4 + 3}) // the centre tile's south-east corner at z18
	if n := c.Invalidate("unit_grids", false, inner); n != 2 {
		t.Errorf("dropped %d, want 2 (the centre and its parent)", n)
	}
	for k, want := range map[CacheKey]bool{kc: false, kp: false, ke: true, ks: true, kz: true} {
		if _, ok := c.Get(k); ok != want {
			t.Errorf("%v cached %v after the change, want %v", k, ok, want)
		}
	}
	// A change just west of the east tile's edge is in its buffer.
	kc = put([]*Layer{grid}, center)
	edge := orb.Bound{Min: orb.Point{b.Max[0] - w/100, b.Min[1] + w/2}, Max: orb.Point{b.Max[0] - w/200, b.Min[1] + w/2}}
	c.Invalidate("unit_grids", false, edge)
	if _, ok := c.Get(ke); ok {
		t.Error("east tile kept after a change in its buffer")
	}
	if _, ok := c.Get(kc); ok {
		t.Error("centre tile kept after a change inside it")
	}
	// A change to a table no cached layer draws drops nothing; "*" drops all.
	if n := c.Invalidate("departments", true, orb.Bound{}); n != 0 {
		t.Errorf("departments change dropped %d", n)
	}
	if n := c.Invalidate("*", true, orb.Bound{}); n != c.Len()+n || c.Len() != 0 {
		t.Errorf("everything change left %d", c.Len())
	}
}

func TestCacheRefusesStaleRender(t *testing.T) {
	grid := Lookup("grids")
	c := NewCache(1<<20, Buffer, Extent)
	id := ID{16, 54724, 25265}
	gen := c.Generation() // a render starts
	c.Invalidate("unit_grids", false, id.LonLatBound())
	if c.Put(CacheKey{"grids", id}, []*Layer{grid}, NewTile([]byte{1}, false), gen) {
		t.Error("a tile rendered before a change that touches it was cached")
	}
	gen = c.Generation()
	c.Invalidate("unit_grids", false, ID{16, 1, 1}.LonLatBound())
	if !c.Put(CacheKey{"grids", id}, []*Layer{grid}, NewTile([]byte{1}, false), gen) {
		t.Error("a tile rendered before an unrelated change was refused")
	}
}

func TestCacheEvictsByBytes(t *testing.T) {
	grid := Lookup("grids")
	c := NewCache(10_000, Buffer, Extent)
	for i := range 20 {
		c.Put(CacheKey{"grids", ID{16, i, 0}}, []*Layer{grid}, NewTile(make([]byte, 1000), false), c.Generation())
		c.Get(CacheKey{"grids", ID{16, 0, 0}}) // keep the first one in use
	}
	if c.Bytes() > 10_000 {
		t.Errorf("cache holds %d bytes, cap 10000", c.Bytes())
	}
	if _, ok := c.Get(CacheKey{"grids", ID{16, 0, 0}}); !ok {
		t.Error("the most recently used tile was evicted")
	}
	if _, ok := c.Get(CacheKey{"grids", ID{16, 1, 0}}); ok {
		t.Error("the least recently used tile was kept")
	}
}

// TestGlyphs decodes a range and checks the letter O: metrics of a 24-pixel
// glyph and a distance field that is inside (≥ 192) at the stroke and
// outside (< 192) at the border.
func TestGlyphs(t *testing.T) {
	g, err := NewGlyphs()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRange("0-254"); err == nil {
		t.Error("0-254 accepted")
	}
	data := g.Range(FontStack, 0)
	stack, _ := field(t, data, 1)
	name, _ := field(t, stack, 1)
	if string(name) != FontStack {
		t.Fatalf("stack name %q", name)
	}
	var zero []byte
	count := 0
	for rest := stack; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:]
		m := protowire.ConsumeFieldValue(num, typ, rest)
		if num == 3 {
			count++
			v, _ := protowire.ConsumeBytes(rest)
			if id, _ := field(t, v, 1); len(id) > 0 && id[0] == 'O' {
				zero = v
			}
		}
		rest = rest[m:]
	}
	if count < 90 || zero == nil {
		t.Fatalf("%d glyphs, letter O present: %v", count, zero != nil)
	}
	w, _ := field(t, zero, 3)
	h, _ := field(t, zero, 4)
	bitmap, _ := field(t, zero, 2)
	width, height := int(w[0]), int(h[0])
	if width < 8 || width > 20 || height < 14 || height > 22 || len(bitmap) != (width+6)*(height+6) {
		t.Fatalf("letter O: %dx%d, bitmap %d bytes", width, height, len(bitmap))
	}
	bw := width + 6
	if bitmap[0] >= 192 || bitmap[len(bitmap)-1] >= 192 {
		t.Error("glyph border is inside the outline")
	}
	// The left stroke of an O, halfway down.
	row := (height + 6) / 2
	maxv := byte(0)
	for x := 3; x < 3+width/3; x++ {
		maxv = max(maxv, bitmap[row*bw+x])
	}
	if maxv < 192 {
		t.Errorf("no inside value on the left stroke of O (max %d)", maxv)
	}
	if centre := bitmap[row*bw+bw/2]; centre >= 192 {
		t.Errorf("the hole of O is inside the outline (%d)", centre)
	}
}

// field returns the first value of the field num in a protobuf message:
// bytes for length-delimited fields, the varint's low byte otherwise.
func field(t *testing.T, msg []byte, num protowire.Number) ([]byte, bool) {
	t.Helper()
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			t.Fatal("bad protobuf")
		}
		msg = msg[l:]
		if n == num {
			switch typ {
			case protowire.BytesType:
				v, _ := protowire.ConsumeBytes(msg)
				return v, true
			case protowire.VarintType:
				v, _ := protowire.ConsumeVarint(msg)
				return []byte{byte(v)}, true
			}
		}
		msg = msg[protowire.ConsumeFieldValue(n, typ, msg):]
	}
	return nil, false
}

// BenchmarkGlyphRangeCJK renders the first CJK range from Noto Sans CJK, when
// installed.
func BenchmarkGlyphRangeCJK(b *testing.B) {
	data, err := os.ReadFile("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
	if err != nil {
		b.Skip("Noto Sans CJK not installed")
	}
	g, err := NewGlyphs(data)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g.render(19968)
	}
}

// TestGlyphsCJK: with Noto Sans CJK given, the range of 东 (U+4E1C) holds it
// as a full-size glyph.
func TestGlyphsCJK(t *testing.T) {
	data, err := os.ReadFile("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and Noto Sans CJK is not installed (make test-deps installs fonts-noto-cjk)")
		}
		t.Skip("Noto Sans CJK not installed (make test-deps installs fonts-noto-cjk)")
	}
	g, err := NewGlyphs(data)
	if err != nil {
		t.Fatal(err)
	}
	stack, _ := field(t, g.Range(FontStack, 19968), 1)
	found := false
	for rest := stack; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:]
		if num == 3 {
			v, _ := protowire.ConsumeBytes(rest)
			id, _ := protowire.ConsumeVarint(v[1:])
			if id == 0x4E1C {
				found = true
				w, _ := field(t, v, 3)
				adv, _ := field(t, v, 7)
				if w[0] < 18 || w[0] > 26 || adv[0] != 24 {
					t.Errorf("东: width %d, advance %d; want about 22 and 24 at 24 px", w[0], adv[0])
				}
			}
		}
		rest = rest[protowire.ConsumeFieldValue(num, typ, rest):]
	}
	if !found {
		t.Error("no glyph for 东 in range 19968-20223")
	}
}
