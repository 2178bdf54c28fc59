package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gridd/grids/postgis"
	"gridd/ogr"
)

const exportFeaturesUsage = "usage: gridd export divisions|grids|components [--format gpkg|shp|geojson] [--crs EPSG:NNNN] [--encoding UTF-8|GBK] [--area CODE] FILE"

// runExportFeatures writes the current divisions, unit grids or components
// to a GeoPackage, Shapefile or GeoJSON file in the coordinate system and
// (for a Shapefile's DBF) the encoding the user's desktop tools expect.
func runExportFeatures(ctx context.Context, e *env, kind string, args []string) error {
	fs := flag.NewFlagSet("export "+kind, flag.ContinueOnError)
	db := dbFlag(fs)
	format := fs.String("format", "", "gpkg, shp or geojson (default: from FILE's extension)")
	crs := fs.String("crs", "", "coordinate system to write, EPSG:NNNN (default EPSG:4326, WGS-84 lon/lat)")
	encoding := fs.String("encoding", "", "a Shapefile's DBF encoding: UTF-8 (default) or GBK, named in its .cpg")
	area := fs.String("area", "", "only records whose code starts with CODE (a district, street or community)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(exportFeaturesUsage)
	}
	dst := fs.Arg(0)
	if *format == "" {
		if *format = ogr.OutputFormatOf(dst); *format == "" {
			return fmt.Errorf("%s: say --format %s", dst, strings.Join(ogr.OutputFormats(), "|"))
		}
	}
	fields, err := postgis.ExportFields(kind)
	if err != nil {
		return err
	}
	crsName, err := ogr.NormalizeCRS(ctx, *crs)
	if err != nil {
		return err
	}
	opts := ogr.WriteOptions{Format: *format, Layer: kind, CRS: crsName, Encoding: *encoding,
		Warn: func(w string) { fmt.Fprintln(e.stderr, "gridd export:", w) }}
	for _, f := range fields {
		name := f.Name
		if *format == "shp" {
			name = f.Short
		}
		opts.Fields = append(opts.Fields, ogr.Field{Name: name, Type: f.Type})
	}
	if err := opts.Check(dst); err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()

	// The features go through a GeoJSON file: ogr2ogr reads it as it would
	// any file, and the layer is never one string in memory.
	tmp, err := os.CreateTemp("", "gridd-export-*.geojson")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	sum, err := st.ExportGeoJSON(ctx, tmp, kind, *area, *format == "shp")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if sum.Features == 0 {
		where := ""
		if *area != "" {
			where = " in area " + *area
		}
		return fmt.Errorf("no current %s%s: nothing written", kind, where)
	}
	var written []string
	if *format == "shp" && len(sum.Types) > 1 {
		written, err = writeShapefilePerType(ctx, tmp.Name(), dst, opts, sum.Types)
	} else {
		written, err = ogr.Write(ctx, tmp.Name(), dst, opts)
	}
	if err != nil {
		return err
	}
	shown := crsName
	if shown == "" {
		shown = "EPSG:4326"
	}
	fmt.Fprintf(e.stdout, "exported %d %s (%s) to %s in %s\n", sum.Features, kind, typeCounts(sum.Types), *format, shown)
	for _, w := range written {
		fmt.Fprintf(e.stdout, "  %s\n", w)
	}
	return nil
}

func typeCounts(types map[string]int) string {
	parts := make([]string, 0, len(types))
	for t, n := range types {
		parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(t)))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// writeShapefilePerType writes a layer of several geometry types, as a
// Shapefile holds one: points to FILE_point.shp, lines to FILE_line.shp,
// polygons to FILE_polygon.shp. All are written beside dst first and moved
// into place only when every one is complete.
func writeShapefilePerType(ctx context.Context, src, dst string, opts ogr.WriteOptions, types map[string]int) ([]string, error) {
	groups := map[string][]string{} // file suffix → geometry types
	for t := range types {
		suffix := strings.ToLower(strings.TrimPrefix(t, "MULTI"))
		if suffix == "linestring" {
			suffix = "line"
		}
		groups[suffix] = append(groups[suffix], "'"+t+"'")
	}
	suffixes := make([]string, 0, len(groups))
	for s := range groups {
		suffixes = append(suffixes, s)
	}
	sort.Strings(suffixes)
	dir := filepath.Dir(dst)
	stem := strings.TrimSuffix(filepath.Base(dst), filepath.Ext(dst))
	staging, err := os.MkdirTemp(dir, "."+stem+".partial-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)
	var staged []string
	for _, s := range suffixes {
		o := opts
		o.Where = fmt.Sprintf("OGR_GEOMETRY IN (%s)", strings.Join(groups[s], ", "))
		if len(groups[s]) == 1 {
			o.GeometryType = strings.Trim(groups[s][0], "'")
		}
		w, err := ogr.Write(ctx, src, filepath.Join(staging, stem+"_"+s+".shp"), o)
		if err != nil {
			return nil, err
		}
		staged = append(staged, w...)
	}
	written := make([]string, 0, len(staged))
	for _, f := range staged {
		to := filepath.Join(dir, filepath.Base(f))
		if err := os.Rename(f, to); err != nil {
			return written, err
		}
		written = append(written, to)
	}
	return written, nil
}
