package grids

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
)

// DivisionFeature is one division read from an import file, already in
// WGS-84 and checked for what can be checked without the database.
type DivisionFeature struct {
	Index int // position in the file's features, from 0
	Code  geo.Code
	Name  string
	Geom  orb.MultiPolygon
	// Attrs are the file's properties that are not fields, kept as they
	// came (nil when there are none).
	Attrs map[string]any
}

// Rejection says why one feature of an import was refused.
type Rejection struct {
	Index  int    `json:"index"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (r Rejection) String() string {
	code := r.Code
	if code == "" {
		code = "(no code)"
	}
	return fmt.Sprintf("feature %d (code %s): %s", r.Index, code, r.Reason)
}

// ImportReport says what an import did, or, when Rejected is not empty, why
// it did nothing.
type ImportReport struct {
	Created   int         `json:"created"`
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	Rejected  []Rejection `json:"rejected,omitempty"`
}

// RejectedError is returned by an all-or-nothing import that refused some
// features and therefore wrote nothing.
type RejectedError struct {
	What     string
	Rejected []Rejection
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s import rejected, nothing was written; %d feature(s) refused:", e.What, len(e.Rejected))
	for _, r := range e.Rejected {
		b.WriteString("\n  ")
		b.WriteString(r.String())
	}
	return b.String()
}

// DivisionStore is the storage the division import and queries need.
type DivisionStore interface {
	// ImportDivisions validates the features against each other and against
	// the stored hierarchy and writes them all in one transaction, or none
	// and a *RejectedError listing every refused feature.
	ImportDivisions(ctx context.Context, feats []DivisionFeature, actor, reason string) (ImportReport, error)
	// Division returns the current division with the code, and its parent chain
	// from the district down (excluding itself).
	Division(ctx context.Context, code geo.Code) (Division, []DivisionRef, error)
	// Children lists the current divisions whose parent is the code, without
	// geometry.
	Children(ctx context.Context, parent geo.Code) ([]DivisionRef, error)
}

// featureCollection reads the features of a GeoJSON FeatureCollection,
// leaving each to its own parser. Anything else, or an empty collection, is
// an error naming the file.
func featureCollection(data []byte) ([]json.RawMessage, error) {
	var head struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, Invalid("file", "not a GeoJSON FeatureCollection: %v", err)
	}
	if head.Type != "FeatureCollection" {
		return nil, Invalid("file", "not a GeoJSON FeatureCollection (type is %q)", head.Type)
	}
	if len(head.Features) == 0 {
		return nil, Invalid("file", "the FeatureCollection has no features")
	}
	return head.Features, nil
}

// China's rough extent: a coordinate outside it is a mistake for a division.
const (
	chinaMinLon, chinaMaxLon = 73.0, 136.0
	chinaMinLat, chinaMaxLat = 3.0, 54.0
)

// ParseDivisions reads a GeoJSON FeatureCollection of districts, streets and
// communities (properties code and name; the level comes from the code's
// length), converts coordinates from crs to WGS-84 and checks each feature on
// its own: code shape, name, polygon geometry, coordinates inside China (with
// a lat/lon swap called out). Features that fail come back as rejections; a
// file that is not a FeatureCollection is an error.
func ParseDivisions(data []byte, crs geo.CRS) ([]DivisionFeature, []Rejection, error) {
	feats, rejected, _, err := ReadDivisions(data, crs, FieldMap{Kind: DivisionFields})
	return feats, rejected, err
}

// ReadDivisions is ParseDivisions with a field mapping: the code and name
// come from the properties the mapping names or recognises (XZQDM, 行政区代码,
// XZQMC, 名称 ...), a code written as a number reads as its digits, and the
// other properties are kept as the feature's Attrs. It returns the mapping
// it used.
func ReadDivisions(data []byte, crs geo.CRS, fm FieldMap) ([]DivisionFeature, []Rejection, Mapping, error) {
	fm.Kind = DivisionFields
	features, names, err := readFileFeatures(data)
	if err != nil {
		return nil, nil, Mapping{}, err
	}
	m, err := fm.Resolve(names)
	if err != nil {
		return nil, nil, m, err
	}
	var feats []DivisionFeature
	var rejected []Rejection
	for i, ff := range features {
		f, err := parseDivisionFeature(i, ff, m, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: f.Code.String(), Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	return feats, rejected, m, nil
}

func parseDivisionFeature(i int, ff fileFeature, m Mapping, crs geo.CRS) (DivisionFeature, error) {
	f := DivisionFeature{Index: i}
	gf, err := geojson.UnmarshalFeature(ff.raw)
	if err != nil {
		return f, fmt.Errorf("not a GeoJSON feature: %v", err)
	}
	fields, attrs, err := m.mapped(ff)
	code, name := fields["code"], fields["name"]
	f.Code, f.Attrs = geo.Code(code), attrs
	if err != nil {
		return f, err
	}
	if code == "" {
		return f, fmt.Errorf("no code: %s", m.missing("code"))
	}
	c, err := geo.ParseCode(code)
	if err != nil {
		return f, err
	}
	if c.Level() == geo.Grid {
		return f, fmt.Errorf("code %s is a unit-grid code; divisions are districts (6 digits), streets (9) and communities (12)", c)
	}
	f.Code = c
	if f.Name = strings.TrimSpace(name); f.Name == "" {
		return f, fmt.Errorf("no name: %s", m.missing("name"))
	}
	switch g := gf.Geometry.(type) {
	case orb.Polygon:
		f.Geom = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		f.Geom = g
	case nil:
		return f, fmt.Errorf("geometry is missing")
	default:
		return f, fmt.Errorf("geometry is a %s; a division must be a Polygon or MultiPolygon", g.GeoJSONType())
	}
	if err := checkChinaRange(f.Geom); err != nil {
		return f, err
	}
	geo.GeometryToWGS84(f.Geom, crs)
	return f, nil
}

// checkChinaRange rejects coordinates outside China, naming a likely lat/lon
// swap.
func checkChinaRange(mp orb.MultiPolygon) error {
	for _, poly := range mp {
		for _, ring := range poly {
			if len(ring) < 4 {
				return fmt.Errorf("a ring has %d points; a closed ring needs at least 4", len(ring))
			}
			for _, p := range ring {
				lon, lat := p[0], p[1]
				if lon >= chinaMinLon && lon <= chinaMaxLon && lat >= chinaMinLat && lat <= chinaMaxLat {
					continue
				}
				if lat >= chinaMinLon && lat <= chinaMaxLon && lon >= chinaMinLat && lon <= chinaMaxLat {
					return fmt.Errorf("coordinate [%g, %g] is outside China; it looks like lat,lon: GeoJSON wants lon,lat", lon, lat)
				}
				return fmt.Errorf("coordinate [%g, %g] is outside China (lon %g-%g, lat %g-%g)", lon, lat, chinaMinLon, chinaMaxLon, chinaMinLat, chinaMaxLat)
			}
		}
	}
	return nil
}
