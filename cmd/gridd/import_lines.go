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
	layer := fs.String("layer", "", "line layer the features replace (default: the file's name without extension)")
	crsName := fs.String("crs", "wgs84", "coordinate system of the file: wgs84, cgcs2000, gcj02 or bd09")
	reason := fs.String("reason", "line import", "why, for the history")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import lines [--layer NAME] [--crs CRS] FILE")
	}
	crs, err := geo.ParseCRS(*crsName)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	name := *layer
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	rep, err := loadLines(ctx, e, *db, path, name, crs, *actor, *reason)
	if err != nil {
		return err
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
