package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"gridd/grids/postgis"
)

func init() {
	commands["calendar"] = command{help: "the work clock's holiday calendar: import FILE.csv (one year: date,kind,name) | show YEAR", run: runCalendar}
}

// runCalendar imports a year's holiday calendar (the State Council's
// arrangement of statutory holidays and adjusted working days, published
// each year) so that case time limits count it, or shows a year's days.
func runCalendar(ctx context.Context, e *env, args []string) error {
	if len(args) < 2 || (args[0] != "import" && args[0] != "show") {
		return errors.New("usage: gridd calendar import FILE.csv | show YEAR")
	}
	fs := flag.NewFlagSet("calendar "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: gridd calendar import FILE.csv | show YEAR")
	}
	args = []string{args[0], pos[0]}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "import":
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		year, n, err := st.ImportWorkCalendar(ctx, f)
		if err != nil {
			return fmt.Errorf("calendar import %s: %w", args[1], err)
		}
		fmt.Fprintf(e.stdout, "calendar: %d imported (%d days); case time limits count it from now\n", year, n)
		return nil
	default:
		cal, err := st.WorkCalendar(ctx)
		if err != nil {
			return err
		}
		var year int
		if _, err := fmt.Sscanf(args[1], "%d", &year); err != nil {
			return fmt.Errorf("calendar show: %q is not a year", args[1])
		}
		if !cal.Covers(year) {
			fmt.Fprintf(e.stdout, "calendar: no holiday calendar for %d (weekends only); import the year's with gridd calendar import\n", year)
		}
		loc := cal.Location()
		for d := time.Date(year, 1, 1, 12, 0, 0, 0, loc); d.Year() == year; d = d.AddDate(0, 0, 1) {
			name, _ := cal.DayName(d)
			weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
			if name != "" || (weekend && cal.IsWorkingDay(d)) {
				kind := "holiday"
				if cal.IsWorkingDay(d) {
					kind = "workday"
				}
				fmt.Fprintf(e.stdout, "%s %s %s %s\n", d.Format("2006-01-02"), strings.ToLower(d.Weekday().String()[:3]), kind, name)
			}
		}
		return nil
	}
}

// flagOverdue marks cases past their stage's deadline and announces them on
// the change feed, every interval until ctx ends.
func flagOverdue(ctx context.Context, st *postgis.Store, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ids, err := st.FlagOverdue(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("cases: flagging overdue cases failed", "err", err)
		} else if len(ids) > 0 {
			log.Info("cases: overdue", "cases", ids)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// indexReportCells counts the reports stored before hot spots existed
// (migration 0020) in their H3 cells, once, at start.
func indexReportCells(ctx context.Context, st *postgis.Store, log *slog.Logger) {
	n, err := st.IndexReportCells(ctx)
	if err != nil && ctx.Err() == nil {
		log.Warn("cases: counting reports in hot-spot cells failed", "err", err, "counted", n)
	} else if n > 0 {
		log.Info("cases: reports counted in hot-spot cells", "reports", n)
	}
}
