package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"

	"gridd/grids"
)

// importBuildings is `gridd import buildings [flags] FILE`: buildings (楼栋)
// with their households (户数) and residents (人口), as points or
// footprints, from GeoJSON, CSV with lon and lat columns, or any file GDAL
// reads (Shapefile, GeoPackage, KML ...), in any CRS the other imports
// take. Each building goes to the unit grid owning its point; the import
// is all or nothing, and refuses a building already stored.
//
// With --replace AREA the file is a re-survey of AREA (a district, street,
// community or unit grid code): the area's current buildings become what
// the file says, matched by name or place (grids.BuildingSameM), updated,
// kept, retired or created; --dry-run reports that without writing.
func importBuildings(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("import buildings", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	src := sourceFlags(fs, nil)
	fields := fieldFlags(fs, grids.BuildingFields)
	format := fs.String("format", "", "geojson or csv (default: from the file's extension; other files are read by GDAL)")
	reason := fs.String("reason", "building import", "why, for the history")
	replace := fs.String("replace", "", "re-survey this area (a district, street, community or unit grid code): its current buildings become the file's")
	dryRun := fs.Bool("dry-run", false, "with --replace: report what the re-survey would change, writing nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd import buildings [--replace AREA [--dry-run]] [--crs EPSG:NNNN|wgs84|cgcs2000|gcj02|bd09] [--layer NAME] [--encoding ENC] [--field FIELD=PROPERTY] FILE")
	}
	if *dryRun && *replace == "" {
		return errors.New("--dry-run goes with --replace AREA (a plain import is all or nothing: a refused one writes nothing)")
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
	if *replace != "" {
		rep, err := st.ReplaceBuildings(ctx, feats, grids.BuildingReplace{Area: *replace, Actor: *actor, Reason: *reason, DryRun: *dryRun})
		if err != nil {
			return err
		}
		printResurvey(e, path, *replace, rep)
		return nil
	}
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

// printResurvey prints a re-survey's counts and every building it creates,
// updates or retires.
func printResurvey(e *env, path, area string, rep grids.BuildingImportReport) {
	counts := fmt.Sprintf("%d created, %d updated, %d unchanged, %d retired", rep.Created, rep.Updated, rep.Unchanged, rep.Retired)
	if rep.DryRun {
		fmt.Fprintf(e.stdout, "dry run, nothing written: re-surveying %s from %s would give %s\n", area, path, counts)
	} else {
		fmt.Fprintf(e.stdout, "re-surveyed %s from %s: %s\n", area, path, counts)
	}
	for _, c := range rep.Changes {
		name := c.Name
		if name == "" {
			name = "(no name)"
		}
		where := c.Where
		if where == "" && c.Index >= 0 {
			where = fmt.Sprintf("feature %d", c.Index)
		}
		switch c.Action {
		case "retire":
			fmt.Fprintf(e.stdout, "  retire  building %d %s in %s: not in the file\n", c.ID, name, c.Grid)
		case "update":
			fmt.Fprintf(e.stdout, "  update  building %d %s in %s from %s (matched by %s): %s\n", c.ID, name, c.Grid, where, c.MatchedBy, strings.Join(c.Changed, ", "))
		case "create":
			id := "a new building"
			if c.ID != 0 {
				id = fmt.Sprintf("building %d", c.ID)
			}
			fmt.Fprintf(e.stdout, "  create  %s %s in %s from %s\n", id, name, c.Grid, where)
		}
	}
}
