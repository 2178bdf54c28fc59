package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"gridd/grids"
)

func init() {
	commands["limits"] = command{help: "the time limits of case stages (处置时限): show | import FILE.csv [--dry-run]", run: runLimits}
}

// runLimits shows the table of time limits per class, urgency and stage,
// or replaces it whole from a CSV file (kind,class,urgency,stage,limit
// with a header; rows with no class are the defaults), checked first.
func runLimits(ctx context.Context, e *env, args []string) error {
	const usage = "usage: gridd limits show | import FILE.csv [--dry-run]"
	if len(args) < 1 || (args[0] != "import" && args[0] != "show") {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("limits "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	dry := fs.Bool("dry-run", false, "check the file and show what it would set, without storing it")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if (args[0] == "import") != (len(pos) == 1) || len(pos) > 1 {
		return errors.New(usage)
	}
	var limits []grids.TimeLimit
	if args[0] == "import" {
		if limits, err = readTimeLimits(pos[0]); err != nil {
			return fmt.Errorf("limits import: %w", err)
		}
		if *dry {
			printLimits(e, limits)
			fmt.Fprintf(e.stdout, "limits: %s holds %d limits; nothing stored (--dry-run)\n", pos[0], len(limits))
			return nil
		}
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "import" {
		if err := st.ReplaceTimeLimits(ctx, limits); err != nil {
			return fmt.Errorf("limits import %s: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "limits: %d limits from %s; stages started from now take them\n", len(limits), pos[0])
		return nil
	}
	if limits, err = st.TimeLimits(ctx); err != nil {
		return err
	}
	printLimits(e, limits)
	return nil
}

// readTimeLimits reads and checks a table of time limits from a CSV file.
func readTimeLimits(path string) ([]grids.TimeLimit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	limits, err := grids.ParseTimeLimitsCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return limits, nil
}

func printLimits(e *env, limits []grids.TimeLimit) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\tclass\tname\turgency\tstage\tlimit")
	for _, l := range limits {
		kind, class, name := l.Kind, l.Class, l.Name
		if class == "" {
			kind, class, name = "*", "*", "(default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", kind, class, name, l.Urgency, l.Stage, l.Limit)
	}
	tw.Flush()
}
