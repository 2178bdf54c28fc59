package h3

import "math"

// IJK coordinates (coordijk.c, vec2d.c).
//
// On each icosahedron face the cells of one resolution form a hexagonal
// lattice addressed by three axes i, j and k, 120° apart. A coordinate is
// kept normalized ("IJK+"): no component is negative and at least one is
// zero, so every cell has exactly one address. The unit vectors along the
// axes and their sums are the seven H3 digits 0-6 (digit = 4i + 2j + k).
//
// The resolutions alternate between two lattices: Class II (even
// resolutions) is aligned with the face, Class III (odd resolutions) is
// rotated by asin(sqrt(3/28)) ≈ 19.1°. Going one resolution finer is an
// aperture 7 step, counter-clockwise into Class III and clockwise into
// Class II. Cell vertices live on a finer "substrate" lattice: an aperture 3
// step puts a lattice point on every vertex, and the rotated 3r (and for
// Class III a further 7r) step brings it back to a Class II orientation.

type coordIJK struct{ i, j, k int }

type vec2 struct{ x, y float64 }

// unitVecs are the IJK+ unit vectors of the digits 0-6.
var unitVecs = [7]coordIJK{
	{0, 0, 0}, // 0 centre
	{0, 0, 1}, // 1 k
	{0, 1, 0}, // 2 j
	{0, 1, 1}, // 3 jk
	{1, 0, 0}, // 4 i
	{1, 0, 1}, // 5 ik
	{1, 1, 0}, // 6 ij
}

func (c coordIJK) add(o coordIJK) coordIJK { return coordIJK{c.i + o.i, c.j + o.j, c.k + o.k} }
func (c coordIJK) sub(o coordIJK) coordIJK { return coordIJK{c.i - o.i, c.j - o.j, c.k - o.k} }
func (c coordIJK) scale(f int) coordIJK    { return coordIJK{c.i * f, c.j * f, c.k * f} }

// normalize returns the IJK+ form of c: negative components are removed by
// adding (1,1,1) multiples, then the smallest component is subtracted.
func (c coordIJK) normalize() coordIJK {
	if c.i < 0 {
		c.j -= c.i
		c.k -= c.i
		c.i = 0
	}
	if c.j < 0 {
		c.i -= c.j
		c.k -= c.j
		c.j = 0
	}
	if c.k < 0 {
		c.i -= c.k
		c.j -= c.k
		c.k = 0
	}
	if m := min(c.i, c.j, c.k); m > 0 {
		c.i -= m
		c.j -= m
		c.k -= m
	}
	return c
}

// basis returns the normalized i·a + j·b + k·c: c expressed with the given
// images of the three unit vectors.
func (c coordIJK) basis(a, b, d coordIJK) coordIJK {
	return a.scale(c.i).add(b.scale(c.j)).add(d.scale(c.k)).normalize()
}

// toDigit returns the digit of a unit vector, or invalidDigit.
func (c coordIJK) toDigit() int {
	c = c.normalize()
	for d, u := range unitVecs {
		if c == u {
			return d
		}
	}
	return invalidDigit
}

// neighbor returns the cell next to c in the direction of digit d (0: c).
func (c coordIJK) neighbor(d int) coordIJK {
	if d > 0 && d < 7 {
		return c.add(unitVecs[d]).normalize()
	}
	return c
}

// ij converts to the two-axis (i, j) form with k = 0.
func (c coordIJK) ij() (i, j int) { return c.i - c.k, c.j - c.k }

// upAp7 returns the parent of c one counter-clockwise aperture 7 step up.
func (c coordIJK) upAp7() coordIJK {
	i, j := c.ij()
	return coordIJK{
		int(math.Round(float64(3*i-j) / 7)),
		int(math.Round(float64(i+2*j) / 7)),
		0,
	}.normalize()
}

// upAp7r returns the parent of c one clockwise aperture 7 step up.
func (c coordIJK) upAp7r() coordIJK {
	i, j := c.ij()
	return coordIJK{
		int(math.Round(float64(2*i+j) / 7)),
		int(math.Round(float64(3*j-i) / 7)),
		0,
	}.normalize()
}

// downAp7 returns the centre child of c one counter-clockwise aperture 7 step
// down.
func (c coordIJK) downAp7() coordIJK {
	return c.basis(coordIJK{3, 0, 1}, coordIJK{1, 3, 0}, coordIJK{0, 1, 3})
}

// downAp7r returns the centre child of c one clockwise aperture 7 step down.
func (c coordIJK) downAp7r() coordIJK {
	return c.basis(coordIJK{3, 1, 0}, coordIJK{0, 3, 1}, coordIJK{1, 0, 3})
}

// downAp3 returns c on the counter-clockwise aperture 3 substrate.
func (c coordIJK) downAp3() coordIJK {
	return c.basis(coordIJK{2, 0, 1}, coordIJK{1, 2, 0}, coordIJK{0, 1, 2})
}

// downAp3r returns c on the clockwise aperture 3 substrate.
func (c coordIJK) downAp3r() coordIJK {
	return c.basis(coordIJK{2, 1, 0}, coordIJK{0, 2, 1}, coordIJK{1, 0, 2})
}

// rotate60ccw rotates c by 60° counter-clockwise about the origin.
func (c coordIJK) rotate60ccw() coordIJK {
	return c.basis(coordIJK{1, 1, 0}, coordIJK{0, 1, 1}, coordIJK{1, 0, 1})
}

// rotate60cw rotates c by 60° clockwise about the origin.
func (c coordIJK) rotate60cw() coordIJK {
	return c.basis(coordIJK{1, 0, 1}, coordIJK{1, 1, 0}, coordIJK{0, 1, 1})
}

// hex2d returns the centre of cell c in the face's plane, in units of the
// distance between neighbouring cell centres, the x axis along i.
func (c coordIJK) hex2d() vec2 {
	i, j := c.ij()
	return vec2{float64(i) - 0.5*float64(j), float64(j) * sqrt3_2}
}

// hex2dToIJK returns the cell containing the plane point v. It quantizes in
// the first sextant (after taking absolute values) and folds the result
// back across the axes; this is DGGRID's algorithm, as H3 uses it.
func hex2dToIJK(v vec2) coordIJK {
	a1, a2 := math.Abs(v.x), math.Abs(v.y)

	// reverse conversion into the (i, j) axes
	x2 := a2 / sin60
	x1 := a1 + x2/2

	m1, m2 := int(x1), int(x2)
	r1, r2 := x1-float64(m1), x2-float64(m2)

	var h coordIJK
	if r1 < 0.5 {
		if r1 < 1.0/3 {
			h.i = m1
			if r2 < (1+r1)/2 {
				h.j = m2
			} else {
				h.j = m2 + 1
			}
		} else {
			if r2 < 1-r1 {
				h.j = m2
			} else {
				h.j = m2 + 1
			}
			if 1-r1 <= r2 && r2 < 2*r1 {
				h.i = m1 + 1
			} else {
				h.i = m1
			}
		}
	} else {
		if r1 < 2.0/3 {
			if r2 < 1-r1 {
				h.j = m2
			} else {
				h.j = m2 + 1
			}
			if 2*r1-1 < r2 && r2 < 1-r1 {
				h.i = m1
			} else {
				h.i = m1 + 1
			}
		} else {
			h.i = m1 + 1
			if r2 < r1/2 {
				h.j = m2
			} else {
				h.j = m2 + 1
			}
		}
	}

	// fold across the axes if necessary
	if v.x < 0 {
		if h.j%2 == 0 {
			h.i -= 2 * (h.i - h.j/2)
		} else {
			h.i -= 2*(h.i-(h.j+1)/2) + 1
		}
	}
	if v.y < 0 {
		h.i -= (2*h.j + 1) / 2
		h.j = -h.j
	}
	return h.normalize()
}

// almostEqual reports whether a and b are within single-precision epsilon
// (2^-23) of each other in both coordinates, as H3's _vec2AlmostEquals.
func almostEqual(a, b vec2) bool {
	const fltEpsilon = 0x1p-23
	return math.Abs(a.x-b.x) < fltEpsilon && math.Abs(a.y-b.y) < fltEpsilon
}

// intersect returns the intersection of the lines p0-p1 and p2-p3, in
// double precision like H3 4.5 (earlier versions kept the line parameter
// in a C float, which moved the extra vertices on icosahedron edges by up
// to ~1e-7°).
func intersect(p0, p1, p2, p3 vec2) vec2 {
	s1 := vec2{p1.x - p0.x, p1.y - p0.y}
	s2 := vec2{p3.x - p2.x, p3.y - p2.y}
	t := (s2.x*(p0.y-p2.y) - s2.y*(p0.x-p2.x)) / (-s2.x*s1.y + s1.x*s2.y)
	return vec2{p0.x + t*s1.x, p0.y + t*s1.y}
}
