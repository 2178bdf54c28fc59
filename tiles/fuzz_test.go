package tiles

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"gridd/grids"
)

// FuzzTileAddress reads the parts of a tile URL (/tiles/{layers}/{z}/{x}/{y}.mvt)
// as the handler does: no panic; refusals are a 400 (*grids.InvalidError)
// or a 404 (grids.ErrNotFound); an accepted layer list holds known layers,
// in drawing order, each once, every one named, and reads back from its
// key; an accepted address lies in range, reads back from its String, and
// its square's centre is found in that tile again.
func FuzzTileAddress(f *testing.F) {
	f.Add("grids", "14", "13489", "6208")
	f.Add("streets,communities,grids", "0", "0", "0")
	f.Add("grids, streets,grids", "22", "4194303", "4194303")
	f.Add("roads", "23", "0", "0")
	f.Add("grids,,streets", "-1", "0", "0")
	f.Add("", "3", "8", "0")
	f.Add("components", "+3", "07", "-0")
	f.Add("grids", "3", "0", "1.5")
	f.Add("grids", "9223372036854775807", "0", "0")
	f.Fuzz(func(t *testing.T, layers, zs, xs, ys string) {
		ls, err := ParseLayers(layers)
		var inv *grids.InvalidError
		if err != nil {
			if !errors.As(err, &inv) {
				t.Fatalf("ParseLayers(%q): %v is not an InvalidError", layers, err)
			}
		} else {
			if len(ls) == 0 {
				t.Fatalf("ParseLayers(%q) accepted no layer", layers)
			}
			last := -1
			for _, l := range ls {
				k := layerIndex(l)
				if k <= last || Lookup(l.Name) != l {
					t.Fatalf("ParseLayers(%q) = %s: not known layers in drawing order, each once", layers, Key(ls))
				}
				last = k
			}
			for _, n := range strings.Split(layers, ",") {
				if !strings.Contains(","+Key(ls)+",", ","+strings.TrimSpace(n)+",") {
					t.Fatalf("ParseLayers(%q) = %s lacks %q", layers, Key(ls), n)
				}
			}
			if again, err := ParseLayers(Key(ls)); err != nil || Key(again) != Key(ls) {
				t.Fatalf("key %s reads back as %v, %v", Key(ls), again, err)
			}
		}

		id, err := ParseID(zs, xs, ys)
		if err != nil {
			if !errors.As(err, &inv) && !errors.Is(err, grids.ErrNotFound) {
				t.Fatalf("ParseID(%q, %q, %q): %v is neither invalid nor not found", zs, xs, ys, err)
			}
			return
		}
		if id.Z < 0 || id.Z > MaxZoom || id.X < 0 || id.Y < 0 || id.X >= 1<<id.Z || id.Y >= 1<<id.Z || id.Check() != nil {
			t.Fatalf("ParseID(%q, %q, %q) = %v, out of range", zs, xs, ys, id)
		}
		parts := strings.Split(id.String(), "/")
		if back, err := ParseID(parts[0], parts[1], parts[2]); err != nil || back != id {
			t.Fatalf("%v reads back as %v, %v", id, back, err)
		}
		if z, _ := strconv.Atoi(zs); z != id.Z {
			t.Fatalf("ParseID(%q, ...) has zoom %d", zs, id.Z)
		}
		b := id.Bound()
		if !(b.Min[0] < b.Max[0] && b.Min[1] < b.Max[1]) || b.Min[0] < -WorldHalf*(1+1e-12) || b.Max[0] > WorldHalf*(1+1e-12) ||
			b.Min[1] < -WorldHalf*(1+1e-12) || b.Max[1] > WorldHalf*(1+1e-12) {
			t.Fatalf("tile %v has square %v", id, b)
		}
		ll := id.LonLatBound()
		if math.Abs(ll.Min[1]) > MaxLat+1e-9 || math.Abs(ll.Max[1]) > MaxLat+1e-9 || math.Abs(ll.Min[0]) > 180+1e-9 || math.Abs(ll.Max[0]) > 180+1e-9 {
			t.Fatalf("tile %v spans %v", id, ll)
		}
		c := ToLonLat(b.Center())
		if x0, y0, x1, y1 := Covering(c.Bound(), id.Z); x0 != id.X || x1 != id.X || y0 != id.Y || y1 != id.Y {
			t.Fatalf("the centre %v of tile %v is covered by %d..%d, %d..%d", c, id, x0, x1, y0, y1)
		}
	})
}

func layerIndex(l *Layer) int {
	for i, m := range Layers {
		if m == l {
			return i
		}
	}
	return -1
}
