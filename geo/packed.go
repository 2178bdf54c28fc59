package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// nodeSize is the fan-out of the packed R-tree.
const nodeSize = 16

// packedTree is a static packed R-tree (the "flatbush" layout): the item
// boxes in the caller's order at level 0, then each level's node boxes,
// nodeSize children to a node, up to the single root. Boxes are float64 so
// the prefilter never rejects a point its polygon covers.
type packedTree struct {
	n      int       // items
	boxes  []float64 // minx, miny, maxx, maxy per box, items first
	index  []uint32  // per box: item id (level 0) or first child's position
	levels []int     // levels[l] is the end position of level l
}

func buildPackedTree(items []orb.Bound) packedTree {
	n := len(items)
	t := packedTree{n: n}
	if n == 0 {
		return t
	}
	total := n
	t.levels = []int{n}
	for m := n; ; {
		m = (m + nodeSize - 1) / nodeSize
		total += m
		t.levels = append(t.levels, total)
		if m == 1 {
			break
		}
	}
	t.boxes = make([]float64, 4*total)
	t.index = make([]uint32, total)
	for i, b := range items {
		copy(t.boxes[4*i:], []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]})
		t.index[i] = uint32(i)
	}
	pos := 0
	for l := 0; l < len(t.levels)-1; l++ {
		end := t.levels[l]
		parent := end
		for pos < end {
			start := pos
			minx, miny, maxx, maxy := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for j := 0; j < nodeSize && pos < end; j++ {
				b := t.boxes[4*pos : 4*pos+4]
				minx, miny = min(minx, b[0]), min(miny, b[1])
				maxx, maxy = max(maxx, b[2]), max(maxy, b[3])
				pos++
			}
			copy(t.boxes[4*parent:], []float64{minx, miny, maxx, maxy})
			t.index[parent] = uint32(start)
			parent++
		}
	}
	return t
}

// search calls fn with every item whose box intersects the query box.
func (t *packedTree) search(minx, miny, maxx, maxy float64, fn func(int)) {
	if t.n == 0 {
		return
	}
	var stack []int
	node := len(t.index) - 1
	level := len(t.levels) - 1
	for {
		end := min(node+nodeSize, t.levels[level])
		for pos := node; pos < end; pos++ {
			b := t.boxes[4*pos : 4*pos+4]
			if maxx < b[0] || maxy < b[1] || minx > b[2] || miny > b[3] {
				continue
			}
			if node < t.n {
				fn(int(t.index[pos]))
			} else {
				stack = append(stack, int(t.index[pos]), level-1)
			}
		}
		if len(stack) == 0 {
			return
		}
		level = stack[len(stack)-1]
		node = stack[len(stack)-2]
		stack = stack[:len(stack)-2]
	}
}

// hilbertOf places p on a 2^16 × 2^16 Hilbert curve over ext.
func hilbertOf(p orb.Point, ext orb.Bound) uint64 {
	const side = 1<<16 - 1
	w, h := ext.Max[0]-ext.Min[0], ext.Max[1]-ext.Min[1]
	var x, y uint32
	if w > 0 {
		x = uint32(side * (p[0] - ext.Min[0]) / w)
	}
	if h > 0 {
		y = uint32(side * (p[1] - ext.Min[1]) / h)
	}
	var d uint64
	for s := uint32(1 << 15); s > 0; s /= 2 {
		var rx, ry uint32
		if x&s > 0 {
			rx = 1
		}
		if y&s > 0 {
			ry = 1
		}
		d += uint64(s) * uint64(s) * uint64((3*rx)^ry)
		if ry == 0 {
			if rx == 1 {
				x = side - x
				y = side - y
			}
			x, y = y, x
		}
	}
	return d
}
