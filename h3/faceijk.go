package h3

import "math"

// The icosahedron and its faces (faceijk.c, vec3.c, latLng.c).
//
// H3 projects each of the 20 faces of an icosahedron onto the plane tangent
// at the face's centre with a gnomonic projection, and lays the hexagonal
// lattices of all resolutions on that plane, centred on the face centre. A
// point belongs to the face whose centre is nearest; a FaceIJK address is a
// face and a cell's IJK+ coordinates on it. The lattice continues past the
// face's edges: an address beyond an edge ("overage") is re-expressed on the
// neighbouring face by a rotation and a translation (faceNeighbors).

const (
	numFaces     = 20
	numBaseCells = 122

	epsilon  = 1e-16
	twoPi    = 2 * math.Pi
	sqrt3_2  = 0.8660254037844386467637231707529361834714 // sqrt(3)/2
	sin60    = sqrt3_2
	sqrt7    = 2.6457513110645905905016157536392604257102
	invSqrt7 = 0.3779644730092272272145165362341800608157
	oneThird = 1.0 / 3
	// ap7Rot is the rotation between the Class II and Class III lattices,
	// asin(sqrt(3/28)).
	ap7Rot = 0.333473172251832115336090755351601070065900389
	// res0UGnomonic is the gnomonic length of one resolution 0 unit (the
	// distance between neighbouring cell centres on the plane).
	res0UGnomonic    = 0.38196601125010500003
	invRes0UGnomonic = 2.61803398874989484820
	// maxFaceCoord is the largest IJK+ component of a base cell on a face.
	maxFaceCoord = 2
)

type faceIJK struct {
	face  int
	coord coordIJK
}

// faceCenterPoint are the face centres on the unit sphere.
var faceCenterPoint = [numFaces]vec3{
	{0.2199307791404606, 0.6583691780274996, 0.7198475378926182},
	{-0.2139234834501421, 0.1478171829550703, 0.9656017935214205},
	{0.1092625278784797, -0.4811951572873210, 0.8697775121287253},
	{0.7428567301586791, -0.3593941678278028, 0.5648005936517033},
	{0.8112534709140969, 0.3448953237639384, 0.4721387736413930},
	{-0.1055498149613921, 0.9794457296411413, 0.1718874610009365},
	{-0.8075407579970092, 0.1533552485898818, 0.5695261994882688},
	{-0.2846148069787907, -0.8644080972654206, 0.4144792552473539},
	{0.7405621473854482, -0.6673299564565524, -0.0789837646326737},
	{0.8512303986474293, 0.4722343788582681, -0.2289137388687808},
	{-0.7405621473854481, 0.6673299564565524, 0.0789837646326737},
	{-0.8512303986474292, -0.4722343788582682, 0.2289137388687808},
	{0.1055498149613919, -0.9794457296411413, -0.1718874610009365},
	{0.8075407579970092, -0.1533552485898819, -0.5695261994882688},
	{0.2846148069787908, 0.8644080972654204, -0.4144792552473539},
	{-0.7428567301586791, 0.3593941678278027, -0.5648005936517033},
	{-0.8112534709140971, -0.3448953237639382, -0.4721387736413930},
	{-0.2199307791404607, -0.6583691780274996, -0.7198475378926182},
	{0.2139234834501420, -0.1478171829550704, -0.9656017935214205},
	{-0.1092625278784796, 0.4811951572873210, -0.8697775121287253},
}

// faceAxisAz is, for each face, the azimuth in radians from the face centre
// towards the Class II i axis.
var faceAxisAz = [numFaces]float64{
	5.619958268523939882, 5.760339081714187279, 0.780213654393430055,
	0.430469363979999913, 6.130269123335111400, 2.692877706530642877,
	2.982963003477243874, 3.532912002790141181, 3.494305004259568154,
	3.003214169499538391, 5.930472956509811562, 0.138378484090254847,
	0.448714947059150361, 0.158629650112549365, 5.891865957979238535,
	2.711123289609793325, 3.294508837434268316, 3.804819692245439833,
	3.664438879055192436, 2.361378999196363184,
}

// The three "quadrants" beyond a face's edges, named by the two axes that
// span them, and -1 for faces that do not touch.
const (
	ij = 1
	ki = 2
	jk = 3
)

// faceOrient says how to carry an address across one edge of a face: the
// neighbouring face, the translation of the origin (in units of the face's
// resolution 0 lattice), and the 60° counter-clockwise rotations.
type faceOrient struct {
	face      int
	translate coordIJK
	ccwRot60  int
}

// faceNeighbors[f][q] is face f's neighbour across quadrant q (index 0 is f
// itself).
var faceNeighbors = [numFaces][4]faceOrient{
	{{0, coordIJK{0, 0, 0}, 0}, {4, coordIJK{2, 0, 2}, 1}, {1, coordIJK{2, 2, 0}, 5}, {5, coordIJK{0, 2, 2}, 3}},
	{{1, coordIJK{0, 0, 0}, 0}, {0, coordIJK{2, 0, 2}, 1}, {2, coordIJK{2, 2, 0}, 5}, {6, coordIJK{0, 2, 2}, 3}},
	{{2, coordIJK{0, 0, 0}, 0}, {1, coordIJK{2, 0, 2}, 1}, {3, coordIJK{2, 2, 0}, 5}, {7, coordIJK{0, 2, 2}, 3}},
	{{3, coordIJK{0, 0, 0}, 0}, {2, coordIJK{2, 0, 2}, 1}, {4, coordIJK{2, 2, 0}, 5}, {8, coordIJK{0, 2, 2}, 3}},
	{{4, coordIJK{0, 0, 0}, 0}, {3, coordIJK{2, 0, 2}, 1}, {0, coordIJK{2, 2, 0}, 5}, {9, coordIJK{0, 2, 2}, 3}},
	{{5, coordIJK{0, 0, 0}, 0}, {10, coordIJK{2, 2, 0}, 3}, {14, coordIJK{2, 0, 2}, 3}, {0, coordIJK{0, 2, 2}, 3}},
	{{6, coordIJK{0, 0, 0}, 0}, {11, coordIJK{2, 2, 0}, 3}, {10, coordIJK{2, 0, 2}, 3}, {1, coordIJK{0, 2, 2}, 3}},
	{{7, coordIJK{0, 0, 0}, 0}, {12, coordIJK{2, 2, 0}, 3}, {11, coordIJK{2, 0, 2}, 3}, {2, coordIJK{0, 2, 2}, 3}},
	{{8, coordIJK{0, 0, 0}, 0}, {13, coordIJK{2, 2, 0}, 3}, {12, coordIJK{2, 0, 2}, 3}, {3, coordIJK{0, 2, 2}, 3}},
	{{9, coordIJK{0, 0, 0}, 0}, {14, coordIJK{2, 2, 0}, 3}, {13, coordIJK{2, 0, 2}, 3}, {4, coordIJK{0, 2, 2}, 3}},
	{{10, coordIJK{0, 0, 0}, 0}, {5, coordIJK{2, 2, 0}, 3}, {6, coordIJK{2, 0, 2}, 3}, {15, coordIJK{0, 2, 2}, 3}},
	{{11, coordIJK{0, 0, 0}, 0}, {6, coordIJK{2, 2, 0}, 3}, {7, coordIJK{2, 0, 2}, 3}, {16, coordIJK{0, 2, 2}, 3}},
	{{12, coordIJK{0, 0, 0}, 0}, {7, coordIJK{2, 2, 0}, 3}, {8, coordIJK{2, 0, 2}, 3}, {17, coordIJK{0, 2, 2}, 3}},
	{{13, coordIJK{0, 0, 0}, 0}, {8, coordIJK{2, 2, 0}, 3}, {9, coordIJK{2, 0, 2}, 3}, {18, coordIJK{0, 2, 2}, 3}},
	{{14, coordIJK{0, 0, 0}, 0}, {9, coordIJK{2, 2, 0}, 3}, {5, coordIJK{2, 0, 2}, 3}, {19, coordIJK{0, 2, 2}, 3}},
	{{15, coordIJK{0, 0, 0}, 0}, {16, coordIJK{2, 0, 2}, 1}, {19, coordIJK{2, 2, 0}, 5}, {10, coordIJK{0, 2, 2}, 3}},
	{{16, coordIJK{0, 0, 0}, 0}, {17, coordIJK{2, 0, 2}, 1}, {15, coordIJK{2, 2, 0}, 5}, {11, coordIJK{0, 2, 2}, 3}},
	{{17, coordIJK{0, 0, 0}, 0}, {18, coordIJK{2, 0, 2}, 1}, {16, coordIJK{2, 2, 0}, 5}, {12, coordIJK{0, 2, 2}, 3}},
	{{18, coordIJK{0, 0, 0}, 0}, {19, coordIJK{2, 0, 2}, 1}, {17, coordIJK{2, 2, 0}, 5}, {13, coordIJK{0, 2, 2}, 3}},
	{{19, coordIJK{0, 0, 0}, 0}, {15, coordIJK{2, 0, 2}, 1}, {18, coordIJK{2, 2, 0}, 5}, {14, coordIJK{0, 2, 2}, 3}},
}

// adjacentFaceDir[f][g] is the quadrant of face f through which face g is
// reached: 0 for f itself, -1 when the faces do not share an edge.
var adjacentFaceDir = [numFaces][numFaces]int{
	{0, ki, -1, -1, ij, jk, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{ij, 0, ki, -1, -1, -1, jk, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{-1, ij, 0, ki, -1, -1, -1, jk, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{-1, -1, ij, 0, ki, -1, -1, -1, jk, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{ki, -1, -1, ij, 0, -1, -1, -1, -1, jk, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
	{jk, -1, -1, -1, -1, 0, -1, -1, -1, -1, ij, -1, -1, -1, ki, -1, -1, -1, -1, -1},
	{-1, jk, -1, -1, -1, -1, 0, -1, -1, -1, ki, ij, -1, -1, -1, -1, -1, -1, -1, -1},
	{-1, -1, jk, -1, -1, -1, -1, 0, -1, -1, -1, ki, ij, -1, -1, -1, -1, -1, -1, -1},
	{-1, -1, -1, jk, -1, -1, -1, -1, 0, -1, -1, -1, ki, ij, -1, -1, -1, -1, -1, -1},
	{-1, -1, -1, -1, jk, -1, -1, -1, -1, 0, -1, -1, -1, ki, ij, -1, -1, -1, -1, -1},
	{-1, -1, -1, -1, -1, ij, ki, -1, -1, -1, 0, -1, -1, -1, -1, jk, -1, -1, -1, -1},
	{-1, -1, -1, -1, -1, -1, ij, ki, -1, -1, -1, 0, -1, -1, -1, -1, jk, -1, -1, -1},
	{-1, -1, -1, -1, -1, -1, -1, ij, ki, -1, -1, -1, 0, -1, -1, -1, -1, jk, -1, -1},
	{-1, -1, -1, -1, -1, -1, -1, -1, ij, ki, -1, -1, -1, 0, -1, -1, -1, -1, jk, -1},
	{-1, -1, -1, -1, -1, ki, -1, -1, -1, ij, -1, -1, -1, -1, 0, -1, -1, -1, -1, jk},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, jk, -1, -1, -1, -1, 0, ij, -1, -1, ki},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, jk, -1, -1, -1, ki, 0, ij, -1, -1},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, jk, -1, -1, -1, ki, 0, ij, -1},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, jk, -1, -1, -1, ki, 0, ij},
	{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, jk, ij, -1, -1, ki, 0},
}

// maxDimByCIIRes is the largest i+j+k of a cell on a face at a Class II
// resolution (the face's edge), and unitScaleByCIIRes the length of the
// face's resolution 0 unit at that resolution; Class III entries are unused.
var (
	maxDimByCIIRes    = [17]int{2, -1, 14, -1, 98, -1, 686, -1, 4802, -1, 33614, -1, 235298, -1, 1647086, -1, 11529602}
	unitScaleByCIIRes = [17]int{1, -1, 7, -1, 49, -1, 343, -1, 2401, -1, 16807, -1, 117649, -1, 823543, -1, 5764801}
)

func isClassIII(res int) bool { return res%2 == 1 }

// posAngle brings an angle in radians into [0, 2π).
func posAngle(a float64) float64 {
	t := a
	if a < 0 {
		t = a + twoPi
	}
	if a >= twoPi {
		t -= twoPi
	}
	return t
}

// vec3 is a point on (or a direction tangent to) the unit sphere.
type vec3 struct{ x, y, z float64 }

func latLngToVec3(lat, lng float64) vec3 {
	r := math.Cos(lat)
	return vec3{math.Cos(lng) * r, math.Sin(lng) * r, math.Sin(lat)}
}

func (v vec3) latLng() (lat, lng float64) { return asin(v.z), math.Atan2(v.y, v.x) }

// asin is math.Asin computed as π/2 - 2·asin(sqrt((1-|x|)/2)) for |x| >
// 1/2, which keeps latitudes near the poles accurate to the last bit, as
// the C library's asin (fdlibm in h3-js) does; math.Asin loses up to ~1e-13
// there.
func asin(x float64) float64 {
	if math.Abs(x) <= 0.5 {
		return math.Asin(x)
	}
	return math.Copysign(math.Pi/2-2*math.Asin(math.Sqrt((1-math.Abs(x))/2)), x)
}

func (v vec3) dot(w vec3) float64 { return v.x*w.x + v.y*w.y + v.z*w.z }

func (v vec3) cross(w vec3) vec3 {
	return vec3{v.y*w.z - v.z*w.y, v.z*w.x - v.x*w.z, v.x*w.y - v.y*w.x}
}

func (v vec3) normalize() vec3 {
	n := math.Sqrt(v.dot(v))
	if n == 0 {
		return v
	}
	inv := 1 / n
	return vec3{v.x * inv, v.y * inv, v.z * inv}
}

// tangentAxes returns the unit vectors pointing north and east in the
// plane tangent to the sphere at c (c must not be a pole; no face centre
// is).
func tangentAxes(c vec3) (north, east vec3) {
	north = vec3{-c.z * c.x, -c.z * c.y, 1 - c.z*c.z}.normalize()
	return north, north.cross(c)
}

// azimuth returns the bearing in radians from c to p, clockwise from north.
func azimuth(c, p vec3) float64 {
	north, east := tangentAxes(c)
	d := p.dot(c)
	t := vec3{p.x - d*c.x, p.y - d*c.y, p.z - d*c.z}.normalize()
	return math.Atan2(t.dot(east), t.dot(north))
}

// geoToHex2d finds the face of a point (radians) and its position on the
// face's plane at resolution res: the angle from the face centre is
// projected gnomonically (tan), and the direction is measured from the
// face's i axis, rotated for Class III.
func geoToHex2d(lat, lng float64, res int) (int, vec2) {
	p := latLngToVec3(lat, lng)
	// the nearest face centre by squared chord length
	face, sqd := 0, 5.0
	for f, c := range faceCenterPoint {
		dx, dy, dz := c.x-p.x, c.y-p.y, c.z-p.z
		if d := dx*dx + dy*dy + dz*dz; d < sqd {
			face, sqd = f, d
		}
	}

	// chord length to angle: cos(r) = 1 - sqd/2
	r := math.Acos(1 - sqd*0.5)
	if r < epsilon {
		return face, vec2{}
	}

	theta := posAngle(faceAxisAz[face] - posAngle(azimuth(faceCenterPoint[face], p)))
	if isClassIII(res) {
		theta = posAngle(theta - ap7Rot)
	}

	r = math.Tan(r) * invRes0UGnomonic
	for range res {
		r *= sqrt7
	}
	return face, vec2{r * math.Cos(theta), r * math.Sin(theta)}
}

// hex2dToGeo is the inverse of geoToHex2d: the point (radians) at v on the
// plane of face at resolution res. On a substrate grid (cell vertices) the
// lattice is 3 times finer, and for Class III also one aperture 7 step
// finer, whose rotation already undid the Class III rotation.
func hex2dToGeo(v vec2, face, res int, substrate bool) (lat, lng float64) {
	c := faceCenterPoint[face]
	r := math.Sqrt(v.x*v.x + v.y*v.y)
	if r < epsilon {
		return c.latLng()
	}
	theta := math.Atan2(v.y, v.x)

	for range res {
		r *= invSqrt7
	}
	if substrate {
		r *= oneThird
		if isClassIII(res) {
			r *= invSqrt7
		}
	}
	r = math.Atan(r * res0UGnomonic)

	if !substrate && isClassIII(res) {
		theta = posAngle(theta + ap7Rot)
	}
	az := posAngle(faceAxisAz[face] - theta)

	// walk the angle r from the centre along the great circle with
	// bearing az
	north, east := tangentAxes(c)
	cosAz, sinAz := math.Cos(az), math.Sin(az)
	dir := vec3{north.x*cosAz + east.x*sinAz, north.y*cosAz + east.y*sinAz, north.z*cosAz + east.z*sinAz}
	cosR, sinR := math.Cos(r), math.Sin(r)
	return vec3{c.x*cosR + dir.x*sinR, c.y*cosR + dir.y*sinR, c.z*cosR + dir.z*sinR}.normalize().latLng()
}

// overage is where adjustOverage found an address.
type overage int

const (
	noOverage overage = iota // on the original face
	faceEdge                 // on a face edge (substrate grids only)
	newFace                  // moved onto the interior of a neighbouring face
)

// adjustOverage moves a Class II address that lies beyond its face's edge
// onto the neighbouring face. pentLeading4 handles a pentagon's cells whose
// first non-zero digit is 4: the pentagon's missing k sub-sequence means
// they must turn 60° before crossing. substrate says fijk is a vertex on the
// substrate grid, which is 3 times finer.
func adjustOverage(fijk *faceIJK, res int, pentLeading4, substrate bool) overage {
	c := &fijk.coord
	maxDim := maxDimByCIIRes[res]
	if substrate {
		maxDim *= 3
	}

	sum := c.i + c.j + c.k
	if substrate && sum == maxDim {
		return faceEdge
	}
	if sum <= maxDim {
		return noOverage
	}

	var orient faceOrient
	switch {
	case c.k > 0 && c.j > 0:
		orient = faceNeighbors[fijk.face][jk]
	case c.k > 0:
		orient = faceNeighbors[fijk.face][ki]
		if pentLeading4 {
			// rotate about the pentagon's centre, the face vertex (maxDim,0,0)
			origin := coordIJK{maxDim, 0, 0}
			*c = c.sub(origin).rotate60cw().add(origin)
		}
	default:
		orient = faceNeighbors[fijk.face][ij]
	}

	fijk.face = orient.face
	for range orient.ccwRot60 {
		*c = c.rotate60ccw()
	}
	unit := unitScaleByCIIRes[res]
	if substrate {
		unit *= 3
	}
	*c = c.add(orient.translate.scale(unit)).normalize()

	// vertices of pentagons can end up on an edge of the new face
	if substrate && c.i+c.j+c.k == maxDim {
		return faceEdge
	}
	return newFace
}

// Vertices of the cell centred at the origin, on the substrate grid,
// counter-clockwise from the i axis: for Class II (aperture 3, then 3r back
// to Class II) and for Class III (3, 3r and 7r). A pentagon uses the first
// five.
var (
	vertsClassII  = [6]coordIJK{{2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {0, 1, 2}, {1, 0, 2}, {2, 0, 1}}
	vertsClassIII = [6]coordIJK{{5, 4, 0}, {1, 5, 0}, {0, 5, 4}, {0, 1, 5}, {4, 0, 5}, {5, 0, 1}}
)

// substrateVerts returns the n vertices of the cell fijk at resolution res
// on the substrate grid, and the resolution of that grid's Class II
// lattice (res+1 for Class III cells).
func substrateVerts(fijk faceIJK, res, n int) ([6]faceIJK, int) {
	verts := vertsClassII
	c := fijk.coord.downAp3().downAp3r()
	if isClassIII(res) {
		verts = vertsClassIII
		c = c.downAp7r()
		res++
	}
	var out [6]faceIJK
	for v := range n {
		out[v] = faceIJK{fijk.face, c.add(verts[v]).normalize()}
	}
	return out, res
}

// faceEdgeEnds returns the two corners (on the substrate plane of Class II
// resolution adjRes) of the edge of a face towards the quadrant dir.
func faceEdgeEnds(dir, adjRes int) (vec2, vec2) {
	m := float64(maxDimByCIIRes[adjRes])
	v0 := vec2{3 * m, 0}
	v1 := vec2{-1.5 * m, 3 * sqrt3_2 * m}
	v2 := vec2{-1.5 * m, -3 * sqrt3_2 * m}
	switch dir {
	case ij:
		return v0, v1
	case jk:
		return v1, v2
	default: // ki
		return v2, v0
	}
}

// hexBoundary returns the boundary (radians) of the hexagon fijk at
// resolution res. Each vertex is projected with the face it lies on. A
// Class III hexagon edge that crosses an icosahedron edge gets an extra
// vertex where it crosses, so that each part is projected with its own face
// (Class II edges cross only at vertices).
func hexBoundary(fijk faceIJK, res int) [][2]float64 {
	verts, adjRes := substrateVerts(fijk, res, 6)
	out := make([][2]float64, 0, 10)
	lastFace, lastOverage := -1, noOverage
	// one step past the last vertex, to check the closing edge too
	for vert := 0; vert < 7; vert++ {
		v := vert % 6
		f := verts[v]
		ov := adjustOverage(&f, adjRes, false, true)

		if isClassIII(res) && vert > 0 && f.face != lastFace && lastOverage != faceEdge {
			p0 := verts[(v+5)%6].coord.hex2d()
			p1 := verts[v].coord.hex2d()
			face2 := lastFace
			if lastFace == fijk.face {
				face2 = f.face
			}
			e0, e1 := faceEdgeEnds(adjacentFaceDir[fijk.face][face2], adjRes)
			x := intersect(p0, p1, e0, e1)
			// no extra vertex when the edge is crossed at (within single
			// precision of) a cell vertex
			if !almostEqual(x, p0) && !almostEqual(x, p1) {
				lat, lng := hex2dToGeo(x, fijk.face, adjRes, true)
				out = append(out, [2]float64{lat, lng})
			}
		}
		if vert < 6 {
			lat, lng := hex2dToGeo(f.coord.hex2d(), f.face, adjRes, true)
			out = append(out, [2]float64{lat, lng})
		}
		lastFace, lastOverage = f.face, ov
	}
	return out
}

// pentBoundary returns the boundary (radians) of the pentagon fijk at
// resolution res. A pentagon sits on an icosahedron vertex, so each of its
// vertices may need several moves to reach its face, and every edge of a
// Class III pentagon crosses an icosahedron edge.
func pentBoundary(fijk faceIJK, res int) [][2]float64 {
	verts, adjRes := substrateVerts(fijk, res, 5)
	out := make([][2]float64, 0, 10)
	var last faceIJK
	for vert := 0; vert < 6; vert++ {
		f := verts[vert%5]
		for adjustOverage(&f, adjRes, false, true) == newFace {
		}

		if isClassIII(res) && vert > 0 {
			// express this vertex on the last vertex's face, and cut the
			// edge between the two faces there
			p0 := last.coord.hex2d()
			orient := faceNeighbors[f.face][adjacentFaceDir[f.face][last.face]]
			c := f.coord
			for range orient.ccwRot60 {
				c = c.rotate60ccw()
			}
			c = c.add(orient.translate.scale(unitScaleByCIIRes[adjRes] * 3)).normalize()
			p1 := c.hex2d()

			e0, e1 := faceEdgeEnds(adjacentFaceDir[orient.face][f.face], adjRes)
			lat, lng := hex2dToGeo(intersect(p0, p1, e0, e1), orient.face, adjRes, true)
			out = append(out, [2]float64{lat, lng})
		}
		if vert < 5 {
			lat, lng := hex2dToGeo(f.coord.hex2d(), f.face, adjRes, true)
			out = append(out, [2]float64{lat, lng})
		}
		last = f
	}
	return out
}
