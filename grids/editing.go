package grids

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
)

// An edit of unit grids is a changeset: a message and a list of operations,
// applied all or nothing in one transaction. Every operation names the grids
// it touches and the version it was made against; the result must keep the
// partition of each community exact (checked again by the database at
// commit, whatever the writer).

// OpKind is the kind of one edit operation.
type OpKind string

// The edit operations.
const (
	// Reshape moves the boundary shared by grids: either a new line for the
	// edge between two grids (Line), or shared vertices moved (Moves), in
	// which case every grid having a moved vertex must be listed.
	Reshape OpKind = "reshape"
	// Split cuts one grid by a line; the largest part keeps the code.
	Split OpKind = "split"
	// Merge joins adjacent grids of one community; the largest keeps its code.
	Merge OpKind = "merge"
	// Replace gives new geometries (Parts) to a set of grids of one
	// community that together cover the same area.
	Replace OpKind = "replace"
	// Redraw gives one grid a new geometry (clipped to its community); the
	// neighbours give up what it takes, and what it gives up goes to the
	// neighbour sharing the longest border with each released piece.
	Redraw OpKind = "redraw"
	// Revert is the inverse of an earlier changeset (only made by a revert).
	Revert OpKind = "revert"
)

// GridRef names a grid and the version an operation was made against.
type GridRef struct {
	Code    geo.Code `json:"code"`
	Version int      `json:"version"`
}

// VertexMove moves one vertex shared by grids, from an exact stored
// coordinate to a new one.
type VertexMove struct {
	From orb.Point `json:"from"`
	To   orb.Point `json:"to"`
}

// Part is one geometry of a Replace: keeping the code of an input grid, or
// with no code, a new grid.
type Part struct {
	Code     geo.Code          `json:"code,omitempty"`
	Geometry *geojson.Geometry `json:"geometry"`
}

// Operation is one step of a changeset.
type Operation struct {
	Op       OpKind            `json:"op"`
	Grids    []GridRef         `json:"grids"`
	Line     *geojson.Geometry `json:"line,omitempty"`
	Moves    []VertexMove      `json:"moves,omitempty"`
	Parts    []Part            `json:"parts,omitempty"`
	Geometry *geojson.Geometry `json:"geometry,omitempty"`
	// Changeset is the changeset a revert reverses.
	Changeset int64 `json:"changeset,omitempty"`
}

// ChangesetRequest is what an editor submits.
type ChangesetRequest struct {
	Message    string      `json:"message"`
	Operations []Operation `json:"operations"`
}

// GridVersion is one version of one grid.
type GridVersion struct {
	Code    geo.Code `json:"code"`
	Version int      `json:"version"`
}

// Warning is a soft-limit violation: the edit is applied, and the editor is
// told.
type Warning struct {
	Code    geo.Code `json:"code"`
	Kind    string   `json:"kind"`
	Message string   `json:"message"`
}

// ChangesetResult says what a changeset did.
type ChangesetResult struct {
	Created  []GridVersion `json:"created"`
	Changed  []GridVersion `json:"changed"`
	Retired  []GridVersion `json:"retired"`
	Warnings []Warning     `json:"warnings"`
}

// Changeset is an applied changeset as stored.
type Changeset struct {
	ID         int64           `json:"id"`
	Message    string          `json:"message"`
	Actor      string          `json:"actor"`
	Created    time.Time       `json:"created"`
	Operations []Operation     `json:"operations"`
	Result     ChangesetResult `json:"result"`
	Reverts    *int64          `json:"reverts,omitempty"`
	RevertedBy *int64          `json:"reverted_by,omitempty"`
}

// UnitGrid is one version of a unit grid.
type UnitGrid struct {
	Code          geo.Code    `json:"code"`
	CommunityCode geo.Code    `json:"community_code"`
	StreetCode    geo.Code    `json:"street_code"`
	DistrictCode  geo.Code    `json:"district_code"`
	Geom          orb.Polygon `json:"-"`
	AreaM2        float64     `json:"area_m2"`
	Version       int         `json:"version"`
	LandUse       string      `json:"land_use,omitempty"`
	MgmtLevel     string      `json:"mgmt_level,omitempty"`
	Responsible   string      `json:"responsible,omitempty"`
	Note          string      `json:"note,omitempty"`
	ValidFrom     time.Time   `json:"valid_from"`
	ValidTo       *time.Time  `json:"valid_to,omitempty"`
}

// GridAttributes are the descriptive fields a PUT may change; nil leaves a
// field as it is, a pointer to "" clears it (the stored value becomes
// NULL, as a client that sends null for a cleared field means).
type GridAttributes struct {
	LandUse     *string `json:"land_use,omitempty"`
	MgmtLevel   *string `json:"mgmt_level,omitempty"`
	Responsible *string `json:"responsible,omitempty"`
	Note        *string `json:"note,omitempty"`
}

// GridHistoryEntry is one recorded change of one record.
type GridHistoryEntry struct {
	ID          int64          `json:"id"`
	At          time.Time      `json:"at"`
	Actor       string         `json:"actor"`
	Action      string         `json:"action"`
	Code        string         `json:"code"`
	Reason      string         `json:"reason"`
	Before      map[string]any `json:"before"`
	After       map[string]any `json:"after"`
	ChangesetID *int64         `json:"changeset_id,omitempty"`
}

// StaleError is returned when an operation was made against a version that
// is no longer current. Current holds the current version of every grid the
// request named (0: the code is not current any more).
type StaleError struct {
	Stale   []GridRef `json:"stale"`
	Current []GridRef `json:"current"`
}

func (e *StaleError) Error() string {
	v := VersionError{Entity: "grid"}
	for _, r := range e.Stale {
		v.Stale = append(v.Stale, RecordRef{Code: r.Code.String(), Version: r.Version})
	}
	for _, r := range e.Current {
		v.Current = append(v.Current, RecordRef{Code: r.Code.String(), Version: r.Version})
	}
	return v.Error()
}

// Editor is the storage the grid editor needs.
type Editor interface {
	// ApplyChangeset applies every operation in one transaction, or none.
	// Errors: *InvalidError (bad request or hard-limit violation, saying
	// which operation), *StaleError, *PartitionError.
	ApplyChangeset(ctx context.Context, actor string, req ChangesetRequest) (Changeset, error)
	// RevertChangeset applies the inverse of a changeset as a new one,
	// or refuses with ErrConflict when later changes touched its grids.
	RevertChangeset(ctx context.Context, actor string, id int64, message string) (Changeset, error)
	Changeset(ctx context.Context, id int64) (Changeset, error)
	Grid(ctx context.Context, code geo.Code) (UnitGrid, error)
	// Grids lists the current grids of a community, by code.
	Grids(ctx context.Context, community geo.Code) ([]UnitGrid, error)
	GridHistory(ctx context.Context, code geo.Code) ([]GridHistoryEntry, error)
	// UpdateGrid changes a grid's attributes and, when geom is not nil,
	// redraws it (neighbours adjusted), against the given version. Version
	// 0 is the current one, for clients that send none (QGIS): then a
	// geometry that puts back a vertex the current version got from an edit
	// of another grid is refused with ErrConflict, since it comes from a
	// copy read before that edit and would silently undo it.
	UpdateGrid(ctx context.Context, actor string, ref GridRef, attrs GridAttributes, geom orb.Polygon, message string) (Changeset, error)
}

// PartitionError is an edit refused because the grids of a community would
// no longer cover it exactly.
type PartitionError struct {
	Message string
}

func (e *PartitionError) Error() string { return e.Message }

// Limits are the area and width limits of unit grids. Hard limits reject
// an edit; soft limits only warn.
type Limits struct {
	TargetM2 float64
	// Hard: area must exceed HardMinArea×target; width at least HardMinWidthM.
	HardMinArea   float64
	HardMinWidthM float64
	// Soft: area within [SoftMinArea, SoftMaxArea]×target; width at least
	// SoftMinWidthM.
	SoftMinArea   float64
	SoftMaxArea   float64
	SoftMinWidthM float64
}

// DefaultLimits are the builder's quality limits (target 10,000 m², area in
// [0.5, 1.5]×target, width ≥ 20 m) as soft limits, and the hard floor below
// which a grid cannot be patrolled as a unit (area > 0.25×target, width ≥ 10 m).
var DefaultLimits = Limits{
	TargetM2: 10000, HardMinArea: 0.25, HardMinWidthM: 10,
	SoftMinArea: 0.5, SoftMaxArea: 1.5, SoftMinWidthM: 20,
}

// Check returns the soft-limit warnings for a grid of that area and width,
// or an *InvalidError naming the grid when a hard limit is broken.
func (l Limits) Check(field string, code geo.Code, areaM2, widthM float64) ([]Warning, error) {
	if areaM2 <= l.HardMinArea*l.TargetM2 {
		return nil, Invalid(field, "grid %s would have %.0f m², below the hard limit of %.0f m² (%.2f × target)",
			code, areaM2, l.HardMinArea*l.TargetM2, l.HardMinArea)
	}
	if widthM < l.HardMinWidthM {
		return nil, Invalid(field, "grid %s would be %.1f m wide, below the hard limit of %.0f m", code, widthM, l.HardMinWidthM)
	}
	var ws []Warning
	if areaM2 < l.SoftMinArea*l.TargetM2 || areaM2 > l.SoftMaxArea*l.TargetM2 {
		ws = append(ws, Warning{Code: code, Kind: "area", Message: fmt.Sprintf(
			"grid %s has %.0f m², outside [%.0f, %.0f] m²", code, areaM2, l.SoftMinArea*l.TargetM2, l.SoftMaxArea*l.TargetM2)})
	}
	if widthM < l.SoftMinWidthM {
		ws = append(ws, Warning{Code: code, Kind: "width", Message: fmt.Sprintf(
			"grid %s is %.1f m wide, below %.0f m", code, widthM, l.SoftMinWidthM)})
	}
	return ws, nil
}

// Validate checks the shape of a request: message, known operations, grid
// codes, and the fields each operation needs. It does not look at stored
// grids.
func (r ChangesetRequest) Validate() error {
	if strings.TrimSpace(r.Message) == "" {
		return Invalid("message", "a changeset needs a message saying why")
	}
	if len(r.Operations) == 0 {
		return Invalid("operations", "a changeset needs at least one operation")
	}
	for i, op := range r.Operations {
		if err := op.validate(fmt.Sprintf("operations[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func (op Operation) validate(f string) error {
	for j, g := range op.Grids {
		if _, err := geo.ParseCodeAt(string(g.Code), geo.Grid); err != nil {
			return Invalid(fmt.Sprintf("%s.grids[%d].code", f, j), "%v", err)
		}
		if g.Version < 1 {
			return Invalid(fmt.Sprintf("%s.grids[%d].version", f, j), "the version the edit was made against is required (≥ 1)")
		}
		for _, h := range op.Grids[:j] {
			if h.Code == g.Code {
				return Invalid(f+".grids", "grid %s is listed twice", g.Code)
			}
		}
	}
	if len(op.Grids) > 0 {
		comm := op.Grids[0].Code.At(geo.Community)
		for _, g := range op.Grids[1:] {
			if g.Code.At(geo.Community) != comm {
				return Invalid(f+".grids", "grids %s and %s are in different communities; an operation edits one community", op.Grids[0].Code, g.Code)
			}
		}
	}
	line := func() error {
		if op.Line == nil {
			return Invalid(f+".line", "a %s needs a line", op.Op)
		}
		ls, ok := op.Line.Geometry().(orb.LineString)
		if !ok || len(ls) < 2 {
			return Invalid(f+".line", "want a LineString of at least 2 points")
		}
		if err := geo.ValidateLineString(ls, geo.GridPolygonLimits); err != nil {
			return Invalid(f+".line", "%v", err)
		}
		return nil
	}
	switch op.Op {
	case Reshape:
		if len(op.Moves) == 0 && op.Line == nil {
			return Invalid(f, "a reshape needs a line (the new shared edge) or moves (vertices to move)")
		}
		if op.Line != nil {
			if len(op.Grids) != 2 {
				return Invalid(f+".grids", "a reshape by line names exactly the 2 grids that share the edge, got %d", len(op.Grids))
			}
			return line()
		}
		if len(op.Grids) < 1 {
			return Invalid(f+".grids", "a reshape names the grids that have the moved vertices")
		}
		if n := geo.GridPolygonLimits.MaxVertices; len(op.Moves) > n {
			return Invalid(f+".moves", "%d moves; a reshape moves at most %d vertices", len(op.Moves), n)
		}
		for j, m := range op.Moves {
			if err := checkCoords(fmt.Sprintf("%s.moves[%d]", f, j), []orb.Point{m.From, m.To}); err != nil {
				return err
			}
		}
	case Split:
		if len(op.Grids) != 1 {
			return Invalid(f+".grids", "a split names exactly 1 grid, got %d", len(op.Grids))
		}
		return line()
	case Merge:
		if len(op.Grids) < 2 {
			return Invalid(f+".grids", "a merge names at least 2 grids, got %d", len(op.Grids))
		}
	case Replace:
		if len(op.Grids) < 1 || len(op.Parts) < 1 {
			return Invalid(f, "a replace names the grids it replaces and the parts that replace them")
		}
		for j, p := range op.Parts {
			pf := fmt.Sprintf("%s.parts[%d]", f, j)
			if p.Code != "" {
				found := false
				for _, g := range op.Grids {
					found = found || g.Code == p.Code
				}
				if !found {
					return Invalid(pf+".code", "%s is not one of the replaced grids; leave the code out for a new grid", p.Code)
				}
				for _, q := range op.Parts[:j] {
					if q.Code == p.Code {
						return Invalid(pf+".code", "code %s is given to two parts", p.Code)
					}
				}
			}
			if err := polygonField(pf+".geometry", p.Geometry); err != nil {
				return err
			}
		}
	case Redraw:
		if len(op.Grids) != 1 {
			return Invalid(f+".grids", "a redraw names exactly 1 grid, got %d", len(op.Grids))
		}
		return polygonField(f+".geometry", op.Geometry)
	case "":
		return Invalid(f+".op", "missing; want reshape, split, merge, replace or redraw")
	default:
		return Invalid(f+".op", "unknown operation %q; want reshape, split, merge, replace or redraw", op.Op)
	}
	return nil
}

func polygonField(f string, g *geojson.Geometry) error {
	if g == nil {
		return Invalid(f, "missing")
	}
	p, ok := g.Geometry().(orb.Polygon)
	if !ok {
		return Invalid(f, "want a Polygon, got a %s", g.Geometry().GeoJSONType())
	}
	return CheckGridPolygon(f, p)
}

// CheckGridPolygon checks a grid geometry an edit brings in, before any of
// it reaches PostGIS: a valid polygon (as ST_IsValid defines it) within
// geo.GridPolygonLimits. The *InvalidError names the field, the problem and
// its place.
func CheckGridPolygon(field string, p orb.Polygon) error {
	if err := geo.ValidatePolygon(p, geo.GridPolygonLimits); err != nil {
		return Invalid(field, "%v", err)
	}
	return nil
}

func checkCoords[T ~[]orb.Point](f string, pts T) error {
	for _, p := range pts {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || p[0] < chinaMinLon || p[0] > chinaMaxLon || p[1] < chinaMinLat || p[1] > chinaMaxLat {
			return Invalid(f, "coordinate [%g, %g] is not a WGS-84 lon,lat in China", p[0], p[1])
		}
	}
	return nil
}

// MoveVertices returns the polygon with every vertex equal to a move's From
// (within tol degrees) replaced by its To, and how many vertices moved.
// Neighbours share bit-identical vertices, so moving the same vertex in each
// of them keeps their shared edges exact.
func MoveVertices(p orb.Polygon, moves []VertexMove, tol float64) (orb.Polygon, int) {
	out := p.Clone()
	n := 0
	for _, r := range out {
		for i, pt := range r {
			for _, m := range moves {
				if math.Abs(pt[0]-m.From[0]) <= tol && math.Abs(pt[1]-m.From[1]) <= tol {
					r[i] = m.To
					n++
					break
				}
			}
		}
	}
	return out, n
}

// FeatureQuery selects items of a feature collection: a WGS-84 bbox (or
// none), a page size and an offset.
type FeatureQuery struct {
	BBox   *orb.Bound
	Limit  int
	Offset int
}

// FeatureProperty describes one property of a collection's features, as
// an OGC API - Features schema lists it: its JSON type ("string",
// "integer", "number"), a format ("date", "date-time") where one applies,
// and ReadOnly when gridd writes it and ignores it in an edit.
type FeatureProperty struct {
	Name, Type, Format, Title string
	ReadOnly                  bool
}

// CollectionExtent is what a collection covers: the bounds of its current
// features (nil when it has none), when the oldest of them became current,
// and how many there are.
type CollectionExtent struct {
	BBox  *orb.Bound
	Since *time.Time
	Count int
}

// FeaturePage is one page of a collection's items, each a GeoJSON Feature,
// and how many items match in all.
type FeaturePage struct {
	Features []json.RawMessage
	Matched  int
}

// GridShaper is the single-feature editing that clients without changesets
// (QGIS over OGC API Features) use; each call keeps the partition exact.
type GridShaper interface {
	// CarveGrid creates a grid with the geometry (clipped to the community
	// it mostly lies in), taken from the grids it covers. It takes the
	// attributes of the first grid it covers, as attrs change them.
	CarveGrid(ctx context.Context, actor string, geom orb.Polygon, attrs GridAttributes, message string) (Changeset, error)
	// DissolveGrid retires a grid by merging it into the neighbour that
	// shares the longest border with it.
	DissolveGrid(ctx context.Context, actor string, ref GridRef, message string) (Changeset, error)
}
