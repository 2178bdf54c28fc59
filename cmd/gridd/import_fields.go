package main

import (
	"bytes"
	"flag"
	"fmt"
	"strings"

	"gridd/geo"
	"gridd/grids"
)

// fieldsFlag is the repeatable --field FIELD=PROPERTY of the imports: which
// property of the file fills a field, where the recognised names do not.
type fieldsFlag struct {
	kind  grids.FieldKind
	specs []string
}

// fieldFlags registers --field on fs for a kind of import.
func fieldFlags(fs *flag.FlagSet, kind grids.FieldKind) *fieldsFlag {
	f := &fieldsFlag{kind: kind}
	fs.Var(f, "field", "FIELD=PROPERTY: fill the field from the file's property, e.g. code=XZQDM (repeatable); "+
		"common Chinese and standard names are recognised without it, other properties are kept as attrs")
	return f
}

func (f *fieldsFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.specs, " ")
}

// Set checks each value as it comes, so a wrong one fails with the flags.
func (f *fieldsFlag) Set(s string) error {
	if _, err := grids.ParseFieldMap(f.kind, append(append([]string(nil), f.specs...), s)); err != nil {
		return err
	}
	f.specs = append(f.specs, s)
	return nil
}

// fieldMap is the mapping asked for; a nil flag (an import run by another
// command, as the demo's) asks for none.
func (f *fieldsFlag) fieldMap(kind grids.FieldKind) (grids.FieldMap, error) {
	if f == nil {
		return grids.FieldMap{Kind: kind}, nil
	}
	return grids.ParseFieldMap(kind, f.specs)
}

// say prints the mapping an import used on stdout and its warnings on
// stderr; a nil flag keeps quiet.
func (f *fieldsFlag) say(e *env, m grids.Mapping) {
	if f == nil {
		return
	}
	fmt.Fprintln(e.stdout, m)
	for _, w := range m.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
}

// readDivisionData reads a division file's GeoJSON through the field
// mapping.
func readDivisionData(e *env, data []byte, crs geo.CRS, f *fieldsFlag) ([]grids.DivisionFeature, []grids.Rejection, error) {
	fm, err := f.fieldMap(grids.DivisionFields)
	if err != nil {
		return nil, nil, err
	}
	feats, rejected, m, err := grids.ReadDivisions(data, crs, fm)
	if err != nil {
		return nil, nil, err
	}
	f.say(e, m)
	return feats, rejected, nil
}

// readLineData reads a line file's GeoJSON through the field mapping.
func readLineData(e *env, data []byte, crs geo.CRS, f *fieldsFlag) ([]grids.LineFeature, []grids.Rejection, error) {
	fm, err := f.fieldMap(grids.LineFields)
	if err != nil {
		return nil, nil, err
	}
	feats, rejected, m, err := grids.ReadLines(data, crs, fm)
	if err != nil {
		return nil, nil, err
	}
	f.say(e, m)
	return feats, rejected, nil
}

// readComponentData reads a component file's GeoJSON or CSV through the
// field mapping.
func readComponentData(e *env, data []byte, format string, crs geo.CRS, f *fieldsFlag) ([]grids.ComponentFeature, []grids.Rejection, error) {
	fm, err := f.fieldMap(grids.ComponentFields)
	if err != nil {
		return nil, nil, err
	}
	var feats []grids.ComponentFeature
	var rejected []grids.Rejection
	var m grids.Mapping
	switch format {
	case "csv":
		feats, rejected, m, err = grids.ReadComponentsCSV(bytes.NewReader(data), crs, fm)
	case "geojson":
		feats, rejected, m, err = grids.ReadComponentsGeoJSON(data, crs, fm)
	default:
		return nil, nil, fmt.Errorf("unknown format %q (want geojson or csv)", format)
	}
	if err != nil {
		return nil, nil, err
	}
	f.say(e, m)
	return feats, rejected, nil
}
