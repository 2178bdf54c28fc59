// Package h3 is a pure-Go port of the core of H3 v4, Uber's hexagonal
// hierarchical geospatial index (https://h3geo.org): a point to its cell at
// resolutions 0-15, a cell's centre, boundary and parents, validity, and the
// string form of cells. The cells, boundaries and parents are H3's own; the
// package is checked against Uber's JavaScript build h3-js 4.5.0 (H3 4.5.0),
// see oracle_test.go.
//
// It ports the algorithms and tables of these files of the H3 C library,
// as of H3 4.5.0 (Copyright Uber Technologies, Inc., Apache License 2.0,
// see NOTICE and LICENSE in this directory): src/h3lib/lib/h3Index.c
// (index layout, latLngToCell, cellToLatLng, cellToBoundary, cellToParent,
// isValidCell, the rotations), faceijk.c (faces, projection, overage,
// boundaries), coordijk.c and vec2.c (IJK coordinates), vec3.c (points as
// unit vectors), baseCells.c (base cell tables), latLng.c and
// include/constants.h. Only what the functions here need is ported: no
// polygon filling, grid traversal, directed edges or areas.
//
// # How H3 indexes the sphere
//
// An icosahedron's 20 faces are each projected gnomonically onto a plane,
// and each plane carries a hexagonal lattice per resolution. The 122
// resolution 0 cells are the base cells; every finer resolution divides a
// cell into 7 (aperture 7), alternately rotated by about 19.1° (Class III,
// odd resolutions) and back (Class II, even ones). A cell index is its base
// cell and one digit 0-6 per finer resolution, the digit naming the child's
// direction from its parent's centre child. The 12 base cells centred on the
// icosahedron's vertices are pentagons, and so is the centre child of a
// pentagon at every resolution; a pentagon has no child in the k direction
// (digit 1), and the cells around it are rotated to skip that direction.
//
// Angles cross the API in degrees and are converted like h3-js does
// (deg·π/180 and rad·180/π).
package h3

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Cell is an H3 cell index (index mode 1): a hexagon or pentagon at one of
// the resolutions 0-15. The zero Cell is not a valid cell.
type Cell uint64

// MaxResolution is the finest H3 resolution.
const MaxResolution = 15

// The 64-bit layout of a cell index, high bit first: 1 reserved bit (0),
// 4 bits mode (1 for cells), 3 reserved bits (0), 4 bits resolution, 7 bits
// base cell, then 15 digits of 3 bits for resolutions 1-15. Digits beyond
// the cell's resolution are 7.
const (
	modeOffset     = 59
	reservedOffset = 56
	resOffset      = 52
	baseCellOffset = 45
	cellMode       = 1
	invalidDigit   = 7
	// cellInit is an index with mode, resolution and base cell 0 and all
	// digits 7.
	cellInit Cell = 1<<baseCellOffset - 1
)

// ErrResolution is returned for a resolution outside 0-15, or a parent
// resolution finer than the cell's.
var ErrResolution = errors.New("h3: resolution out of range")

// ErrLatLng is returned for a latitude or longitude that is not finite.
var ErrLatLng = errors.New("h3: latitude or longitude not finite")

// ErrInvalidCell is returned for an index that is not a valid H3 cell.
var ErrInvalidCell = errors.New("h3: invalid cell index")

// Resolution returns the cell's resolution, 0-15.
func (c Cell) Resolution() int { return int(c>>resOffset) & 0xf }

func (c Cell) baseCell() int { return int(c>>baseCellOffset) & 0x7f }

// digit returns the digit of resolution r (1-15).
func (c Cell) digit(r int) int { return int(c>>((MaxResolution-r)*3)) & 7 }

func (c Cell) withDigit(r, d int) Cell {
	shift := (MaxResolution - r) * 3
	return c&^(7<<shift) | Cell(d)<<shift
}

func (c Cell) withResolution(res int) Cell {
	return c&^(0xf<<resOffset) | Cell(res)<<resOffset
}

// leadingDigit returns the first non-zero digit, 0 if all are 0.
func (c Cell) leadingDigit() int {
	for r := 1; r <= c.Resolution(); r++ {
		if d := c.digit(r); d != 0 {
			return d
		}
	}
	return 0
}

// IsValid reports whether c is a valid H3 cell: mode 1, reserved bits 0, a
// base cell 0-121, digits 0-6 up to its resolution and 7 beyond, and not in
// a pentagon's deleted k sub-sequence.
func (c Cell) IsValid() bool {
	if c>>63 != 0 || int(c>>modeOffset)&0xf != cellMode || int(c>>reservedOffset)&7 != 0 {
		return false
	}
	b := c.baseCell()
	if b >= numBaseCells {
		return false
	}
	res := c.Resolution()
	leading := true
	for r := 1; r <= MaxResolution; r++ {
		d := c.digit(r)
		if r > res {
			if d != invalidDigit {
				return false
			}
			continue
		}
		if d == invalidDigit {
			return false
		}
		if leading && d != 0 {
			leading = false
			if baseCells[b].isPentagon && d == 1 {
				return false
			}
		}
	}
	return true
}

// IsPentagon reports whether c is one of the 12 pentagons of its
// resolution: a pentagon base cell and all digits 0.
func (c Cell) IsPentagon() bool {
	b := c.baseCell()
	return b < numBaseCells && baseCells[b].isPentagon && c.leadingDigit() == 0
}

// String returns the index in lower-case hexadecimal, as h3-js writes it
// (for example "8928308280fffff").
func (c Cell) String() string { return strconv.FormatUint(uint64(c), 16) }

// ParseCell parses a cell index written in hexadecimal (either case, at
// most 16 digits, no prefix) and checks it is a valid cell.
func ParseCell(s string) (Cell, error) {
	if len(s) == 0 || len(s) > 16 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidCell, s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || !Cell(v).IsValid() {
		return 0, fmt.Errorf("%w: %q", ErrInvalidCell, s)
	}
	return Cell(v), nil
}

// Parent returns the ancestor of c at resolution res (c itself when res is
// its resolution). It fails with ErrResolution when res is outside 0-15 or
// finer than c, and with ErrInvalidCell when c is not valid.
func (c Cell) Parent(res int) (Cell, error) {
	if !c.IsValid() {
		return 0, ErrInvalidCell
	}
	if res < 0 || res > c.Resolution() {
		return 0, ErrResolution
	}
	p := c.withResolution(res)
	for r := res + 1; r <= c.Resolution(); r++ {
		p = p.withDigit(r, invalidDigit)
	}
	return p, nil
}

// LatLngToCell returns the cell at resolution res (0-15) that contains the
// point lat, lng in degrees (WGS 84 coordinates treated as spherical, as H3
// does). Any finite latitude and longitude is accepted.
func LatLngToCell(lat, lng float64, res int) (Cell, error) {
	if res < 0 || res > MaxResolution {
		return 0, ErrResolution
	}
	if math.IsInf(lat, 0) || math.IsNaN(lat) || math.IsInf(lng, 0) || math.IsNaN(lng) {
		return 0, ErrLatLng
	}
	face, v := geoToHex2d(degToRad(lat), degToRad(lng), res)
	c := faceIJKToCell(faceIJK{face, hex2dToIJK(v)}, res)
	if c == 0 {
		// not seen for finite input; H3 answers E_FAILED
		return 0, fmt.Errorf("h3: no cell for %v, %v at resolution %d", lat, lng, res)
	}
	return c, nil
}

// Center returns the centre of the cell, latitude and longitude in degrees.
// It returns NaN, NaN for an invalid cell.
func (c Cell) Center() (lat, lng float64) {
	if !c.IsValid() {
		return math.NaN(), math.NaN()
	}
	fijk := c.faceIJK()
	v := fijk.coord.hex2d()
	latR, lngR := hex2dToGeo(v, fijk.face, c.Resolution(), false)
	return radToDeg(latR), radToDeg(lngR)
}

// Boundary returns the cell's boundary as [lat, lng] vertices in degrees,
// counter-clockwise, in H3's order and starting at H3's first vertex, not
// closed. A hexagon has 6 vertices and a pentagon 5, plus, at the odd
// (Class III) resolutions, a vertex wherever an edge crosses an icosahedron
// edge (every edge of such a pentagon does): up to 10 in all. It returns
// nil for an invalid cell.
func (c Cell) Boundary() [][2]float64 {
	if !c.IsValid() {
		return nil
	}
	var b [][2]float64
	if c.IsPentagon() {
		b = pentBoundary(c.faceIJK(), c.Resolution())
	} else {
		b = hexBoundary(c.faceIJK(), c.Resolution())
	}
	for i := range b {
		b[i] = [2]float64{radToDeg(b[i][0]), radToDeg(b[i][1])}
	}
	return b
}

func degToRad(d float64) float64 { return d * math.Pi / 180 }
func radToDeg(r float64) float64 { return r * 180 / math.Pi }

// Digit rotations by 60° about a cell centre, indexed by digit (7 stays 7).
var (
	rot60ccw = [8]int{0, 5, 3, 1, 6, 4, 2, 7}
	rot60cw  = [8]int{0, 3, 6, 2, 5, 1, 4, 7}
)

// rotate60 rotates all digits of c by 60°, counter-clockwise or clockwise.
func (c Cell) rotate60(ccw bool) Cell {
	rot := &rot60cw
	if ccw {
		rot = &rot60ccw
	}
	for r := 1; r <= c.Resolution(); r++ {
		c = c.withDigit(r, rot[c.digit(r)])
	}
	return c
}

// rotatePent60ccw rotates c by 60° counter-clockwise about a pentagon
// centre: if the rotation moves the first non-zero digit onto the deleted k
// direction, it rotates once more.
func (c Cell) rotatePent60ccw() Cell {
	found := false
	for r := 1; r <= c.Resolution(); r++ {
		c = c.withDigit(r, rot60ccw[c.digit(r)])
		if !found && c.digit(r) != 0 {
			found = true
			if c.leadingDigit() == 1 {
				c = c.rotate60(true)
			}
		}
	}
	return c
}

// faceIJKToCell encodes the cell at FaceIJK address fijk and resolution
// res: it climbs the aperture 7 hierarchy to resolution 0, recording each
// step's digit, looks the base cell up by its face address, and rotates the
// digits from the face's orientation into the base cell's. It returns 0 if
// the address is off the face's base cells.
func faceIJKToCell(fijk faceIJK, res int) Cell {
	h := cellInit | cellMode<<modeOffset
	h = h.withResolution(res)

	c := fijk.coord
	for r := res - 1; r >= 0; r-- {
		last := c
		var center coordIJK
		if isClassIII(r + 1) {
			c = c.upAp7()
			center = c.downAp7()
		} else {
			c = c.upAp7r()
			center = c.downAp7r()
		}
		h = h.withDigit(r+1, last.sub(center).normalize().toDigit())
	}
	if c.i > maxFaceCoord || c.j > maxFaceCoord || c.k > maxFaceCoord {
		return 0
	}

	bcr := faceIJKBaseCells[fijk.face][c.i][c.j][c.k]
	h |= Cell(bcr.baseCell) << baseCellOffset

	if baseCells[bcr.baseCell].isPentagon {
		// leave the deleted k sub-sequence: turn towards the side the
		// face is offset to
		if h.leadingDigit() == 1 {
			h = h.rotate60(!isCwOffset(bcr.baseCell, fijk.face))
		}
		for range bcr.ccwRot60 {
			h = h.rotatePent60ccw()
		}
	} else {
		for range bcr.ccwRot60 {
			h = h.rotate60(true)
		}
	}
	return h
}

// faceIJK returns the FaceIJK address of a valid cell: the base cell's home
// address walked down the digits, then moved onto a neighbouring face if it
// lies beyond the home face's edge.
func (c Cell) faceIJK() faceIJK {
	b := c.baseCell()
	res := c.Resolution()
	pentagon := baseCells[b].isPentagon

	// a pentagon's sub-sequence 5 lies rotated on its home face
	if pentagon && c.leadingDigit() == 5 {
		c = c.rotate60(false)
	}

	fijk := baseCells[b].home
	for r := 1; r <= res; r++ {
		if isClassIII(r) {
			fijk.coord = fijk.coord.downAp7()
		} else {
			fijk.coord = fijk.coord.downAp7r()
		}
		fijk.coord = fijk.coord.neighbor(c.digit(r))
	}

	// the hierarchy of a hexagon base cell centred on its face (or a
	// resolution 0 cell) never leaves that face
	if !pentagon && (res == 0 || baseCells[b].home.coord == (coordIJK{})) {
		return fijk
	}

	// check for overage on the Class II lattice one step finer
	orig := fijk.coord
	adjRes := res
	if isClassIII(res) {
		fijk.coord = fijk.coord.downAp7r()
		adjRes++
	}
	pentLeading4 := pentagon && c.leadingDigit() == 4
	if adjustOverage(&fijk, adjRes, pentLeading4, false) != noOverage {
		// a pentagon's cells can cross a second edge
		if pentagon {
			for adjustOverage(&fijk, adjRes, false, false) != noOverage {
			}
		}
		if adjRes != res {
			fijk.coord = fijk.coord.upAp7r()
		}
	} else if adjRes != res {
		fijk.coord = orig
	}
	return fijk
}
