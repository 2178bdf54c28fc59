package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
)

func init() {
	commands["departments"] = command{help: "manage departments: list | set CODE --name N [--contact C] [--territory CODE] | retire CODE", run: runDepartments}
	commands["rules"] = command{help: "manage routing rules: list | add --class C --kind K --scope S --department D [--priority P] | retire ID", run: runRules}
}

const departmentsUsage = "usage: gridd departments list | set CODE --name NAME [--contact C] [--territory CODE] | retire CODE"

func runDepartments(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New(departmentsUsage)
	}
	fs := flag.NewFlagSet("departments "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	reason := fs.String("reason", "", "why, for the history")
	name := fs.String("name", "", "department name (set)")
	contact := fs.String("contact", "", "contact (set)")
	territory := fs.String("territory", "", "district, street or community code the department is the territorial office of (set)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "list":
		ds, err := st.Departments(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "code\tname\tterritory\tcontact")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Code, d.Name, d.TerritoryCode, d.Contact)
		}
		return tw.Flush()
	case "set":
		if len(pos) != 1 {
			return errors.New(departmentsUsage)
		}
		d := grids.Department{Code: pos[0], Name: *name, Contact: *contact, TerritoryCode: geo.Code(*territory)}
		created, err := st.PutDepartment(ctx, d, *actor, *reason)
		if err != nil {
			return err
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		fmt.Fprintf(e.stdout, "%s department %s %s\n", verb, d.Code, d.Name)
		return nil
	case "retire":
		if len(pos) != 1 {
			return errors.New(departmentsUsage)
		}
		if err := st.RetireDepartment(ctx, pos[0], *actor, *reason); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "retired department %s\n", pos[0])
		return nil
	}
	return errors.New(departmentsUsage)
}

const rulesUsage = "usage: gridd rules list | add --class C --kind component|matter [--scheme gb2026|legacy] --scope S --department CODE [--priority P] | retire ID"

func runRules(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New(rulesUsage)
	}
	fs := flag.NewFlagSet("rules "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	reason := fs.String("reason", "", "why, for the history")
	class := fs.String("class", "", "5-digit GB/T 47678.5 class, 4-digit legacy class, or 2-digit major class (add)")
	kind := fs.String("kind", "", "component or matter (add)")
	scheme := fs.String("scheme", "", "scheme of a 2-digit major class: gb2026 (default) or legacy (add)")
	scope := fs.String("scope", "*", `"*" everywhere, a district/street/community/grid code, or mgmt:CODE (add)`)
	dep := fs.String("department", "", "department code (add)")
	priority := fs.Int("priority", 0, "priority within the scope level; higher wins (add)")
	note := fs.String("note", "", "note (add)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "list":
		rs, err := st.Rules(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tscheme\tkind\tclass\tscope\tpriority\tdepartment")
		for _, r := range rs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s %s\n", r.ID, r.Class.Scheme, r.Class.Kind, r.Class.Code, r.Scope, r.Priority, r.Department.Code, r.Department.Name)
		}
		return tw.Flush()
	case "add":
		r, err := api.ParseRule(*class, *kind, *scheme, *scope, *dep, *priority, *note)
		if err != nil {
			return err
		}
		r, err = st.AddRule(ctx, r, *actor, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added rule %d: %s in %s → %s %s (priority %d)\n", r.ID, r.Class, r.Scope, r.Department.Code, r.Department.Name, r.Priority)
		return nil
	case "retire":
		if len(pos) != 1 {
			return errors.New(rulesUsage)
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return fmt.Errorf("rule id %q is not a number", pos[0])
		}
		if err := st.RetireRule(ctx, id, *actor, *reason); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "retired rule %d\n", id)
		return nil
	}
	return errors.New(rulesUsage)
}

// parseInterleaved parses flags that may come before or after positional
// arguments (gridd departments set CODE --name N) and returns the
// positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
