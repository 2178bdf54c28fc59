package grids

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
)

// componentFields are the attribute names a component file may carry, as
// GeoJSON properties or CSV columns.
var componentFields = []string{
	"code", "legacy_code", "class_code", "name", "dept_code", "dept_name", "owner_unit", "maint_unit",
	"status", "initial_date", "change_date", "data_source", "accuracy", "note",
}

// readOnlyFields are written by gridd (and by its GeoJSON output); an import
// ignores them so that an exported file imports back unchanged.
var readOnlyFields = map[string]bool{
	"class_name": true, "district_code": true, "grid_code": true, "grids": true, "community_code": true,
	"community_name": true, "street_code": true, "street_name": true, "snapped": true, "snap_m": true,
	"version": true, "created_at": true, "updated_at": true,
}

// setComponentField stores one attribute value on the feature.
func setComponentField(f *ComponentFeature, key, v string) error {
	v = strings.TrimSpace(v)
	var err error
	switch key {
	case "code":
		f.Code = v
	case "legacy_code":
		f.LegacyCode = v
	case "class_code":
		f.ClassCode = v
	case "name":
		f.Name = v
	case "dept_code":
		f.DeptCode = v
	case "dept_name":
		f.DeptName = v
	case "owner_unit":
		f.OwnerUnit = v
	case "maint_unit":
		f.MaintUnit = v
	case "status":
		f.Status = v
	case "initial_date":
		if f.InitialDate, err = ParseDate(v); err != nil {
			return fmt.Errorf("initial_date: %v", err)
		}
	case "change_date":
		if f.ChangeDate, err = ParseDate(v); err != nil {
			return fmt.Errorf("change_date: %v", err)
		}
	case "data_source":
		f.DataSource = v
	case "accuracy":
		f.Accuracy = strings.ToUpper(v)
	case "note":
		f.Note = v
	default:
		if readOnlyFields[key] {
			return nil
		}
		return fmt.Errorf("unknown property %q (known: %s)", key, strings.Join(componentFields, ", "))
	}
	return nil
}

// ComponentFromGeoJSON reads one GeoJSON Feature into a checked component
// feature, converting its coordinates from crs.
func ComponentFromGeoJSON(index int, raw []byte, crs geo.CRS) (ComponentFeature, error) {
	f := ComponentFeature{Index: index}
	gf, err := geojson.UnmarshalFeature(raw)
	if err != nil {
		return f, fmt.Errorf("not a GeoJSON feature: %v", err)
	}
	keys := make([]string, 0, len(gf.Properties))
	for k := range gf.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var s string
		switch v := gf.Properties[k].(type) {
		case string:
			s = v
		case nil:
		case float64:
			if k == "code" || k == "legacy_code" || k == "class_code" || k == "dept_code" {
				return f, fmt.Errorf("property %s must be a string (leading zeros matter), got the number %v", k, v)
			}
			s = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			if readOnlyFields[k] {
				continue
			}
			return f, fmt.Errorf("property %s must be a string, got %T", k, v)
		}
		if err := setComponentField(&f, k, s); err != nil {
			return f, err
		}
	}
	if f.Code == "" {
		if id, ok := gf.ID.(string); ok && len(id) == 17 {
			f.Code = id
		}
	}
	f.Geom = gf.Geometry
	if err := CheckComponentFeature(&f); err != nil {
		return f, err
	}
	f.Geom = geo.GeometryToWGS84(f.Geom, crs)
	return f, nil
}

// ParseComponentsGeoJSON reads a FeatureCollection of components. Features
// that fail their own checks come back as rejections; a file that is not a
// FeatureCollection is an error.
func ParseComponentsGeoJSON(data []byte, crs geo.CRS) ([]ComponentFeature, []Rejection, error) {
	features, err := featureCollection(data)
	if err != nil {
		return nil, nil, err
	}
	feats := make([]ComponentFeature, 0, len(features))
	var rejected []Rejection
	for i, raw := range features {
		f, err := ComponentFromGeoJSON(i, raw, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: firstNonEmpty(f.Code, f.LegacyCode), Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	return feats, rejected, nil
}

// ParseComponentsCSV reads components from CSV with a header row: lon and lat
// columns (point geometry, in crs) and any of the attribute columns. Row
// indexes in rejections count data rows from 0 (the header is not counted).
func ParseComponentsCSV(r io.Reader, crs geo.CRS) ([]ComponentFeature, []Rejection, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, nil, Invalid("file", "cannot read the CSV header: %v", err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	cols := make([]string, len(head))
	lonCol, latCol := -1, -1
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		switch h {
		case "lon", "lng", "longitude", "x":
			lonCol = i
		case "lat", "latitude", "y":
			latCol = i
		default:
			if !readOnlyFields[h] && !oneOf(h, componentFields) {
				return nil, nil, Invalid("file", "CSV column %d %q is unknown (known: lon, lat, %s)", i+1, h, strings.Join(componentFields, ", "))
			}
		}
		cols[i] = h
	}
	if lonCol < 0 || latCol < 0 {
		return nil, nil, Invalid("file", "the CSV needs lon and lat columns (header: %s)", strings.Join(head, ","))
	}
	var feats []ComponentFeature
	var rejected []Rejection
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				rejected = append(rejected, Rejection{Index: i, Reason: fmt.Sprintf("line %d has %d fields, the header has %d", pe.Line, len(rec), len(head))})
				continue
			}
			return nil, nil, Invalid("file", "CSV row %d: %v", i, err)
		}
		f, err := componentFromRecord(i, cols, rec, lonCol, latCol, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: firstNonEmpty(f.Code, f.LegacyCode), Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	if len(feats)+len(rejected) == 0 {
		return nil, nil, Invalid("file", "the CSV has no data rows")
	}
	return feats, rejected, nil
}

func componentFromRecord(i int, cols, rec []string, lonCol, latCol int, crs geo.CRS) (ComponentFeature, error) {
	f := ComponentFeature{Index: i}
	for j, v := range rec {
		if j == lonCol || j == latCol || v == "" {
			continue
		}
		if err := setComponentField(&f, cols[j], v); err != nil {
			return f, err
		}
	}
	lon, err1 := strconv.ParseFloat(strings.TrimSpace(rec[lonCol]), 64)
	lat, err2 := strconv.ParseFloat(strings.TrimSpace(rec[latCol]), 64)
	if err1 != nil || err2 != nil {
		return f, fmt.Errorf("lon %q / lat %q: not numbers", rec[lonCol], rec[latCol])
	}
	f.Geom = orb.Point{lon, lat}
	if err := CheckComponentFeature(&f); err != nil {
		return f, err
	}
	f.Geom = geo.GeometryToWGS84(f.Geom, crs)
	return f, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
