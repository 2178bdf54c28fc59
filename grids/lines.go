package grids

import (
	"context"
	"fmt"
	"regexp"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
)

// LineFeature is one line that cuts communities into blocks (a road, a river,
// a wall), read from an import file and already in WGS-84.
type LineFeature struct {
	Index    int // position in the file's features, from 0
	SourceID string
	Class    string
	Name     string
	Geom     orb.MultiLineString
	// Attrs are the file's properties that are not fields (nil when there
	// are none).
	Attrs map[string]any
}

// LineStore is the storage the line import needs.
type LineStore interface {
	// ImportLines replaces the stored features of the layer with feats in
	// one transaction, or writes nothing and returns a *RejectedError listing
	// every refused feature.
	ImportLines(ctx context.Context, layer string, feats []LineFeature, actor, reason string) (ImportReport, error)
}

// LineFit is what fitting a line layer did (gridd import lines --fit):
// road ends left dangling short of another line of the layer, within the
// tolerance, were moved onto it, so that the builder cuts the block there.
type LineFit struct {
	// Snapped is the number of line ends moved; MaxMoveM the longest move,
	// in metres.
	Snapped  int
	MaxMoveM float64
}

var layerName = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ParseLayer checks a line layer's name: 1-64 letters, digits, _ or -.
func ParseLayer(s string) (string, error) {
	if !layerName.MatchString(s) {
		return "", Invalid("layer", "%q is not a layer name (1-64 letters, digits, _ or -)", s)
	}
	return s, nil
}

// ParseLines reads a GeoJSON FeatureCollection of LineStrings and
// MultiLineStrings (optional properties id, class, name), converts the
// coordinates from crs to WGS-84 and checks each feature on its own. Features
// that fail come back as rejections; a file that is not a FeatureCollection
// is an error.
func ParseLines(data []byte, crs geo.CRS) ([]LineFeature, []Rejection, error) {
	feats, rejected, _, err := ReadLines(data, crs, FieldMap{Kind: LineFields})
	return feats, rejected, err
}

// ReadLines is ParseLines with a field mapping (id, class and name from
// the properties the mapping names or recognises; the others kept as
// Attrs). It returns the mapping it used.
func ReadLines(data []byte, crs geo.CRS, fm FieldMap) ([]LineFeature, []Rejection, Mapping, error) {
	fm.Kind = LineFields
	features, names, err := readFileFeatures(data)
	if err != nil {
		return nil, nil, Mapping{}, err
	}
	m, err := fm.Resolve(names)
	if err != nil {
		return nil, nil, m, err
	}
	var feats []LineFeature
	var rejected []Rejection
	for i, ff := range features {
		f, err := parseLineFeature(i, ff, m, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: f.SourceID, Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	return feats, rejected, m, nil
}

func parseLineFeature(i int, ff fileFeature, m Mapping, crs geo.CRS) (LineFeature, error) {
	f := LineFeature{Index: i}
	gf, err := geojson.UnmarshalFeature(ff.raw)
	if err != nil {
		return f, fmt.Errorf("not a GeoJSON feature: %v", err)
	}
	fields, attrs, err := m.mapped(ff)
	f.SourceID, f.Class, f.Name, f.Attrs = fields["id"], fields["class"], fields["name"], attrs
	if f.SourceID == "" && gf.ID != nil {
		f.SourceID = fmt.Sprint(gf.ID)
	}
	if err != nil {
		return f, err
	}
	switch g := gf.Geometry.(type) {
	case orb.LineString:
		f.Geom = orb.MultiLineString{g}
	case orb.MultiLineString:
		f.Geom = g
	case nil:
		return f, fmt.Errorf("geometry is missing")
	default:
		return f, fmt.Errorf("geometry is a %s; a line feature must be a LineString or MultiLineString", g.GeoJSONType())
	}
	for _, ls := range f.Geom {
		if len(ls) < 2 {
			return f, fmt.Errorf("a line has %d point(s); it needs at least 2", len(ls))
		}
		for _, p := range ls {
			if !geo.InChina(p) {
				if geo.InChina(orb.Point{p[1], p[0]}) {
					return f, fmt.Errorf("coordinate [%g, %g] is outside China; it looks like lat,lon: GeoJSON wants lon,lat", p[0], p[1])
				}
				return f, fmt.Errorf("coordinate [%g, %g] is outside China", p[0], p[1])
			}
		}
	}
	geo.GeometryToWGS84(f.Geom, crs)
	return f, nil
}
