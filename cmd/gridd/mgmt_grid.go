package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"gridd/grids"
)

func init() {
	commands["mgmt-grid"] = command{help: "management grids: create --code --name --grids CODE,CODE...; build --area CODE --kind social --target-households N", run: runMgmtGrid}
}

func runMgmtGrid(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "build" {
		return runMgmtGridBuild(ctx, e, args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: gridd mgmt-grid create --code CODE --name NAME --grids CODE,CODE...\n" +
			"       gridd mgmt-grid build --area CODE --kind social --target-households N [--target-residents N] [--dry-run]")
	}
	fs := flag.NewFlagSet("mgmt-grid create", flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	code := fs.String("code", "", "the management grid's code (1-32 letters, digits, _ or -)")
	name := fs.String("name", "", "its name")
	members := fs.String("grids", "", "comma-separated unit-grid codes of one street")
	reason := fs.String("reason", "management grid defined", "why, for the history")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var list []string
	for _, m := range strings.Split(*members, ",") {
		if m = strings.TrimSpace(m); m != "" {
			list = append(list, m)
		}
	}
	c, n, codes, err := grids.ParseMgmtGrid(*code, *name, list)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := st.CreateMgmtGrid(ctx, c, n, codes, *actor, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created management grid %s %s in street %s: %d unit grids, %.0f m²\n",
		m.Code, m.Name, m.StreetCode, len(m.Members), m.AreaM2)
	return nil
}
