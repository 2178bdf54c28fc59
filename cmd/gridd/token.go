package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"gridd/grids"
)

func init() {
	commands["token"] = command{help: "create, list or revoke API tokens (token create --role editor --name NAME)", run: runToken}
}

// runToken manages API tokens. A created token's secret is printed once;
// only its hash is stored.
func runToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gridd token create --role ROLE --name NAME | list | revoke --name NAME")
	}
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	name := fs.String("name", "", "the token's name, recorded in the history of every change made with it")
	role := fs.String("role", "", "viewer, reporter, supervisor, department, dispatcher, editor or admin")
	department := fs.String("department", "", "with --role department: the code of the department the token acts for")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "create":
		if *name == "" {
			return errors.New("token create: --name is required")
		}
		r, err := grids.ParseRole(*role)
		if err != nil {
			return err
		}
		if (r == grids.RoleDepartment) != (*department != "") {
			return errors.New("token create: --department goes with --role department, and only with it")
		}
		var secret string
		if r == grids.RoleDepartment {
			secret, err = st.CreateDepartmentToken(ctx, *name, *department)
		} else {
			secret, err = st.CreateToken(ctx, *name, r)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "token", *name, "with role", r, "created; it is shown only once:")
		fmt.Fprintln(e.stdout, secret)
		return nil
	case "list":
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "name\trole\tdepartment\tcreated\trevoked")
		for _, t := range ts {
			rev := ""
			if t.Revoked != nil {
				rev = t.Revoked.UTC().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.Department, t.Created.UTC().Format("2006-01-02 15:04"), rev)
		}
		return tw.Flush()
	case "revoke":
		if *name == "" {
			return errors.New("token revoke: --name is required")
		}
		return st.RevokeToken(ctx, *name)
	}
	return fmt.Errorf("token: unknown action %q; want create, list or revoke", args[0])
}
