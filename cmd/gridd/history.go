package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
)

func init() {
	commands["history"] = command{help: "recorded changes: list --entity E --code C | revert ID [--reason R]", run: runHistory}
}

const historyUsage = "usage: gridd history list --entity component|department|routing_rule|unit_grid|... --code CODE | revert ID [--reason R]"

// runHistory lists a record's changes and reverts single changes of
// components, departments and routing rules.
func runHistory(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New(historyUsage)
	}
	fs := flag.NewFlagSet("history "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	reason := fs.String("reason", "", "why, for the history (revert)")
	entity := fs.String("entity", "", "the kind of record (list)")
	code := fs.String("code", "", "the record's code, or a rule's id (list)")
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
		if *entity == "" || *code == "" {
			return errors.New("history list: --entity and --code are required")
		}
		hs, err := st.History(ctx, *entity, *code)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tat\tactor\taction\treason")
		for _, h := range hs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", h.ID, h.At.UTC().Format("2006-01-02 15:04:05"), h.Actor, h.Action, h.Reason)
		}
		return tw.Flush()
	case "revert":
		if len(pos) != 1 {
			return errors.New("history revert: give one change id")
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return fmt.Errorf("history revert: %q is not a change id", pos[0])
		}
		h, err := st.RevertChange(ctx, id, *actor, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "change %d reverted: %s %s %s (change %d)\n", id, h.Action, h.Entity, h.Code, h.ID)
		return nil
	}
	return fmt.Errorf("history: unknown action %q; want list or revert", args[0])
}
