package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
)

func init() {
	commands["evaluate"] = command{help: "evaluation of the record (综合评价): --by grid|community|street|district|mgmt|department --from DATE --to DATE [--area CODE] [--csv [--zh]]", run: runEvaluate}
}

// runEvaluate prints the evaluation of [from, to) per group (the measures
// of GET /v1/evaluation, grids/postgis/evaluation.go), as a table or as the
// API's CSV for Excel.
func runEvaluate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	db := dbFlag(fs)
	by := fs.String("by", "community", "group by grid, community, street, district, mgmt or department")
	from := fs.String("from", "", "the period's start: a date (midnight China time) or an RFC 3339 time")
	to := fs.String("to", "", "the period's end, excluded")
	area := fs.String("area", "", "only the cases of this district, street, community or grid")
	asCSV := fs.Bool("csv", false, "write CSV (UTF-8 with a byte order mark, for Excel)")
	zh := fs.Bool("zh", false, "CSV header in Chinese")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errors.New("usage: gridd evaluate --by community --from 2025-01-01 --to 2026-01-01 [--area CODE] [--csv]")
	}
	var q grids.EvaluationQuery
	if q.By, err = grids.ParseEvaluationBy(*by); err != nil {
		return err
	}
	if q.From, err = api.ParseEvaluationTime("from", *from); err != nil {
		return err
	}
	if q.To, err = api.ParseEvaluationTime("to", *to); err != nil {
		return err
	}
	if *area != "" {
		if q.Area, err = geo.ParseCode(*area); err != nil {
			return fmt.Errorf("area: %w", err)
		}
	}
	st, err := openStore(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := st.Evaluate(ctx, q)
	if err != nil {
		return err
	}
	if *asCSV {
		_, err := e.stdout.Write(api.EvaluationCSV(rows, *zh))
		return err
	}
	pct := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", *v*100)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CODE\tNAME\tREPORTED\tFILED\tREJECTED\tDISPATCHED\tON TIME\tDUE\tHANDLED ON TIME\tREWORK\tCLOSED\tCLOSED ON TIME\tSATISFIED\tSCORE\tGRADE")
	for _, r := range rows {
		score := "-"
		if r.Score != nil {
			score = fmt.Sprintf("%.1f", *r.Score)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Code, r.Name, r.Reported, r.Filed, r.Rejected,
			r.Dispatched, pct(r.DispatchOnTimeRate), r.Due, pct(r.HandleOnTimeRate), pct(r.ReworkRate), pct(r.CloseRate),
			pct(r.OnTimeCloseRate), pct(r.Satisfaction), score, r.Grade)
	}
	return w.Flush()
}
