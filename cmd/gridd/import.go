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
	commands["import"] = command{help: "import data: divisions FILE, lines FILE (GeoJSON), components FILE", run: runImport}
}

func runImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gridd import divisions|lines|components [flags] FILE")
	}
	switch args[0] {
	case "divisions":
		return importDivisions(ctx, e, args[1:])
	case "components":
		return importComponents(ctx, e, args[1:])
	case "lines":
		return importLines(ctx, e, args[1:])
	}
	return fmt.Errorf("unknown import kind %q (want divisions, lines or components)", args[0])
}

func importDivisions(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import divisions", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	crsName := fs.String("crs", "wgs84", "coordinate system of the file: wgs84, cgcs2000, gcj02 or bd09")
	reason := fs.String("reason", "division import", "why, for the history")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import divisions [flags] FILE")
	}
	crs, err := geo.ParseCRS(*crsName)
	if err != nil {
		return err
	}
	rep, err := loadDivisions(ctx, e, *db, fs.Arg(0), crs, *actor, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "imported %s: %d created, %d updated, %d unchanged\n", fs.Arg(0), rep.Created, rep.Updated, rep.Unchanged)
	return nil
}

// loadDivisions reads, checks and imports a division file, all or nothing.
func loadDivisions(ctx context.Context, e *env, db, path string, crs geo.CRS, actor, reason string) (grids.ImportReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return grids.ImportReport{}, err
	}
	feats, rejected, err := grids.ParseDivisions(data, crs)
	if err != nil {
		return grids.ImportReport{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(rejected) > 0 {
		return grids.ImportReport{}, &grids.RejectedError{What: "division", Rejected: rejected}
	}
	st, err := openStore(ctx, e, db, true)
	if err != nil {
		return grids.ImportReport{}, err
	}
	defer st.Close()
	return st.ImportDivisions(ctx, feats, actor, reason)
}
