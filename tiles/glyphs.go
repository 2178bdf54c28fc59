package tiles

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
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
	done  map[int][]byte
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
	g := &Glyphs{done: map[int][]byte{}}
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
	data, ok := g.done[start]
	g.mu.Unlock()
	if !ok {
		data = g.render(start)
		g.mu.Lock()
		g.done[start] = data
		g.mu.Unlock()
	}
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

type seg struct{ x0, y0, x1, y1 float64 }

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
	lines := flatten(segs)
	msg := protowire.AppendTag(nil, 1, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(r))
	advance := int(math.Round(float64(adv) / 64))
	ascent := int(math.Round(float64(m.Ascent) / 64))
	if len(lines) == 0 { // a space: metrics only
		msg = appendMetrics(msg, 0, 0, 0, 0, advance)
		return msg, true
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, l := range lines {
		minX, maxX = math.Min(minX, math.Min(l.x0, l.x1)), math.Max(maxX, math.Max(l.x0, l.x1))
		minY, maxY = math.Min(minY, math.Min(l.y0, l.y1)), math.Max(maxY, math.Max(l.y0, l.y1))
	}
	left, top := int(math.Floor(minX)), int(math.Floor(minY)) // y down: top is the smallest y
	w, h := int(math.Ceil(maxX))-left, int(math.Ceil(maxY))-top
	bw, bh := w+2*glyphBorder, h+2*glyphBorder
	bitmap := make([]byte, bw*bh)
	for j := 0; j < bh; j++ {
		py := float64(top-glyphBorder+j) + 0.5
		for i := 0; i < bw; i++ {
			px := float64(left-glyphBorder+i) + 0.5
			d := math.Sqrt(minDist2(lines, px, py))
			if inside(lines, px, py) {
				d = -d
			}
			v := math.Round(255 - 255*(d/sdfRadius+sdfCutoff))
			bitmap[j*bw+i] = byte(math.Max(0, math.Min(255, v)))
		}
	}
	msg = protowire.AppendTag(msg, 2, protowire.BytesType)
	msg = protowire.AppendBytes(msg, bitmap)
	// MapLibre's glyph top is the bitmap's top above the baseline less the
	// font's ascent, as the glyph tools that make its fonts write it.
	msg = appendMetrics(msg, w, h, left, -top-ascent, advance)
	return msg, true
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

// flatten turns the outline into straight segments in pixels (y down).
func flatten(segs sfnt.Segments) []seg {
	var out []seg
	pt := func(p fixed.Point26_6) (float64, float64) { return float64(p.X) / 64, float64(p.Y) / 64 }
	var cx, cy, sx, sy float64
	closeContour := func() {
		if cx != sx || cy != sy {
			out = append(out, seg{cx, cy, sx, sy})
		}
	}
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			closeContour()
			cx, cy = pt(s.Args[0])
			sx, sy = cx, cy
		case sfnt.SegmentOpLineTo:
			x, y := pt(s.Args[0])
			out = append(out, seg{cx, cy, x, y})
			cx, cy = x, y
		case sfnt.SegmentOpQuadTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			const n = 8
			for i := 1; i <= n; i++ {
				t := float64(i) / n
				u := 1 - t
				x := u*u*cx + 2*u*t*x1 + t*t*x2
				y := u*u*cy + 2*u*t*y1 + t*t*y2
				out = append(out, seg{cx, cy, x, y})
				cx, cy = x, y
			}
			cx, cy = x2, y2
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			x3, y3 := pt(s.Args[2])
			x0, y0 := cx, cy
			const n = 10
			for i := 1; i <= n; i++ {
				t := float64(i) / n
				u := 1 - t
				x := u*u*u*x0 + 3*u*u*t*x1 + 3*u*t*t*x2 + t*t*t*x3
				y := u*u*u*y0 + 3*u*u*t*y1 + 3*u*t*t*y2 + t*t*t*y3
				out = append(out, seg{cx, cy, x, y})
				cx, cy = x, y
			}
			cx, cy = x3, y3
		}
	}
	closeContour()
	return out
}

func minDist2(lines []seg, px, py float64) float64 {
	best := math.Inf(1)
	for _, l := range lines {
		dx, dy := l.x1-l.x0, l.y1-l.y0
		t := 0.0
		if n := dx*dx + dy*dy; n > 0 {
			t = math.Max(0, math.Min(1, ((px-l.x0)*dx+(py-l.y0)*dy)/n))
		}
		ex, ey := l.x0+t*dx-px, l.y0+t*dy-py
		best = math.Min(best, ex*ex+ey*ey)
	}
	return best
}

// inside applies the non-zero winding rule.
func inside(lines []seg, px, py float64) bool {
	wind := 0
	for _, l := range lines {
		if l.y0 <= py {
			if l.y1 > py && (l.x1-l.x0)*(py-l.y0)-(px-l.x0)*(l.y1-l.y0) > 0 {
				wind++
			}
		} else if l.y1 <= py && (l.x1-l.x0)*(py-l.y0)-(px-l.x0)*(l.y1-l.y0) < 0 {
			wind--
		}
	}
	return wind != 0
}
