package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gridd/geo"
	"gridd/grids"
)

// demoDistrict is the district of the demo data.
const demoDistrict = "110101"

// demoGrids loads the demo roads into the layer "roads" when no line is
// stored yet, and builds the demo district's unit grids when it has none.
func demoGrids(ctx context.Context, e *env, db, dir string) error {
	st, err := openStore(ctx, e, db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	lines, err := st.LineCount(ctx, "")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "roads.geojson")
	if _, statErr := os.Stat(path); lines == 0 && statErr == nil {
		rep, err := loadLines(ctx, e, db, path, "roads", geo.WGS84, "demo", "demo data")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "demo: loaded %s: %d roads\n", path, rep.Created)
	}
	n, err := st.AreaGridCount(ctx, demoDistrict)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "demo: %d unit grids already built\n", n)
		return nil
	}
	rep, err := st.Build(ctx, grids.BuildRequest{Area: demoDistrict, Actor: "demo", Reason: "demo data"}, nil)
	if err != nil {
		return fmt.Errorf("demo: build %s: %w", demoDistrict, err)
	}
	fmt.Fprintf(e.stdout, "demo: built %d unit grids of %s in %.1fs\n", rep.Created, demoDistrict, rep.Seconds)
	return nil
}
