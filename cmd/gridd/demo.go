package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"gridd/geo"
)

func init() {
	commands["demo"] = command{help: "load the demo district (testdata/dongcheng) into an empty database", run: runDemo}
}

// runDemo loads each part of the demo data that the database does not hold
// yet, so that it can run at every start.
func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	db := dbFlag(fs)
	dir := fs.String("dir", "testdata/dongcheng", "folder of the demo data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	n, err := st.DivisionCount(ctx)
	st.Close()
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "demo: %d divisions already loaded\n", n)
	} else {
		path := filepath.Join(*dir, "divisions.geojson")
		rep, err := loadDivisions(ctx, e, *db, path, geo.WGS84, "demo", "demo data")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "demo: loaded %s: %d divisions\n", path, rep.Created)
	}
	if err := demoGrids(ctx, e, *db, *dir); err != nil {
		return err
	}
	if err := demoRouting(ctx, e, *db, *dir); err != nil {
		return err
	}
	if err := demoComponents(ctx, e, *db); err != nil { // it needs the grids
		return err
	}
	if err := demoBuildings(ctx, e, *db, *dir); err != nil { // it needs the grids
		return err
	}
	if err := demoSocialGrids(ctx, e, *db); err != nil { // it needs the buildings
		return err
	}
	return demoCases(ctx, e, *db, *dir) // the last step: it needs grids, routing and components
}
