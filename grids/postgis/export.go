package postgis

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// ExportField is one attribute of an exported layer: its name, and the
// name it has where names are at most 10 bytes (a Shapefile's DBF).
// Components' names are those their import reads, so an exported file can
// be edited and imported again.
type ExportField struct {
	Name, Short string
	// Type is text, integer, real or date (written as YYYY-MM-DD text in
	// the GeoJSON).
	Type string
	expr string // the SQL expression over the layer's row
}

// exportLayer is what `gridd export` can write: the current records of one
// kind with their attributes, read as GeoJSON in WGS-84.
type exportLayer struct {
	from   string // the FROM clause: current records only
	area   string // the condition of the area prefix ($1)
	order  string
	fields []ExportField
}

var exportLayers = map[string]exportLayer{
	"divisions": {
		from:  `divisions WHERE valid_to IS NULL`,
		area:  `code LIKE $1 || '%'`,
		order: `length(code), code`,
		fields: []ExportField{
			{"code", "code", "text", "code"},
			{"name", "name", "text", "name"},
			{"level", "level", "text", "level"},
			{"parent", "parent", "text", "parent_code"},
		},
	},
	"grids": {
		from:  `unit_grids WHERE valid_to IS NULL`,
		area:  `code LIKE $1 || '%'`,
		order: `code`,
		fields: []ExportField{
			{"code", "code", "text", "code"},
			{"community", "community", "text", "community_code"},
			{"street", "street", "text", "street_code"},
			{"area_m2", "area_m2", "real", "area_m2"},
			{"version", "version", "integer", "version"},
			{"land_use", "land_use", "text", "land_use"},
			{"mgmt_level", "mgmt_level", "text", "mgmt_level"},
			{"responsible", "resp", "text", "responsible"},
			{"note", "note", "text", "note"},
		},
	},
	"components": {
		from: `components c LEFT JOIN classes k ON k.kind = 'component' AND k.code = c.class_code
			WHERE c.valid_to IS NULL`,
		// A district's components are its own by code; below a district,
		// those whose grid lies in the area.
		area: `(CASE WHEN length($1) <= 6 THEN c.district_code LIKE $1 || '%'
			ELSE c.grid_code LIKE $1 || '%' END)`,
		order: `c.code`,
		fields: []ExportField{
			{"code", "code", "text", "c.code"},
			{"class_code", "class_code", "text", "c.class_code"},
			{"class_name", "class_name", "text", "k.name"},
			{"name", "name", "text", "c.name"},
			{"legacy_code", "legacy", "text", "c.legacy_code"},
			{"status", "status", "text", "c.status"},
			{"dept_code", "dept_code", "text", "c.competent_dept_code"},
			{"dept_name", "dept_name", "text", "c.competent_dept_name"},
			{"owner_unit", "owner_unit", "text", "c.owner_unit"},
			{"maint_unit", "maint_unit", "text", "c.maint_unit"},
			{"initial_date", "init_date", "date", "to_char(c.initial_date, 'YYYY-MM-DD')"},
			{"change_date", "chg_date", "date", "to_char(c.change_date, 'YYYY-MM-DD')"},
			{"data_source", "source", "text", "c.data_source"},
			{"accuracy", "accuracy", "text", "c.accuracy"},
			{"grid_code", "grid_code", "text", "c.grid_code"},
			{"community_code", "community", "text", "c.community_code"},
			{"street_code", "street", "text", "c.street_code"},
			{"version", "version", "integer", "c.version"},
			{"note", "note", "text", "c.note"},
		},
	},
}

// ExportKinds lists the kinds `gridd export` writes as features.
func ExportKinds() []string {
	kinds := make([]string, 0, len(exportLayers))
	for k := range exportLayers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// ExportFields returns the attributes of kind's features, in order.
func ExportFields(kind string) ([]ExportField, error) {
	l, ok := exportLayers[kind]
	if !ok {
		return nil, fmt.Errorf("nothing to export as %q: want one of %s", kind, strings.Join(ExportKinds(), ", "))
	}
	return l.fields, nil
}

// ExportSummary tells what an export read: the number of features and how
// many there are of each geometry type (POINT, LINESTRING, POLYGON,
// MULTIPOLYGON).
type ExportSummary struct {
	Features int
	Types    map[string]int
}

var areaPrefix = regexp.MustCompile(`^[0-9]{1,15}$`)

// ExportGeoJSON writes the current records of kind whose code starts with
// area (all when empty) to w as one GeoJSON FeatureCollection named kind,
// in WGS-84 longitude/latitude at full precision, ordered by code. With
// short, attributes take their short names. Features are written as
// PostgreSQL returns them, so the whole layer is never held in memory.
func (s *Store) ExportGeoJSON(ctx context.Context, w io.Writer, kind, area string, short bool) (ExportSummary, error) {
	sum := ExportSummary{Types: map[string]int{}}
	l, ok := exportLayers[kind]
	if !ok {
		_, err := ExportFields(kind)
		return sum, err
	}
	if area != "" && !areaPrefix.MatchString(area) {
		return sum, fmt.Errorf("area %q: want the digits a division code begins with", area)
	}
	props := make([]string, len(l.fields))
	for i, f := range l.fields {
		name := f.Name
		if short {
			name = f.Short
		}
		props[i] = fmt.Sprintf("'%s', %s", name, f.expr)
	}
	geom := "geom"
	if kind == "components" {
		geom = "c.geom"
	}
	q := fmt.Sprintf(`SELECT GeometryType(%[1]s),
		'{"type":"Feature","properties":' || json_build_object(%[2]s)::text
		|| ',"geometry":' || ST_AsGeoJSON(%[1]s, 15) || '}'
		FROM %[3]s AND ($1 = '' OR %[4]s) ORDER BY %[5]s`,
		geom, strings.Join(props, ", "), l.from, l.area, l.order)
	rows, err := s.pool.Query(ctx, q, area)
	if err != nil {
		return sum, fmt.Errorf("export %s: %w", kind, err)
	}
	defer rows.Close()
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, `{"type":"FeatureCollection","name":%q,"features":[`, kind)
	var typ, feature string
	for rows.Next() {
		if err := rows.Scan(&typ, &feature); err != nil {
			return sum, fmt.Errorf("export %s: %w", kind, err)
		}
		if sum.Features > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		if _, err := bw.WriteString(feature); err != nil {
			return sum, err
		}
		sum.Features++
		sum.Types[typ]++
	}
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("export %s: %w", kind, err)
	}
	bw.WriteString("\n]}\n")
	return sum, bw.Flush()
}
