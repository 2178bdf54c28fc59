package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/catalog"
)

func init() {
	commands["classes"] = command{help: "class catalogue: add a local extension class", run: runClasses}
}

// importComponents is `gridd import components [flags] FILE`: GeoJSON
// (.geojson, .json) or CSV with lon and lat columns (.csv).
func importComponents(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import components", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	src := sourceFlags(fs, nil)
	fields := fieldFlags(fs, grids.ComponentFields)
	modeName := fs.String("mode", "all-or-nothing", "all-or-nothing: any rejection writes nothing; skip-invalid: write the good rows")
	format := fs.String("format", "", "geojson or csv (default: from the file's extension; other files are read by GDAL)")
	reason := fs.String("reason", "component import", "why, for the history")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import components [--crs EPSG:NNNN|wgs84|cgcs2000|gcj02|bd09] [--layer NAME] [--encoding ENC] [--mode all-or-nothing|skip-invalid] FILE")
	}
	mode, err := grids.ParseImportMode(*modeName)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	data, dataFormat, crs, err := src.read(ctx, e, path, *format)
	if err != nil {
		return err
	}
	feats, rejected, err := parseComponentData(e, path, data, dataFormat, crs, fields)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.ImportComponents(ctx, feats, grids.ComponentImport{Mode: mode, Actor: *actor, Reason: *reason, Rejected: rejected})
	if err != nil {
		return err
	}
	for _, r := range rep.Rejected {
		fmt.Fprintln(e.stderr, "rejected:", r)
	}
	fmt.Fprintf(e.stdout, "imported %s: %d created, %d updated, %d unchanged, %d snapped into a grid, %d rejected\n",
		path, rep.Created, rep.Updated, rep.Unchanged, rep.Snapped, len(rep.Rejected))
	return nil
}

// parseComponentData parses a component file's GeoJSON or CSV through the
// field mapping.
func parseComponentData(e *env, path string, data []byte, format string, crs geo.CRS, fields *fieldsFlag) ([]grids.ComponentFeature, []grids.Rejection, error) {
	feats, rejected, err := readComponentData(e, data, format, crs, fields)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return feats, rejected, nil
}

// runClasses is `gridd classes add --kind component --major 01 --name NAME`.
func runClasses(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: gridd classes add --kind component|matter --major NN --name NAME")
	}
	fs := flag.NewFlagSet("classes add", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	kindName := fs.String("kind", "component", "component or matter")
	major := fs.String("major", "", "2-digit major class code")
	name := fs.String("name", "", "the class's name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	kind, err := catalog.ParseKind(*kindName)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.AddLocalClass(ctx, kind, *major, *name, *actor)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added local %s class %s %s (major %s %s)\n", c.Kind, c.Code, c.Name, c.MajorCode, c.MajorName)
	return nil
}

// demoCensusSeed makes the demo census the same on every machine.
const demoCensusSeed = 110101

// demoComponents loads the synthetic component census over the current
// grids, once: it does nothing when components exist, and says so when
// there are no grids yet.
func demoComponents(ctx context.Context, e *env, db string) error {
	st, err := openStore(ctx, e, db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.ComponentCount(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "demo: %d components already loaded\n", n)
		return nil
	}
	shapes, err := st.GridShapes(ctx)
	if err != nil {
		return err
	}
	if len(shapes) == 0 {
		fmt.Fprintln(e.stdout, "demo: no unit grids yet, so no component census (it loads once grids exist)")
		return nil
	}
	feats := grids.DemoCensus(shapes, demoCensusSeed)
	rep, err := st.ImportComponents(ctx, feats, grids.ComponentImport{
		Mode: grids.SkipInvalid, Actor: "demo", Reason: "demo component census"})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "demo: component census over %d grids: %d components (%d snapped, %d rejected)\n",
		len(shapes), rep.Created, rep.Snapped, len(rep.Rejected))
	return nil
}

// demoBuildings loads the synthetic building layer (楼栋 with 户数 and 人口)
// over the current grids, once: it does nothing when the demo district has
// buildings, and says so when there are no grids yet. Footprints keep clear
// of the demo roads (dir/roads.geojson).
func demoBuildings(ctx context.Context, e *env, db, dir string) error {
	st, err := openStore(ctx, e, db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	totals, err := st.BuildingTotals(ctx, demoDistrict)
	if err != nil {
		return err
	}
	n := 0
	for _, p := range totals {
		n += p.Buildings
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "demo: %d buildings already loaded\n", n)
		return nil
	}
	shapes, err := st.GridShapes(ctx)
	if err != nil {
		return err
	}
	if len(shapes) == 0 {
		fmt.Fprintln(e.stdout, "demo: no unit grids yet, so no buildings (they load once grids exist)")
		return nil
	}
	roads, err := readLines(filepath.Join(dir, "roads.geojson"), geo.WGS84)
	if err != nil {
		return err
	}
	feats := grids.DemoBuildings(shapes, roads, demoCensusSeed)
	rep, err := st.ImportBuildings(ctx, feats, "demo", "demo buildings")
	if err != nil {
		return err
	}
	var households, residents int
	for _, f := range feats {
		households += f.Households
		residents += f.Residents
	}
	fmt.Fprintf(e.stdout, "demo: buildings over %d grids: %d buildings, %d households, %d residents\n",
		len(rep.Grids), rep.Created, households, residents)
	return nil
}
