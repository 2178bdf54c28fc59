package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"gridd/geo"
	"gridd/grids"
)

func init() {
	commands["import"] = command{help: "import data: divisions FILE, lines FILE (GeoJSON), components FILE, buildings FILE", run: runImport}
}

func runImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gridd import divisions|lines|components|buildings [flags] FILE")
	}
	switch args[0] {
	case "divisions":
		return importDivisions(ctx, e, args[1:])
	case "components":
		return importComponents(ctx, e, args[1:])
	case "lines":
		return importLines(ctx, e, args[1:])
	case "buildings":
		return importBuildings(ctx, e, args[1:])
	}
	return fmt.Errorf("unknown import kind %q (want divisions, lines, components or buildings)", args[0])
}

func importDivisions(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import divisions", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	src := sourceFlags(fs, nil)
	fields := fieldFlags(fs, grids.DivisionFields)
	reason := fs.String("reason", "division import", "why, for the history")
	fit := newFitFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import divisions [flags] FILE")
	}
	data, format, crs, err := src.read(ctx, e, fs.Arg(0), "")
	if err != nil {
		return err
	}
	if format != "geojson" {
		return fmt.Errorf("%s: divisions are read from GeoJSON, Shapefile, GeoPackage, KML or GML, not %s", fs.Arg(0), format)
	}
	opt, err := fit.options(*actor, *reason)
	if err != nil {
		return err
	}
	rep, err := loadDivisionData(ctx, e, *db, fs.Arg(0), data, crs, fields, opt)
	if err != nil {
		printFitReport(e.stdout, opt, rep.Fit)
		return err
	}
	printDivisionReport(e.stdout, fs.Arg(0), opt, rep)
	return nil
}

// loadDivisions reads, checks and imports a division file, all or nothing.
func loadDivisions(ctx context.Context, e *env, db, path string, crs geo.CRS, actor, reason string) (grids.ImportReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return grids.ImportReport{}, err
	}
	rep, err := loadDivisionData(ctx, e, db, path, data, crs, nil, grids.DivisionImport{Actor: actor, Reason: reason})
	return rep.ImportReport, err
}

// loadDivisionData checks and imports a division file's GeoJSON, all or
// nothing.
func loadDivisionData(ctx context.Context, e *env, db, path string, data []byte, crs geo.CRS, fields *fieldsFlag, opt grids.DivisionImport) (grids.DivisionImportReport, error) {
	feats, rejected, err := readDivisionData(e, data, crs, fields)
	if err != nil {
		return grids.DivisionImportReport{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(rejected) > 0 {
		return grids.DivisionImportReport{}, &grids.RejectedError{What: "division", Rejected: rejected}
	}
	st, err := openStore(ctx, e, db, true)
	if err != nil {
		return grids.DivisionImportReport{}, err
	}
	defer st.Close()
	return st.ImportDivisionsWith(ctx, feats, opt)
}
