package geo

import (
	"fmt"
	"math"
	"slices"

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

// cellEntry is a grid listed in a cell: its box within the cell, in
// 256ths of the cell's width and height rounded outwards (clamped to the
// cell), and the grid's offset in Index.xy, whose header holds the grid's
// id. Eight bytes: a cell's list is usually one cache line.
type cellEntry struct {
	minx, miny, maxx, maxy uint8
	off                    uint32
}

func cellKey(cx, cy int64) uint64 { return uint64(cx)<<32 | uint64(uint32(cy)) }

func hashKey(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> 17 }

func (d *cellDirectory) cell(x, y float64) (int64, int64) {
	return int64(math.Floor((x - d.minx) * d.invW)), int64(math.Floor((y - d.miny) * d.invH))
}

// quantise places v (a coordinate along the axis with origin lo and
// inverse cell size inv) in 256ths of cell c, clamped to [0, 255]. It is
// monotone in v (each step rounds monotonically), and a point's own cell
// is floor((v-lo)*inv), so a box that contains a point in exact
// arithmetic contains it quantised too: the prefilter never drops a
// covering grid.
func quantise(v, lo, inv float64, c int64) uint8 {
	q := math.Floor(((v-lo)*inv - float64(c)) * 256)
	return uint8(max(0, min(255, q)))
}

// buildCellDirectory lists each cell's grids in code order, so that the
// first grid of a cell that covers a point is its owner among that cell's
// grids. It counts each cell's grids in a first pass and fills the lists
// in a second, so that no list of (cell, grid) pairs is ever held. It
// fails when two grids have the same code.
func buildCellDirectory(boxes []orb.Bound, recs []gridRec) (cellDirectory, error) {
	var d cellDirectory
	n := len(boxes)
	if n == 0 {
		return d, nil
	}
	ws := make([]float64, n)
	ext := boxes[0]
	for i, b := range boxes {
		ws[i] = b.Max[0] - b.Min[0]
		ext = ext.Union(b)
	}
	slices.Sort(ws)
	cw := ws[n/2]
	for i, b := range boxes {
		ws[i] = b.Max[1] - b.Min[1]
	}
	slices.Sort(ws)
	ch := ws[n/2]
	ws = nil
	if cw <= 0 {
		cw = math.Max(ext.Max[0]-ext.Min[0], 1e-9)
	}
	if ch <= 0 {
		ch = math.Max(ext.Max[1]-ext.Min[1], 1e-9)
	}
	d.minx, d.miny, d.invW, d.invH = ext.Min[0], ext.Min[1], 1/cw, 1/ch

	// Grids in code order: each cell's list is filled in that order.
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
	for i := 1; i < n; i++ {
		if order[i].code == order[i-1].code {
			return d, fmt.Errorf("index: grid code %015d appears twice", order[i].code)
		}
	}

	// First pass: count each cell's grids, growing the table to keep it at
	// most half full.
	size := uint64(1024)
	for size < uint64(2*n) {
		size *= 2
	}
	d.mask = size - 1
	d.slots = make([]cellSlot, size)
	used := 0
	var bigBoxes []orb.Bound
	total := 0
	for _, o := range order {
		b := boxes[o.id]
		x0, y0 := d.cell(b.Min[0], b.Min[1])
		x1, y1 := d.cell(b.Max[0], b.Max[1])
		if (x1-x0+1)*(y1-y0+1) > maxCells {
			d.bigIDs = append(d.bigIDs, o.id)
			bigBoxes = append(bigBoxes, b)
			continue
		}
		for cx := x0; cx <= x1; cx++ {
			for cy := y0; cy <= y1; cy++ {
				s := d.slot(cellKey(cx, cy))
				if s.key == 0 {
					s.key = cellKey(cx, cy) + 1
					used++
				}
				s.count++
				total++
				if uint64(2*used) > size {
					size *= 2
					d.rehash(size)
				}
			}
		}
	}
	d.big = buildPackedTree(bigBoxes)
	if total > math.MaxUint32 {
		return d, fmt.Errorf("index: more cell entries than one index holds")
	}
	// Lists are laid out in slot order.
	start := uint32(0)
	for i := range d.slots {
		s := &d.slots[i]
		s.start = start
		start += s.count
		s.count = 0
	}
	d.entries = make([]cellEntry, total)
	adviseHugePages(d.slots)
	adviseHugePages(d.entries)
	// Second pass: fill the lists.
	for _, o := range order {
		b := boxes[o.id]
		x0, y0 := d.cell(b.Min[0], b.Min[1])
		x1, y1 := d.cell(b.Max[0], b.Max[1])
		if (x1-x0+1)*(y1-y0+1) > maxCells {
			continue
		}
		for cx := x0; cx <= x1; cx++ {
			for cy := y0; cy <= y1; cy++ {
				s := d.slot(cellKey(cx, cy))
				d.entries[s.start+s.count] = cellEntry{
					minx: quantise(b.Min[0], d.minx, d.invW, cx), miny: quantise(b.Min[1], d.miny, d.invH, cy),
					maxx: quantise(b.Max[0], d.minx, d.invW, cx), maxy: quantise(b.Max[1], d.miny, d.invH, cy),
					off: recs[o.id].off,
				}
				s.count++
			}
		}
	}
	return d, nil
}

// slot is the table slot of key k: its own, or the empty one where it
// goes.
func (d *cellDirectory) slot(k uint64) *cellSlot {
	for s := hashKey(k) & d.mask; ; s = (s + 1) & d.mask {
		sl := &d.slots[s]
		if sl.key == k+1 || sl.key == 0 {
			return sl
		}
	}
}

// rehash moves the table's slots into one of the given size.
func (d *cellDirectory) rehash(size uint64) {
	old := d.slots
	d.mask = size - 1
	d.slots = make([]cellSlot, size)
	for _, s := range old {
		if s.key != 0 {
			*d.slot(s.key - 1) = s
		}
	}
}

// candidates returns the entries listed in p's cell (nil if none) and p's
// position in the cell in the entries' 256ths.
func (d *cellDirectory) candidates(x, y float64) ([]cellEntry, uint8, uint8) {
	if d.slots == nil {
		return nil, 0, 0
	}
	tx, ty := (x-d.minx)*d.invW, (y-d.miny)*d.invH
	fx, fy := math.Floor(tx), math.Floor(ty)
	k := cellKey(int64(fx), int64(fy)) + 1
	for s := hashKey(k-1) & d.mask; ; s = (s + 1) & d.mask {
		sl := &d.slots[s]
		switch sl.key {
		case k:
			// tx-fx is exact and in [0, 1): the same expression as
			// quantise's for the point's own cell.
			return d.entries[sl.start : sl.start+sl.count], uint8((tx - fx) * 256), uint8((ty - fy) * 256)
		case 0:
			return nil, 0, 0
		}
	}
}

type codeID struct {
	code uint64
	id   uint32
}

// touch reads, for each of pts, the memory its lookup will read first (its
// cell's slot, the cell's first entry, the coordinates of the first grid
// whose box holds the point), one stage for all points before the next, so
// that the processor waits for those cache misses together rather than one
// lookup after another. It changes nothing; the returned value only keeps
// the reads from being optimised away.
func (ix *Index) touch(pts []orb.Point) uint64 {
	d := &ix.cells
	if d.slots == nil {
		return 0
	}
	const group = 8
	var slot [group]uint64
	var keys [group]uint64
	var es [group][]cellEntry
	var qx, qy [group]uint8
	n := min(len(pts), group)
	var sink uint64
	for i := range n {
		tx, ty := (pts[i][0]-d.minx)*d.invW, (pts[i][1]-d.miny)*d.invH
		fx, fy := math.Floor(tx), math.Floor(ty)
		k := cellKey(int64(fx), int64(fy))
		keys[i] = k + 1
		slot[i] = hashKey(k) & d.mask
		qx[i], qy[i] = uint8((tx-fx)*256), uint8((ty-fy)*256)
		sink += d.slots[slot[i]].key
	}
	for i := range n {
		for s := slot[i]; ; s = (s + 1) & d.mask {
			sl := &d.slots[s]
			if sl.key == keys[i] {
				es[i] = d.entries[sl.start : sl.start+sl.count]
				if len(es[i]) > 0 {
					sink += uint64(es[i][0].off)
				}
				break
			}
			if sl.key == 0 {
				break
			}
		}
	}
	for i := range n {
		for _, e := range es[i] {
			if qx[i] < e.minx || qy[i] < e.miny || qx[i] > e.maxx || qy[i] > e.maxy {
				continue
			}
			sink += uint64(ix.xy[e.off+2])
			break
		}
	}
	return sink
}
