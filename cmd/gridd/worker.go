package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gridd/grids"
)

func init() {
	commands["worker"] = command{help: "grid workers: add --name --phone --role; assign --worker ID --mgmt-grid CODE --from TIME [--to TIME]; end --duty ID --at TIME; leave --worker ID [--at TIME]; list [--mgmt-grid CODE]", run: runWorker}
}

const workerUsage = "usage: gridd worker add --name NAME [--phone PHONE] [--role grid_worker|supervisor]\n" +
	"       gridd worker assign --worker ID --mgmt-grid CODE --from TIME [--to TIME]\n" +
	"       gridd worker end --duty ID [--at TIME]\n" +
	"       gridd worker leave --worker ID [--at TIME]\n" +
	"       gridd worker list [--mgmt-grid CODE]\n" +
	"TIME: RFC 3339 (2026-03-01T08:00:00+08:00), or 2026-03-01 / 2026-03-01 08:00 in Beijing time"

func runWorker(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New(workerUsage)
	}
	fs := flag.NewFlagSet("worker "+args[0], flag.ContinueOnError)
	db := dbFlag(fs)
	actor := actorFlag(fs)
	reason := fs.String("reason", "", "why, for the history")
	switch args[0] {
	case "add":
		name := fs.String("name", "", "the worker's name")
		phone := fs.String("phone", "", "telephone number")
		role := fs.String("role", grids.WorkerRoleGridWorker, "grid_worker or supervisor")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		w, err := grids.CheckGridWorker(grids.GridWorker{Name: *name, Phone: *phone, Role: *role})
		if err != nil {
			return err
		}
		st, err := openStore(ctx, e, *db, true)
		if err != nil {
			return err
		}
		defer st.Close()
		w, err = st.AddWorker(ctx, w, *actor, orDefault(*reason, "grid worker added"))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added %s %d %s %s\n", w.Role, w.ID, w.Name, w.Phone)
		return nil
	case "assign":
		worker := fs.Int64("worker", 0, "the worker's id")
		grid := fs.String("mgmt-grid", "", "the management grid's code")
		from := fs.String("from", "", "start of the duty")
		to := fs.String("to", "", "end of the duty (excluded); empty: open-ended")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		d := grids.Duty{WorkerID: *worker, MgmtGrid: *grid}
		var err error
		if d.Starts, err = parseWhen("from", *from); err != nil {
			return err
		}
		if *to != "" {
			t, err := parseWhen("to", *to)
			if err != nil {
				return err
			}
			d.Ends = &t
		}
		if d, err = grids.CheckDuty(d); err != nil {
			return err
		}
		st, err := openStore(ctx, e, *db, true)
		if err != nil {
			return err
		}
		defer st.Close()
		d, err = st.AssignDuty(ctx, d, *actor, orDefault(*reason, "grid worker assigned"))
		if err != nil {
			return err
		}
		printDuty(e, d)
		return nil
	case "end":
		duty := fs.Int64("duty", 0, "the duty's id")
		at := fs.String("at", "", "when the duty ends (default now)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *duty <= 0 {
			return grids.Invalid("duty", "is required")
		}
		when, err := whenOrNow("at", *at)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, e, *db, true)
		if err != nil {
			return err
		}
		defer st.Close()
		d, err := st.EndDuty(ctx, *duty, when, *actor, orDefault(*reason, "grid worker duty ended"))
		if err != nil {
			return err
		}
		printDuty(e, d)
		return nil
	case "leave":
		worker := fs.Int64("worker", 0, "the worker's id")
		at := fs.String("at", "", "when the worker leaves (default now): running duties end then, later ones are cancelled")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *worker <= 0 {
			return grids.Invalid("worker", "is required")
		}
		when, err := whenOrNow("at", *at)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, e, *db, true)
		if err != nil {
			return err
		}
		defer st.Close()
		w, err := st.RetireWorker(ctx, *worker, when, *actor, orDefault(*reason, "grid worker left"))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s %d %s left at %s\n", w.Role, w.ID, w.Name, w.ValidTo.Format(time.RFC3339))
		return nil
	case "list":
		grid := fs.String("mgmt-grid", "", "only the workers with a duty on this management grid that has not ended")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := openStore(ctx, e, *db, false)
		if err != nil {
			return err
		}
		defer st.Close()
		ws, err := st.Workers(ctx, strings.TrimSpace(*grid))
		if err != nil {
			return err
		}
		if len(ws) == 0 {
			if *grid != "" {
				fmt.Fprintf(e.stdout, "no grid worker has a duty on management grid %s\n", *grid)
			} else {
				fmt.Fprintln(e.stdout, "no grid workers")
			}
			return nil
		}
		for _, w := range ws {
			fmt.Fprintf(e.stdout, "%d\t%s\t%s\t%s\n", w.ID, w.Name, w.Role, w.Phone)
			ds, err := st.Duties(ctx, w.ID)
			if err != nil {
				return err
			}
			for _, d := range ds {
				if *grid != "" && d.MgmtGrid != *grid {
					continue
				}
				fmt.Fprintf(e.stdout, "\tduty %d\t%s\tfrom %s %s\n", d.ID, d.MgmtGrid, d.Starts.Format(time.RFC3339), dutyEnd(d.Ends))
			}
		}
		return nil
	}
	return errors.New(workerUsage)
}

var beijing = time.FixedZone("CST", 8*3600)

// parseWhen reads a time as RFC 3339, or a date or date and minute in
// Beijing time.
func parseWhen(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, grids.Invalid(field, "is required")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, beijing); err == nil {
			return t, nil
		}
	}
	return time.Time{}, grids.Invalid(field, "%s is not a time (RFC 3339, or 2006-01-02 [15:04] in Beijing time)", strconv.Quote(s))
}

// whenOrNow is parseWhen of s, or now when s is empty.
func whenOrNow(field, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Now(), nil
	}
	return parseWhen(field, s)
}

func printDuty(e *env, d grids.Duty) {
	fmt.Fprintf(e.stdout, "duty %d: worker %d on management grid %s from %s %s\n", d.ID, d.WorkerID, d.MgmtGrid,
		d.Starts.Format(time.RFC3339), dutyEnd(d.Ends))
}

func dutyEnd(ends *time.Time) string {
	if ends == nil {
		return "(open-ended)"
	}
	return "to " + ends.Format(time.RFC3339)
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
