package tiles

import (
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
	"google.golang.org/protobuf/encoding/protowire"
)

// Glyphs serves MapLibre's glyph ranges (signed-distance-field bitmaps of
// 256 code points, in the glyphs protobuf) rendered from fonts gridd has, so
// the map needs no font service: Latin, digits and punctuation from the Go
// fonts compiled into the binary, and whatever else (Chinese) from the fonts
// given to NewGlyphs, tried in order. Ranges are rendered once and kept.
type Glyphs struct {
	fonts []*sfnt.Font
	mu    sync.Mutex
	done  map[int]*glyphRange
}

// glyphRange is one range, rendered once by its first caller.
type glyphRange struct {
	once sync.Once
	data []byte
}

// SDF parameters, the ones MapLibre's own glyphs use: 24-pixel em, a 3-pixel
// border, distances up to 8 pixels, the outline at 0.75 of the range.
const (
	glyphSize   = 24
	glyphBorder = 3
	sdfRadius   = 8.0
	sdfCutoff   = 0.25
)

// NewGlyphs builds a glyph server over the Go Regular font and then the
// extra fonts (TrueType/OpenType, or collections, whose first face is used).
// A font that cannot be parsed is an error naming its position.
func NewGlyphs(extra ...[]byte) (*Glyphs, error) {
	g := &Glyphs{done: map[int]*glyphRange{}}
	for i, data := range append([][]byte{goregular.TTF}, extra...) {
		f, err := sfnt.Parse(data)
		if err != nil {
			c, cerr := sfnt.ParseCollection(data)
			if cerr != nil {
				return nil, fmt.Errorf("glyph font %d: %w", i, err)
			}
			if f, err = c.Font(0); err != nil {
				return nil, fmt.Errorf("glyph font %d: %w", i, err)
			}
		}
		g.fonts = append(g.fonts, f)
	}
	return g, nil
}

// ParseRange reads a glyph range name "START-END" (END = START+255, START a
// multiple of 256, below U+10000) and returns START. Anything else is an
// error saying what a range looks like.
func ParseRange(s string) (int, error) {
	a, b, ok := strings.Cut(s, "-")
	start, err1 := strconv.Atoi(a)
	end, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || start < 0 || start%256 != 0 || end != start+255 || start > 65280 {
		return 0, fmt.Errorf("glyph range %q: want START-END with START a multiple of 256 below 65536 and END = START+255", s)
	}
	return start, nil
}

// Range returns the glyphs protobuf of the range starting at start (a
// multiple of 256) for the font stack name; code points no font has are left
// out, as MapLibre expects.
func (g *Glyphs) Range(stack string, start int) []byte {
	g.mu.Lock()
	gr := g.done[start]
	if gr == nil {
		gr = &glyphRange{}
		g.done[start] = gr
	}
	g.mu.Unlock()
	gr.once.Do(func() { gr.data = g.render(start) })
	data := gr.data
	// The glyph set is the same for every stack name; only the name differs.
	var fs []byte
	fs = protowire.AppendTag(fs, 1, protowire.BytesType)
	fs = protowire.AppendString(fs, stack)
	fs = protowire.AppendTag(fs, 2, protowire.BytesType)
	fs = protowire.AppendString(fs, fmt.Sprintf("%d-%d", start, start+255))
	fs = append(fs, data...)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendBytes(out, fs)
	return out
}

// render encodes the range's glyph messages (field 3 of fontstack).
func (g *Glyphs) render(start int) []byte {
	var out []byte
	var buf sfnt.Buffer
	for r := rune(start); r < rune(start+256); r++ {
		for _, f := range g.fonts {
			x, err := f.GlyphIndex(&buf, r)
			if err != nil || x == 0 {
				continue
			}
			if gl, ok := renderGlyph(f, &buf, x, r); ok {
				out = protowire.AppendTag(out, 3, protowire.BytesType)
				out = protowire.AppendBytes(out, gl)
			}
			break
		}
	}
	return out
}

// renderGlyph rasterises one glyph as a signed distance field and encodes
// its glyph message.
func renderGlyph(f *sfnt.Font, buf *sfnt.Buffer, x sfnt.GlyphIndex, r rune) ([]byte, bool) {
	ppem := fixed.I(glyphSize)
	segs, err := f.LoadGlyph(buf, x, ppem, nil)
	if err != nil {
		return nil, false
	}
	segs = append(sfnt.Segments(nil), segs...) // buf is reused by the next call
	adv, err := f.GlyphAdvance(buf, x, ppem, font.HintingNone)
	if err != nil {
		return nil, false
	}
	m, err := f.Metrics(buf, ppem, font.HintingNone)
	if err != nil {
		return nil, false
	}
	msg := protowire.AppendTag(nil, 1, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(r))
	advance := int(math.Round(float64(adv) / 64))
	ascent := int(math.Round(float64(m.Ascent) / 64))
	bounds, _, err := f.GlyphBounds(buf, x, ppem, font.HintingNone)
	if err != nil || len(segs) == 0 || bounds.Empty() { // a space: metrics only
		msg = appendMetrics(msg, 0, 0, 0, 0, advance)
		return msg, true
	}
	left, top := bounds.Min.X.Floor(), bounds.Min.Y.Floor() // y down: top is the smallest y
	w, h := bounds.Max.X.Ceil()-left, bounds.Max.Y.Ceil()-top
	bw, bh := w+2*glyphBorder, h+2*glyphBorder
	// Coverage by the outline, then the signed distance to its edge.
	ras := vector.NewRasterizer(bw, bh)
	ox, oy := float32(glyphBorder-left), float32(glyphBorder-top)
	pt := func(p fixed.Point26_6) (float32, float32) { return float32(p.X)/64 + ox, float32(p.Y)/64 + oy }
	for _, sg := range segs {
		switch sg.Op {
		case sfnt.SegmentOpMoveTo:
			ras.MoveTo(pt(sg.Args[0]))
		case sfnt.SegmentOpLineTo:
			ras.LineTo(pt(sg.Args[0]))
		case sfnt.SegmentOpQuadTo:
			x1, y1 := pt(sg.Args[0])
			x2, y2 := pt(sg.Args[1])
			ras.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(sg.Args[0])
			x2, y2 := pt(sg.Args[1])
			x3, y3 := pt(sg.Args[2])
			ras.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	ras.ClosePath()
	alpha := image.NewAlpha(image.Rect(0, 0, bw, bh))
	ras.Draw(alpha, alpha.Bounds(), image.Opaque, image.Point{})
	msg = protowire.AppendTag(msg, 2, protowire.BytesType)
	msg = protowire.AppendBytes(msg, sdf(alpha.Pix, bw, bh))
	// MapLibre's glyph top is the bitmap's top above the baseline less the
	// font's ascent, as the glyph tools that make its fonts write it.
	msg = appendMetrics(msg, w, h, left, -top-ascent, advance)
	return msg, true
}

// sdf turns coverage into MapLibre's signed distance field with two
// Euclidean distance transforms (outside and inside), as TinySDF does.
func sdf(cov []byte, w, h int) []byte {
	const inf = 1e20
	outer := make([]float64, w*h)
	inner := make([]float64, w*h)
	for i, c := range cov {
		switch a := float64(c) / 255; {
		case a == 0:
			outer[i], inner[i] = inf, 0
		case a == 1:
			outer[i], inner[i] = 0, inf
		default:
			d := 0.5 - a
			outer[i], inner[i] = math.Max(d, 0)*math.Max(d, 0), math.Min(d, 0)*math.Min(d, 0)
		}
	}
	edt(outer, w, h)
	edt(inner, w, h)
	out := make([]byte, w*h)
	for i := range out {
		d := math.Sqrt(outer[i]) - math.Sqrt(inner[i])
		out[i] = byte(math.Max(0, math.Min(255, math.Round(255-255*(d/sdfRadius+sdfCutoff)))))
	}
	return out
}

// edt is the 2-D squared Euclidean distance transform of Felzenszwalb and
// Huttenlocher, in place: columns, then rows.
func edt(g []float64, w, h int) {
	n := max(w, h)
	f := make([]float64, n)
	z, v := make([]float64, n+1), make([]int, n)
	for x := 0; x < w; x++ {
		edt1(g, x, w, h, f, z, v)
	}
	for y := 0; y < h; y++ {
		edt1(g, y*w, 1, w, f, z, v)
	}
}

func edt1(g []float64, offset, stride, n int, f, z []float64, v []int) {
	v[0], z[0], z[1] = 0, math.Inf(-1), math.Inf(1)
	f[0] = g[offset]
	k := 0
	for q := 1; q < n; q++ {
		f[q] = g[offset+q*stride]
		var s float64
		for {
			r := v[k]
			s = (f[q] - f[r] + float64(q*q) - float64(r*r)) / float64(q-r) / 2
			if s > z[k] {
				break
			}
			k--
			if k < 0 {
				break
			}
		}
		k++
		v[k], z[k], z[k+1] = q, s, math.Inf(1)
	}
	k = 0
	for q := 0; q < n; q++ {
		for z[k+1] < float64(q) {
			k++
		}
		r := v[k]
		g[offset+q*stride] = f[r] + float64((q-r)*(q-r))
	}
}

func appendMetrics(msg []byte, w, h, left, top, advance int) []byte {
	msg = protowire.AppendTag(msg, 3, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(w))
	msg = protowire.AppendTag(msg, 4, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(h))
	msg = protowire.AppendTag(msg, 5, protowire.VarintType)
	msg = protowire.AppendVarint(msg, protowire.EncodeZigZag(int64(left)))
	msg = protowire.AppendTag(msg, 6, protowire.VarintType)
	msg = protowire.AppendVarint(msg, protowire.EncodeZigZag(int64(top)))
	msg = protowire.AppendTag(msg, 7, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(max(0, advance)))
	return msg
}
