package main

import (
	"flag"
	"fmt"
	"io"

	"gridd/grids"
)

// fitFlags are import divisions' --fit and --dry-run.
type fitFlags struct {
	fit    *string
	dryRun *bool
}

func newFitFlags(fs *flag.FlagSet) fitFlags {
	return fitFlags{
		fit: fs.String("fit", "", "repair imperfect boundaries, moving none farther than this distance (e.g. 2m): "+
			"children snapped and clipped to their parent, overlaps to the smaller code, gaps to the longest border "+
			"(default: off, children must lie inside their parent and siblings must not overlap)"),
		dryRun: fs.Bool("dry-run", false, "check (and with --fit, fit) and report without writing"),
	}
}

// options reads the flags into the import's options.
func (f fitFlags) options(actor, reason string) (grids.DivisionImport, error) {
	opt := grids.DivisionImport{Actor: actor, Reason: reason, DryRun: *f.dryRun}
	if *f.fit != "" {
		d, err := grids.ParseDistance(*f.fit)
		if err != nil {
			return opt, fmt.Errorf("--fit: %w", err)
		}
		opt.Fit = d
	}
	return opt, nil
}

// printDivisionReport writes what an import did (or, in a dry run, would
// do): the fit report of every feature that moved, then the counts.
func printDivisionReport(w io.Writer, path string, opt grids.DivisionImport, rep grids.DivisionImportReport) {
	printFitReport(w, opt, rep.Fit)
	verb := "imported"
	if rep.DryRun {
		verb = "dry run, nothing written:"
	}
	fmt.Fprintf(w, "%s %s: %d created, %d updated, %d unchanged\n", verb, path, rep.Created, rep.Updated, rep.Unchanged)
}

func printFitReport(w io.Writer, opt grids.DivisionImport, fits []grids.DivisionFit) {
	if opt.Fit <= 0 || len(fits) == 0 {
		return
	}
	moved, maxMoved := 0, 0.0
	for _, f := range fits {
		if f.Changed() {
			moved++
			fmt.Fprintf(w, "  %s\n", f)
			maxMoved = max(maxMoved, f.MovedM)
		}
	}
	fmt.Fprintf(w, "fit within %s: %d of %d features moved, at most %.2f m\n", grids.FormatMetres(opt.Fit), moved, len(fits), maxMoved)
}
