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
		f.Status = NormalizeStatus(v)
	case "initial_date":
		if f.InitialDate, err = ParseDate(v); err != nil {
			return fmt.Errorf("initial_date: %v", err)
		}
	case "change_date":
		if f.ChangeDate, err = ParseDate(v); err != nil {
			return fmt.Errorf("change_date: %v", err)
		}
	case "data_source":
		f.DataSource = NormalizeDataSource(v)
	case "accuracy":
		f.Accuracy = strings.TrimSuffix(strings.ToUpper(v), "级")
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
	return f, finishComponent(&f, gf, crs)
}

// ParseComponentsGeoJSON reads a FeatureCollection of components. Features
// that fail their own checks come back as rejections; a file that is not a
// FeatureCollection is an error.
func ParseComponentsGeoJSON(data []byte, crs geo.CRS) ([]ComponentFeature, []Rejection, error) {
	feats, rejected, _, err := ReadComponentsGeoJSON(data, crs, FieldMap{Kind: ComponentFields})
	return feats, rejected, err
}

// ReadComponentsGeoJSON is ParseComponentsGeoJSON with a field mapping: the
// fields come from the properties the mapping names or recognises (部件名称,
// 状态, 主管部门 ...), values as census files write them are read (status
// 完好, dates 2023/5/1, class codes that lost their leading zero, codes
// written as numbers), and the other properties are kept as Attrs. It
// returns the mapping it used.
func ReadComponentsGeoJSON(data []byte, crs geo.CRS, fm FieldMap) ([]ComponentFeature, []Rejection, Mapping, error) {
	fm.Kind = ComponentFields
	features, names, err := readFileFeatures(data)
	if err != nil {
		return nil, nil, Mapping{}, err
	}
	m, err := fm.Resolve(names)
	if err != nil {
		return nil, nil, m, err
	}
	feats := make([]ComponentFeature, 0, len(features))
	var rejected []Rejection
	for i, ff := range features {
		f, err := componentFromFile(i, ff, m, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: firstNonEmpty(f.Code, f.LegacyCode), Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	return feats, rejected, m, nil
}

func componentFromFile(i int, ff fileFeature, m Mapping, crs geo.CRS) (ComponentFeature, error) {
	f := ComponentFeature{Index: i}
	gf, err := geojson.UnmarshalFeature(ff.raw)
	if err != nil {
		return f, fmt.Errorf("not a GeoJSON feature: %v", err)
	}
	if err := mapComponent(&f, ff, m); err != nil {
		return f, err
	}
	return f, finishComponent(&f, gf, crs)
}

// mapComponent sets the feature's fields from the properties the mapping
// names and keeps the others as its Attrs.
func mapComponent(f *ComponentFeature, ff fileFeature, m Mapping) error {
	fields, attrs, err := m.mapped(ff)
	f.Attrs = attrs
	if err != nil {
		return err
	}
	return setComponentFields(f, fields)
}

// finishComponent completes a feature read from a file or a request: the
// code from the Feature's id when no property gave one, the geometry, the
// feature's own checks, then the geometry in WGS-84.
func finishComponent(f *ComponentFeature, gf *geojson.Feature, crs geo.CRS) error {
	if f.Code == "" {
		if id, ok := gf.ID.(string); ok && len(id) == 17 {
			f.Code = id
		}
	}
	f.Geom = gf.Geometry
	if err := CheckComponentFeature(f); err != nil {
		return err
	}
	f.Geom = geo.GeometryToWGS84(f.Geom, crs)
	return nil
}

// setComponentFields stores a file's mapped field values on the feature:
// a code whose property names no one kind of code goes by its length, and
// a class code is read as files write it (NormalizeClassCode).
func setComponentFields(f *ComponentFeature, fields map[string]string) error {
	if v, ok := fields[componentCodeByShape]; ok {
		target := ""
		switch {
		case len(v) == 17:
			target = "code"
		case len(v) == 16:
			target = "legacy_code"
		case len(v) <= 5:
			target = "class_code"
		default:
			return fmt.Errorf("部件代码 %q is neither a 17-digit component code, a 16-digit legacy code nor a class code", v)
		}
		if _, given := fields[target]; !given {
			fields[target] = v
		}
	}
	for _, k := range componentFields {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if k == "class_code" {
			var err error
			if v, err = NormalizeClassCode(v); err != nil {
				return err
			}
		}
		if err := setComponentField(f, k, v); err != nil {
			return err
		}
	}
	return nil
}

// ParseComponentsCSV reads components from CSV with a header row: lon and lat
// columns (point geometry, in crs) and any of the attribute columns. Row
// indexes in rejections count data rows from 0 (the header is not counted).
func ParseComponentsCSV(r io.Reader, crs geo.CRS) ([]ComponentFeature, []Rejection, error) {
	feats, rejected, _, err := ReadComponentsCSV(r, crs, FieldMap{Kind: ComponentFields})
	return feats, rejected, err
}

// ReadComponentsCSV is ParseComponentsCSV with a field mapping, as
// ReadComponentsGeoJSON: the columns are the properties.
func ReadComponentsCSV(r io.Reader, crs geo.CRS, fm FieldMap) ([]ComponentFeature, []Rejection, Mapping, error) {
	fm.Kind = ComponentFields
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, lonCol, latCol, props, err := readPointCSVHeader(cr)
	if err != nil {
		return nil, nil, Mapping{}, err
	}
	m, err := fm.Resolve(props)
	if err != nil {
		return nil, nil, m, err
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
			return nil, nil, m, Invalid("file", "CSV row %d: %v", i, err)
		}
		f, err := componentFromRecord(i, head, rec, lonCol, latCol, m, crs)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Code: firstNonEmpty(f.Code, f.LegacyCode), Reason: err.Error()})
			continue
		}
		feats = append(feats, f)
	}
	if len(feats)+len(rejected) == 0 {
		return nil, nil, m, Invalid("file", "the CSV has no data rows")
	}
	return feats, rejected, m, nil
}

func componentFromRecord(i int, head, rec []string, lonCol, latCol int, m Mapping, crs geo.CRS) (ComponentFeature, error) {
	f := ComponentFeature{Index: i}
	ff := fileFeature{props: map[string]any{}}
	for j, v := range rec {
		if j == lonCol || j == latCol || v == "" {
			continue
		}
		ff.props[head[j]] = v
		ff.order = append(ff.order, head[j])
	}
	if err := mapComponent(&f, ff, m); err != nil {
		return f, err
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

// readPointCSVHeader reads the header of a CSV of points: the columns,
// trimmed (and the first without a byte-order mark), which of them hold
// longitude and latitude, and the others, the properties.
func readPointCSVHeader(cr *csv.Reader) (head []string, lonCol, latCol int, props []string, err error) {
	head, err = cr.Read()
	if err != nil {
		return nil, -1, -1, nil, Invalid("file", "cannot read the CSV header: %v", err)
	}
	head = append([]string(nil), head...) // the reader may reuse its record
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	lonCol, latCol = -1, -1
	for i, h := range head {
		head[i] = strings.TrimSpace(h)
		switch strings.ToLower(head[i]) {
		case "lon", "lng", "longitude", "x", "经度":
			lonCol = i
		case "lat", "latitude", "y", "纬度":
			latCol = i
		default:
			props = append(props, head[i])
		}
	}
	if lonCol < 0 || latCol < 0 {
		return nil, -1, -1, nil, Invalid("file", "the CSV needs lon and lat columns (header: %s)", strings.Join(head, ","))
	}
	return head, lonCol, latCol, props, nil
}
