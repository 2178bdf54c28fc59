package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"

	"gridd/grids"
)

// importBuildings is `gridd import buildings [flags] FILE`: buildings (楼栋)
// with their households (户数) and residents (人口), as points or
// footprints, from GeoJSON, CSV with lon and lat columns, or any file GDAL
// reads (Shapefile, GeoPackage, KML ...), in any CRS the other imports
// take. Each building goes to the unit grid owning its point; the import
// is all or nothing.
func importBuildings(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import buildings", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	src := sourceFlags(fs, nil)
	fields := fieldFlags(fs, grids.BuildingFields)
	format := fs.String("format", "", "geojson or csv (default: from the file's extension; other files are read by GDAL)")
	reason := fs.String("reason", "building import", "why, for the history")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import buildings [--crs EPSG:NNNN|wgs84|cgcs2000|gcj02|bd09] [--layer NAME] [--encoding ENC] [--field FIELD=PROPERTY] FILE")
	}
	path := fs.Arg(0)
	data, dataFormat, crs, err := src.read(ctx, e, path, *format)
	if err != nil {
		return err
	}
	fm, err := fields.fieldMap(grids.BuildingFields)
	if err != nil {
		return err
	}
	var feats []grids.BuildingFeature
	var rejected []grids.Rejection
	var m grids.Mapping
	switch dataFormat {
	case "csv":
		feats, rejected, m, err = grids.ReadBuildingsCSV(bytes.NewReader(data), crs, fm)
	case "geojson":
		feats, rejected, m, err = grids.ReadBuildingsGeoJSON(data, crs, fm)
	default:
		err = fmt.Errorf("unknown format %q (want geojson or csv)", dataFormat)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fields.say(e, m)
	if len(rejected) > 0 {
		return &grids.RejectedError{What: "building", Rejected: rejected}
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.ImportBuildings(ctx, feats, *actor, *reason)
	if err != nil {
		return err
	}
	codes := make([]string, 0, len(rep.Grids))
	for c := range rep.Grids {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	fmt.Fprintf(e.stdout, "imported %s: %d buildings created in %d unit grids\n", path, rep.Created, len(codes))
	for _, c := range codes {
		fmt.Fprintf(e.stdout, "  %s  %d\n", c, rep.Grids[c])
	}
	return nil
}
