package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"gridd/geo"
	"gridd/grids"
)

// importLines: gridd import lines [--layer NAME] [--crs CRS] FILE. The file's
// features replace the layer's, all or nothing.
func importLines(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import lines", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	layer := fs.String("layer", "", "line layer the features replace (default: the file's name without extension); "+
		"also the layer of the file to read when it holds several (GeoPackage)")
	src := sourceFlags(fs, layer)
	fields := fieldFlags(fs, grids.LineFields)
	reason := fs.String("reason", "line import", "why, for the history")
	fitArg := fs.String("fit", "", "move line ends that stop short of another line within this distance (e.g. 2m) onto it, so the builder cuts there")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var fitM float64
	if *fitArg != "" {
		d, err := grids.ParseDistance(*fitArg)
		if err != nil {
			return fmt.Errorf("--fit: %w", err)
		}
		fitM = d
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import lines [--layer NAME] [--crs CRS] [--encoding ENC] FILE")
	}
	path := fs.Arg(0)
	name := *layer
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if _, err := grids.ParseLayer(name); err != nil {
		return err
	}
	data, format, crs, err := src.read(ctx, e, path, "")
	if err != nil {
		return err
	}
	if format != "geojson" {
		return fmt.Errorf("%s: lines are read from GeoJSON, Shapefile, GeoPackage, KML or GML, not %s", path, format)
	}
	feats, rejected, err := readLineData(e, data, crs, fields)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(rejected) > 0 {
		return fmt.Errorf("%s: %w", path, &grids.RejectedError{What: "line", Rejected: rejected})
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, fit, err := st.ImportLinesFit(ctx, name, feats, *actor, *reason, fitM)
	if err != nil {
		return err
	}
	if fitM > 0 {
		fmt.Fprintf(e.stdout, "fit within %s: %d line end(s) moved onto another line, at most %.2f m\n", *fitArg, fit.Snapped, fit.MaxMoveM)
	}
	fmt.Fprintf(e.stdout, "imported %s into layer %s: %d created, %d replaced, %d unchanged\n",
		path, name, rep.Created, rep.Updated, rep.Unchanged)
	return nil
}

// loadLines reads, checks and imports a line file into a layer, all or
// nothing.
func loadLines(ctx context.Context, e *env, db, path, layer string, crs geo.CRS, actor, reason string) (grids.ImportReport, error) {
	if _, err := grids.ParseLayer(layer); err != nil {
		return grids.ImportReport{}, err
	}
	feats, err := readLines(path, crs)
	if err != nil {
		return grids.ImportReport{}, err
	}
	st, err := openStore(ctx, e, db, true)
	if err != nil {
		return grids.ImportReport{}, err
	}
	defer st.Close()
	return st.ImportLines(ctx, layer, feats, actor, reason)
}
