package geo

import (
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"
)

// cellDirectory is the point prefilter: a sparse uniform grid of cells about
// the size of a typical unit grid, kept in an open-addressing hash table, each
// occupied cell listing the grids whose boxes overlap it. A point query hashes
// one cell and reads a short list. Grids whose boxes span more than maxCells
// cells go to a small packed R-tree of their own, searched on every query.
type cellDirectory struct {
	minx, miny float64
	invW, invH float64
	mask       uint64
	slots      []cellSlot
	entries    []cellEntry
	big        packedTree
	bigIDs     []uint32
}

const maxCells = 256

// cellSlot is one hash-table slot: the cell's key + 1 (0: empty) and its
// entries, entries[start:start+count].
type cellSlot struct {
	key          uint64
	start, count uint32
}

// cellEntry is a grid listed in a cell, with its box rounded outwards to
// float32 so that the list scan reads one contiguous run of memory.
type cellEntry struct {
	minx, miny, maxx, maxy float32
	id                     uint32
	off                    uint32 // the grid's offset in Index.xy
}

func down32(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func up32(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

func cellKey(cx, cy int64) uint64 { return uint64(cx)<<32 | uint64(uint32(cy)) }

func hashKey(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> 17 }

func (d *cellDirectory) cell(x, y float64) (int64, int64) {
	return int64(math.Floor((x - d.minx) * d.invW)), int64(math.Floor((y - d.miny) * d.invH))
}

// buildCellDirectory lists each cell's grids in code order, so that the
// first grid of a cell that covers a point is its owner among that cell's
// grids.
func buildCellDirectory(boxes []orb.Bound, recs []gridRec) cellDirectory {
	var d cellDirectory
	n := len(boxes)
	if n == 0 {
		return d
	}
	ws, hs := make([]float64, n), make([]float64, n)
	ext := boxes[0]
	for i, b := range boxes {
		ws[i], hs[i] = b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
		ext = ext.Union(b)
	}
	sort.Float64s(ws)
	sort.Float64s(hs)
	cw, ch := ws[n/2], hs[n/2]
	if cw <= 0 {
		cw = math.Max(ext.Max[0]-ext.Min[0], 1e-9)
	}
	if ch <= 0 {
		ch = math.Max(ext.Max[1]-ext.Min[1], 1e-9)
	}
	d.minx, d.miny, d.invW, d.invH = ext.Min[0], ext.Min[1], 1/cw, 1/ch

	// Pairs (cell, grid) are generated in code order and then sorted by
	// cell with a stable radix sort, so each cell's list comes out in code
	// order without comparing codes.
	order := make([]codeID, n)
	for i := range order {
		order[i] = codeID{recs[i].code, uint32(i)}
	}
	slices.SortFunc(order, func(a, b codeID) int {
		if a.code < b.code {
			return -1
		}
		if a.code > b.code {
			return 1
		}
		return 0
	})
	pairs := make([]pair, 0, 4*n)
	var bigBoxes []orb.Bound
	for _, o := range order {
		i := int(o.id)
		b := boxes[i]
		x0, y0 := d.cell(b.Min[0], b.Min[1])
		x1, y1 := d.cell(b.Max[0], b.Max[1])
		if (x1-x0+1)*(y1-y0+1) > maxCells {
			d.bigIDs = append(d.bigIDs, uint32(i))
			bigBoxes = append(bigBoxes, b)
			continue
		}
		for cx := x0; cx <= x1; cx++ {
			for cy := y0; cy <= y1; cy++ {
				pairs = append(pairs, pair{cellKey(cx, cy), uint32(i)})
			}
		}
	}
	d.big = buildPackedTree(bigBoxes)
	pairs = radixSortPairs(pairs)
	cells := 0
	for i := range pairs {
		if i == 0 || pairs[i].key != pairs[i-1].key {
			cells++
		}
	}
	size := uint64(1)
	for size < uint64(2*cells+1) {
		size *= 2
	}
	d.mask = size - 1
	d.slots = make([]cellSlot, size)
	d.entries = make([]cellEntry, len(pairs))
	adviseHugePages(d.slots)
	adviseHugePages(d.entries)
	for i := 0; i < len(pairs); {
		j := i
		for j < len(pairs) && pairs[j].key == pairs[i].key {
			b := boxes[pairs[j].id]
			d.entries[j] = cellEntry{down32(b.Min[0]), down32(b.Min[1]), up32(b.Max[0]), up32(b.Max[1]), pairs[j].id, recs[pairs[j].id].off}
			j++
		}
		s := hashKey(pairs[i].key) & d.mask
		for d.slots[s].key != 0 {
			s = (s + 1) & d.mask
		}
		d.slots[s] = cellSlot{pairs[i].key + 1, uint32(i), uint32(j - i)}
		i = j
	}
	return d
}

// candidates returns the entries listed in p's cell (nil if none).
func (d *cellDirectory) candidates(x, y float64) []cellEntry {
	if d.slots == nil {
		return nil
	}
	cx, cy := d.cell(x, y)
	k := cellKey(cx, cy) + 1
	for s := hashKey(k-1) & d.mask; ; s = (s + 1) & d.mask {
		sl := &d.slots[s]
		switch sl.key {
		case k:
			return d.entries[sl.start : sl.start+sl.count]
		case 0:
			return nil
		}
	}
}

type codeID struct {
	code uint64
	id   uint32
}

type pair struct {
	key uint64
	id  uint32
}

// radixSortPairs sorts by key, stably (LSD radix, 16-bit digits, skipping
// digits all keys share).
func radixSortPairs(a []pair) []pair {
	if len(a) < 2 {
		return a
	}
	var or, and uint64 = 0, ^uint64(0)
	for _, p := range a {
		or |= p.key
		and &= p.key
	}
	diff := or ^ and
	buf := make([]pair, len(a))
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		if (diff>>shift)&0xffff == 0 {
			continue
		}
		clear(count[:])
		for _, p := range a {
			count[(p.key>>shift)&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, p := range a {
			d := (p.key >> shift) & 0xffff
			buf[count[d]] = p
			count[d]++
		}
		a, buf = buf, a
	}
	return a
}
