package grids

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
)

// Buildings (楼栋) with their households (户数) and residents (人口) are the
// data social-management grids are sized by. Each belongs to the unit grid
// owning its representative point (the point, or a point on the surface of
// its footprint), by the single-owner rule of the lookups.

// BuildingFeature is one building as read from an import file, in WGS-84,
// checked for what can be checked without the database.
type BuildingFeature struct {
	// Index is the feature's number in the file (CSV: the data row, from 0).
	Index int
	// Where, when set, says where the feature is in the file beyond its
	// index, for messages: "row 3 (line 5)" of a CSV.
	Where      string
	Name       string // 楼栋号 or name; may be empty
	Households int    // 户数, ≥ 0
	Residents  int    // 人口, ≥ 0
	// Geom is a Point, Polygon or MultiPolygon.
	Geom orb.Geometry
	// Attrs are the file's properties that are not fields (nil when there
	// are none); the import stores them with the building.
	Attrs map[string]any
}

// BuildingSameM is how close, in metres on the ground, the representative
// points of two buildings are when they are taken for the same building: a
// re-survey matches them, a plain import refuses the second as a
// duplicate. Footprints of distinct buildings keep their points farther
// apart (the demo's closest pair: 16.5 m); a re-measured point of
// the same building moves less.
const BuildingSameM = 5.0

// Which file building is which stored building. A plain import and a
// re-survey (ReplaceBuildings) tell it by one rule, deterministically:
//
//  1. By name: a file building and a current building of the same
//     community with the same non-empty name (楼栋号), when that name is
//     unique among the file's buildings of the community and among the
//     current buildings compared with (a re-survey: those of its area; a
//     plain import: all). A name given twice in a community (two
//     compounds, 小区, each with its 1号楼) identifies neither building.
//  2. By place, for the buildings left: representative points within
//     BuildingSameM, across communities too. A re-survey pairs the closest
//     first (ties: the lower file index, then the lower building id), each
//     building at most once; so of two stored copies of one building the
//     older (lower id) is kept.
//
// Two buildings of one file whose points lie within BuildingSameM are a
// duplicate in the file, whatever their names, and refused.

// BuildingImportReport says what a building import or re-survey wrote
// (would write, for a dry run), or, when Rejected is not empty, why it
// wrote nothing.
type BuildingImportReport struct {
	Created int `json:"created"`
	// Updated, Unchanged and Retired are of a re-survey: current buildings
	// of the area matched and changed, matched and left alone, and not in
	// the file.
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	Retired   int         `json:"retired"`
	DryRun    bool        `json:"dry_run,omitempty"`
	Rejected  []Rejection `json:"rejected,omitempty"`
	// Grids counts the buildings created per unit grid.
	Grids map[string]int `json:"grids,omitempty"`
	// Changes lists, for a re-survey, every building created, updated or
	// retired, retirements first, then by file index.
	Changes []BuildingChange `json:"changes,omitempty"`
}

// BuildingChange is one building a re-survey creates, updates or retires.
type BuildingChange struct {
	Action string `json:"action"` // create, update or retire
	// ID is the building's; 0 for a creation not written (a dry run).
	ID int64 `json:"id,omitempty"`
	// Index is the file feature (-1 for a retirement), Where its place in
	// the file when the reader gave one.
	Index int    `json:"index"`
	Where string `json:"where,omitempty"`
	Name  string `json:"name,omitempty"`
	Grid  string `json:"grid"` // the unit grid (of an update: its new one)
	// MatchedBy says how an update found its building: "name" or "point".
	MatchedBy string `json:"matched_by,omitempty"`
	// Changed lists what an update changes: name, households, residents,
	// geometry, attrs, grid.
	Changed []string `json:"changed,omitempty"`
}

// BuildingReplace is a re-survey: the file is what Area holds now.
type BuildingReplace struct {
	// Area is a district, street, community or unit grid code (6, 9, 12
	// or 15 digits) with current unit grids.
	Area          string
	Actor, Reason string
	// DryRun reports what the re-survey would do and writes nothing.
	DryRun bool
}

// GridPopulation is what the current buildings of one unit grid hold.
type GridPopulation struct {
	Buildings  int `json:"buildings"`
	Households int `json:"households"`
	Residents  int `json:"residents"`
}

// BuildingStore is the storage of buildings.
type BuildingStore interface {
	// ImportBuildings places every feature in its unit grid and writes
	// them all in one transaction with their history, or none and a
	// *RejectedError naming every refused feature.
	// A feature duplicating a current building or another feature of the
	// file (see BuildingSameM) is refused.
	ImportBuildings(ctx context.Context, feats []BuildingFeature, actor, reason string) (BuildingImportReport, error)
	// ReplaceBuildings re-surveys an area: its current buildings become
	// what feats say, in one transaction with history. A feature is
	// matched to a current building of the area (see BuildingSameM); a
	// matched building that differs is updated in place (history
	// 'update', before and after), an equal one left alone, an unmatched
	// one retired ('retire'), an unmatched feature created ('create').
	// Features placed outside the area, in no grid, or duplicating each
	// other or a current building outside the area are refused, all in a
	// *RejectedError, and nothing is written.
	ReplaceBuildings(ctx context.Context, feats []BuildingFeature, opt BuildingReplace) (BuildingImportReport, error)
	// BuildingTotals sums the current buildings per unit grid, for the
	// grids whose code starts with area (a district, street, community or
	// grid code; "" for all).
	BuildingTotals(ctx context.Context, area string) (map[string]GridPopulation, error)
}

// ReadBuildingsGeoJSON reads a FeatureCollection of buildings through a
// field mapping: 楼栋号, 户数, 人口 and their other spellings are
// recognised, --field names others, and the remaining properties are kept
// as Attrs. Features that fail their own checks come back as rejections; a
// file that is not a FeatureCollection, or whose properties hold neither
// households nor residents, is an error.
func ReadBuildingsGeoJSON(data []byte, crs geo.CRS, fm FieldMap) ([]BuildingFeature, []Rejection, Mapping, error) {
	fm.Kind = BuildingFields
	features, names, err := readFileFeatures(data)
	if err != nil {
		return nil, nil, Mapping{}, err
	}
	m, err := resolveBuildingFields(fm, names)
	if err != nil {
		return nil, nil, m, err
	}
	feats := make([]BuildingFeature, 0, len(features))
	var rejected []Rejection
	for i, ff := range features {
		f := BuildingFeature{Index: i}
		err := buildingFromFile(&f, ff, m, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: f.Name, Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	return feats, rejected, m, nil
}

// resolveBuildingFields is FieldMap.Resolve, refusing a file none of whose
// properties gives households or residents: its counts would all read as 0.
func resolveBuildingFields(fm FieldMap, props []string) (Mapping, error) {
	m, err := fm.Resolve(props)
	if err != nil {
		return m, err
	}
	for _, f := range m.Fields {
		if f == "households" || f == "residents" {
			return m, nil
		}
	}
	return m, Invalid("field", "no property is recognised as households (户数) or residents (人口) (properties: %s); name them with --field households=PROPERTY, --field residents=PROPERTY",
		strings.Join(props, ", "))
}

func buildingFromFile(f *BuildingFeature, ff fileFeature, m Mapping, crs geo.CRS) error {
	gf, err := geojson.UnmarshalFeature(ff.raw)
	if err != nil {
		return fmt.Errorf("not a GeoJSON feature: %v", err)
	}
	if err := mapBuilding(f, ff, m); err != nil {
		return err
	}
	f.Geom = gf.Geometry
	return finishBuilding(f, crs)
}

// mapBuilding sets the feature's fields from the properties the mapping
// names and keeps the others as its Attrs.
func mapBuilding(f *BuildingFeature, ff fileFeature, m Mapping) error {
	fields, attrs, err := m.mapped(ff)
	f.Attrs = attrs
	if err != nil {
		return err
	}
	prop := map[string]string{} // field → the property it came from
	for p, field := range m.Fields {
		prop[field] = p
	}
	f.Name = fields["name"]
	for _, c := range []struct {
		field string
		to    *int
	}{{"households", &f.Households}, {"residents", &f.Residents}} {
		v, ok := fields[c.field]
		if !ok {
			continue
		}
		n, err := parseCount(v)
		if err != nil {
			return fmt.Errorf("%s (property %s) %q: %v", c.field, prop[c.field], v, err)
		}
		*c.to = n
	}
	return nil
}

// parseCount reads a household or resident count: a whole number ≥ 0, as
// files write it (12, 12.0 from a numeric DBF field, " 12 ").
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, errors.New("must not be negative")
		}
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errors.New("not a number")
	}
	if x != math.Trunc(x) {
		return 0, errors.New("not a whole number")
	}
	if x < 0 {
		return 0, errors.New("must not be negative")
	}
	if x > math.MaxInt32 {
		return 0, errors.New("too large")
	}
	return int(x), nil
}

// finishBuilding checks the geometry (type, coordinates in China) and
// converts it to WGS-84.
func finishBuilding(f *BuildingFeature, crs geo.CRS) error {
	if f.Households > math.MaxInt32 || f.Residents > math.MaxInt32 {
		return errors.New("households and residents must be below 2^31")
	}
	switch g := f.Geom.(type) {
	case orb.Point:
		if err := checkPoints([]orb.Point{g}); err != nil {
			return fmt.Errorf("geometry: %v", err)
		}
	case orb.Polygon:
		if err := checkChinaRange(orb.MultiPolygon{g}); err != nil {
			return fmt.Errorf("geometry: %v", err)
		}
	case orb.MultiPolygon:
		if len(g) == 0 {
			return errors.New("geometry: an empty MultiPolygon")
		}
		if err := checkChinaRange(g); err != nil {
			return fmt.Errorf("geometry: %v", err)
		}
	case nil:
		return errors.New("geometry is missing")
	default:
		return fmt.Errorf("geometry is a %s; a building is a Point, Polygon or MultiPolygon", g.GeoJSONType())
	}
	f.Geom = geo.GeometryToWGS84(f.Geom, crs)
	return nil
}

// ReadBuildingsCSV reads buildings from CSV with a header row: lon and lat
// columns (经度, 纬度, x, y ... : the building's point, in crs) and the
// field columns, mapped as ReadBuildingsGeoJSON maps properties. Row
// indexes count data rows from 0 (the header is not counted); each
// rejection also names the file's line.
func ReadBuildingsCSV(r io.Reader, crs geo.CRS, fm FieldMap) ([]BuildingFeature, []Rejection, Mapping, error) {
	fm.Kind = BuildingFields
	cr := csv.NewReader(r)
	head, lonCol, latCol, props, err := readPointCSVHeader(cr)
	if err != nil {
		return nil, nil, Mapping{}, err
	}
	m, err := resolveBuildingFields(fm, props)
	if err != nil {
		return nil, nil, m, err
	}
	var feats []BuildingFeature
	var rejected []Rejection
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				rejected = append(rejected, Rejection{Index: i, Reason: fmt.Sprintf("row %d (line %d) has %d fields, the header has %d", i, pe.Line, len(rec), len(head))})
				continue
			}
			return nil, nil, m, Invalid("file", "CSV row %d: %v", i, err)
		}
		line, _ := cr.FieldPos(0)
		f := BuildingFeature{Index: i, Where: fmt.Sprintf("row %d (line %d)", i, line)}
		if err := buildingFromRecord(&f, head, rec, lonCol, latCol, m, crs); err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: f.Name, Reason: fmt.Sprintf("%s: %v", f.Where, err)})
			continue
		}
		feats = append(feats, f)
	}
	if len(feats)+len(rejected) == 0 {
		return nil, nil, m, Invalid("file", "the CSV has no data rows")
	}
	return feats, rejected, m, nil
}

func buildingFromRecord(f *BuildingFeature, head, rec []string, lonCol, latCol int, m Mapping, crs geo.CRS) error {
	ff := fileFeature{props: map[string]any{}}
	for j, v := range rec {
		if j == lonCol || j == latCol || v == "" {
			continue
		}
		ff.props[head[j]] = v
		ff.order = append(ff.order, head[j])
	}
	if err := mapBuilding(f, ff, m); err != nil {
		return err
	}
	lon, err1 := strconv.ParseFloat(strings.TrimSpace(rec[lonCol]), 64)
	lat, err2 := strconv.ParseFloat(strings.TrimSpace(rec[latCol]), 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%s %q / %s %q: not numbers", head[lonCol], rec[lonCol], head[latCol], rec[latCol])
	}
	f.Geom = orb.Point{lon, lat}
	return finishBuilding(f, crs)
}
