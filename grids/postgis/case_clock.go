package postgis

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
	"gridd/workclock"
)

// Case time limits run on the work clock (package workclock): the holiday
// calendars gridd carries, replaced year by year by those imported into
// work_calendar. A stage's limit comes from case_time_limits (migration
// 0016) when the stage starts.

// calendarTTL is how long a store uses the calendar it read before reading
// work_calendar again (an import on another instance reaches this one
// within it; on this one at once).
const calendarTTL = time.Minute

type calendarCache struct {
	mu   sync.Mutex
	cal  *workclock.Calendar
	read time.Time
	now  func() time.Time // nil: time.Now
}

// SetCaseClock makes the case time limits read the time from now instead
// of the system clock (tests set the days they check).
func (s *Store) SetCaseClock(now func() time.Time) {
	s.clock.mu.Lock()
	s.clock.now = now
	s.clock.mu.Unlock()
}

// caseNow is the time as the case time limits read it.
func (s *Store) caseNow() time.Time {
	s.clock.mu.Lock()
	now := s.clock.now
	s.clock.mu.Unlock()
	if now == nil {
		return time.Now()
	}
	return now()
}

// stageOf is the stage a case in state s is in, named by the step that ends
// it; "" for states without a time limit.
func stageOf(s grids.CaseState) string {
	switch s {
	case grids.CaseReported:
		return "file"
	case grids.CaseFiled:
		return "dispatch"
	case grids.CaseDispatched:
		return "handle"
	case grids.CaseHandled:
		return "verify"
	case grids.CaseVerified:
		return "close"
	}
	return ""
}

// WorkCalendar is the work clock's calendar: the embedded years with the
// imported ones laid over them.
func (s *Store) WorkCalendar(ctx context.Context) (*workclock.Calendar, error) {
	s.clock.mu.Lock()
	defer s.clock.mu.Unlock()
	if s.clock.cal != nil && time.Since(s.clock.read) < calendarTTL {
		return s.clock.cal, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT year, day, kind, name FROM work_calendar ORDER BY year, day`)
	if err != nil {
		return nil, fmt.Errorf("work calendar: %w", translateCtx(ctx, err))
	}
	files := map[int]*bytes.Buffer{}
	var years []int
	var year int
	var day time.Time
	var kind, name string
	_, err = pgx.ForEachRow(rows, []any{&year, &day, &kind, &name}, func() error {
		b := files[year]
		if b == nil {
			b = bytes.NewBufferString("date,kind,name\n")
			files[year] = b
			years = append(years, year)
		}
		w := csv.NewWriter(b)
		w.Write([]string{day.Format("2006-01-02"), kind, name}) //nolint:errcheck // to memory
		w.Flush()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("work calendar: %w", translateCtx(ctx, err))
	}
	cal := workclock.DefaultCalendar()
	for _, y := range years {
		if err := cal.Import(files[y]); err != nil {
			return nil, fmt.Errorf("work calendar %d as stored: %w", y, err)
		}
	}
	s.clock.cal, s.clock.read = cal, time.Now()
	return cal, nil
}

// ImportWorkCalendar checks a year's calendar file (workclock's CSV: date,
// kind, name) and stores it in place of that year's, all or nothing. It
// returns the year and how many days the file names.
func (s *Store) ImportWorkCalendar(ctx context.Context, r io.Reader) (int, int, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return 0, 0, err
	}
	check, err := workclock.New(workclock.DefaultCalendar().Location(), nil)
	if err != nil {
		return 0, 0, err
	}
	if err := check.Import(bytes.NewReader(data)); err != nil {
		return 0, 0, grids.Invalid("calendar", "%v", err)
	}
	years := check.Years()
	if len(years) != 1 {
		return 0, 0, grids.Invalid("calendar", "the file covers years %v; one year a file", years)
	}
	year := years[0]
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		return 0, 0, grids.Invalid("calendar", "%v", err)
	}
	n := 0
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM work_calendar WHERE year = $1`, year); err != nil {
			return err
		}
		for _, rec := range recs[1:] {
			if len(rec) == 0 || strings.HasPrefix(strings.TrimSpace(rec[0]), "#") || strings.TrimSpace(rec[0]) == "" {
				continue
			}
			name := ""
			if len(rec) > 2 {
				name = strings.TrimSpace(rec[2])
			}
			if _, err := tx.Exec(ctx, `INSERT INTO work_calendar (day, year, kind, name) VALUES ($1, $2, $3, $4)`,
				strings.TrimSpace(rec[0]), year, strings.TrimSpace(rec[1]), name); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import calendar %d: %w", year, translateCtx(ctx, err))
	}
	s.clock.mu.Lock()
	s.clock.cal = nil
	s.clock.mu.Unlock()
	return year, n, nil
}

// stageLimit is the time limit of a case's stage: the row of its class,
// else of its major class, else of every class, for its urgency.
func stageLimit(ctx context.Context, q rowQuerier, c grids.Case, stage string) (string, error) {
	var limit string
	err := q.QueryRow(ctx, `SELECT time_limit FROM case_time_limits
		WHERE urgency = $1 AND stage = $2
			AND ((scheme, kind, class) IN (($3, $4, $5), ($3, $4, left($5, 2))) OR (scheme, kind, class) = ('', '', ''))
		ORDER BY length(class) DESC LIMIT 1`,
		c.Urgency, stage, c.Class.Scheme, c.Class.Kind, c.Class.Code).Scan(&limit)
	if err != nil {
		return "", fmt.Errorf("time limit of %s (%s, %s): %w", stage, c.Class.Code, c.Urgency, err)
	}
	return limit, nil
}

// rowQuerier is a pool, a connection or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// caseClock is a case's time limit fields as a step leaves them.
type caseClock struct {
	limit       *string
	deadline    *time.Time
	suspendedAt *time.Time
}

// nextClock sets the clock of a case moving from c.State to `to` by step at
// now: a new stage starts its limit; extend moves the deadline on by the
// hours granted (work hours for a limit in work units); suspend stops the
// clock; resume moves the deadline on
// by the time spent suspended, in the limit's own measure.
func nextClock(ctx context.Context, q rowQuerier, cal *workclock.Calendar, c grids.Case, step grids.CaseStep, to grids.CaseState, hours float64, now time.Time) (caseClock, error) {
	cur := caseClock{deadline: c.Deadline}
	if c.TimeLimit != "" {
		cur.limit = &c.TimeLimit
	}
	switch step {
	case grids.StepExtend:
		if cur.deadline != nil && cur.limit != nil {
			l, err := workclock.ParseLimit(*cur.limit)
			if err != nil {
				return cur, err
			}
			d := resumeDeadline(cal, l, *cur.deadline, time.Duration(hours*float64(time.Hour)))
			cur.deadline = &d
		}
		return cur, nil
	case grids.StepSuspend:
		cur.suspendedAt = &now
		return cur, nil
	case grids.StepResume:
		if cur.deadline != nil && c.SuspendedAt != nil && cur.limit != nil {
			l, err := workclock.ParseLimit(*cur.limit)
			if err != nil {
				return cur, err
			}
			left := cal.Left(*cur.deadline, *c.SuspendedAt, l)
			d := resumeDeadline(cal, l, now, left)
			cur.deadline = &d
		}
		return cur, nil
	}
	stage := stageOf(to)
	if stage == "" {
		return caseClock{}, nil
	}
	limit, err := stageLimit(ctx, q, c, stage)
	if err != nil {
		return cur, err
	}
	l, err := workclock.ParseLimit(limit)
	if err != nil {
		return cur, fmt.Errorf("time limit %q of %s: %w", limit, stage, err)
	}
	d := cal.Deadline(now, l)
	return caseClock{limit: &limit, deadline: &d}, nil
}

// resumeDeadline is when d, in the limit's own measure (working time for
// work units), has passed after from.
func resumeDeadline(cal *workclock.Calendar, l workclock.Limit, from time.Time, d time.Duration) time.Time {
	if l.Unit.Continuous() {
		return from.Add(d)
	}
	return cal.Add(from, d)
}

// fillClock sets what a case's clock says at now: overdue, and the time
// left in the limit's measure (working time for work units).
func fillClock(cal *workclock.Calendar, c *grids.Case, now time.Time) {
	if c.Deadline == nil || c.TimeLimit == "" || !c.State.Open() {
		return
	}
	l, err := workclock.ParseLimit(c.TimeLimit)
	if err != nil {
		return
	}
	at := now
	if c.State == grids.CaseSuspended && c.SuspendedAt != nil {
		at = *c.SuspendedAt // the clock stopped
	}
	left := cal.Left(*c.Deadline, at, l).Seconds()
	c.RemainingS = &left
	c.Overdue = at.After(*c.Deadline)
}

// FlagOverdue marks the open cases whose stage's deadline has passed and
// that are not marked yet, and announces each on the change feed (table
// cases, op OVERDUE, its point as the extent). It returns their ids.
func (s *Store) FlagOverdue(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE cases SET overdue_since = $1
			WHERE overdue_since IS NULL AND deadline < $1 AND state NOT IN ('rejected', 'closed', 'suspended')
			RETURNING id, ST_X(geom), ST_Y(geom), state, deadline`, s.caseNow())
		if err != nil {
			return err
		}
		type flagged struct {
			id       int64
			x, y     float64
			state    string
			deadline time.Time
		}
		var fs []flagged
		var f flagged
		if _, err := pgx.ForEachRow(rows, []any{&f.id, &f.x, &f.y, &f.state, &f.deadline}, func() error {
			fs = append(fs, f)
			return nil
		}); err != nil {
			return err
		}
		for _, f := range fs {
			msg, _ := json.Marshal(map[string]any{"table": "cases", "op": "OVERDUE", "version": 0,
				"bbox": []float64{f.x, f.y, f.x, f.y}, "id": f.id, "state": f.state, "deadline": f.deadline})
			if _, err := tx.Exec(ctx, `SELECT pg_notify('gridd_changes', $1)`, string(msg)); err != nil {
				return err
			}
			ids = append(ids, f.id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flag overdue cases: %w", translateCtx(ctx, err))
	}
	return ids, nil
}
