package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// The evaluation of the demo's year (gridd demo: 2,500 cases through the
// loop, with their ratings) against SQL written here from the definitions
// in docs/design.md, reading only the event log, the cases and the ratings
// (not the case summaries or the rollup the evaluation reads): by district,
// community and department, over the year, a month (whole days: the rollup)
// and a period starting and ending mid-day (the single statement). Counts
// must be equal; medians within the rollup's stated bound.
func TestDemoYearEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo district and its year of cases")
	}
	ctx := context.Background()
	url := pgtest.NewURL(t)
	out, _ := os.Create(filepath.Join(t.TempDir(), "stdout"))
	e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}
	if err := runDemo(ctx, e, []string{"--db", url, "--dir", "../../testdata/dongcheng"}); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("gridd demo: %v\n%s", err, b)
	}
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	var cases, rated int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_satisfaction)`).Scan(&cases, &rated); err != nil {
		t.Fatal(err)
	}
	if cases != 2500 || rated < 500 {
		t.Fatalf("the demo year holds %d cases and %d ratings, want 2500 and hundreds", cases, rated)
	}
	china := time.FixedZone("CST", 8*3600)
	periods := []struct {
		name     string
		from, to time.Time
	}{
		{"the year", time.Date(2025, 12, 1, 0, 0, 0, 0, china), time.Date(2026, 12, 1, 0, 0, 0, 0, china)},
		{"March", time.Date(2026, 3, 1, 0, 0, 0, 0, china), time.Date(2026, 4, 1, 0, 0, 0, 0, china)},
		{"mid-day to mid-day", time.Date(2026, 5, 10, 12, 0, 0, 0, china), time.Date(2026, 6, 20, 9, 30, 0, 0, china)},
	}
	for _, by := range []grids.EvaluationBy{grids.ByDistrict, grids.ByCommunity, grids.ByDepartment} {
		for _, p := range periods {
			what := fmt.Sprintf("by %s, %s", by, p.name)
			got, err := st.Evaluate(ctx, grids.EvaluationQuery{By: by, From: p.from, To: p.to})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			want := independentEvaluation(t, pool, by, p.from, p.to)
			compareEvaluation(t, what, got, want)
		}
	}
}

// independentEvaluation computes the evaluation's measures per group from
// case_events, cases and case_satisfaction.
func independentEvaluation(t *testing.T, pool *pgxpool.Pool, by grids.EvaluationBy, from, to time.Time) map[string]grids.EvaluationRow {
	t.Helper()
	// The group of a step (e, its case c), of a due case (d) and of a
	// rating (s, its case c).
	var stepKey, dueKey, rateKey string
	switch by {
	case grids.ByDistrict:
		stepKey, dueKey, rateKey = "left(c.grid_code, 6)", "left(d.grid_code, 6)", "left(c.grid_code, 6)"
	case grids.ByCommunity:
		stepKey, dueKey, rateKey = "left(c.grid_code, 12)", "left(d.grid_code, 12)", "left(c.grid_code, 12)"
	case grids.ByDepartment:
		stepKey = "coalesce(e.department_code, c.routed_department, '')"
		dueKey = "coalesce(d.dep, '')"
		rateKey = "coalesce(s.department_code, c.routed_department, '')"
	}
	rows := map[string]grids.EvaluationRow{}
	get := func(k string) grids.EvaluationRow { return rows[k] }
	// Flow: the steps taken in the period; a stage's time runs from the
	// case's latest earlier event other than suspend, resume and extend.
	q := `WITH e AS (
			SELECT e.*, max(e.at) FILTER (WHERE e.step NOT IN ('suspend', 'resume', 'extend'))
				OVER (PARTITION BY e.case_id ORDER BY e.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS started
			FROM case_events e)
		SELECT ` + stepKey + `,
			count(*) FILTER (WHERE e.step = 'report'), count(*) FILTER (WHERE e.step = 'file'),
			count(*) FILTER (WHERE e.step = 'reject'), count(*) FILTER (WHERE e.step = 'dispatch'),
			count(*) FILTER (WHERE e.step = 'dispatch' AND NOT coalesce(e.at > e.deadline, false)),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - e.started) / 3600) FILTER (WHERE e.step IN ('file', 'reject')),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - e.started) / 3600) FILTER (WHERE e.step = 'dispatch'),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - e.started) / 3600) FILTER (WHERE e.step = 'handle'),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - e.started) / 3600) FILTER (WHERE e.step IN ('verify', 'rework')),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - e.started) / 3600) FILTER (WHERE e.step = 'close')
		FROM e JOIN cases c ON c.id = e.case_id
		WHERE e.at >= $1 AND e.at < $2
		GROUP BY 1`
	r, err := pool.Query(context.Background(), q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k string
		var row grids.EvaluationRow
		if err := r.Scan(&k, &row.Reported, &row.Filed, &row.Rejected, &row.Dispatched, &row.DispatchedOnTime,
			&row.MedianFileH, &row.MedianDispatchH, &row.MedianHandleH, &row.MedianVerifyH, &row.MedianCloseH); err != nil {
			t.Fatal(err)
		}
		row.Code = k
		rows[k] = row
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	// Cohort: cases due in the period, by the deadline of their first
	// handling (or, never handled and still being handled, their current
	// deadline); measures reached before the period's end.
	q = `WITH first_handle AS (
			SELECT DISTINCT ON (case_id) case_id, at, deadline, department_code FROM case_events
			WHERE step = 'handle' ORDER BY case_id, id),
		d AS (
			SELECT c.id, c.grid_code, f.at AS handled_at, f.deadline AS handle_deadline,
				CASE WHEN f.case_id IS NOT NULL THEN f.deadline WHEN c.state = 'dispatched' THEN c.deadline END AS due_at,
				CASE WHEN f.case_id IS NOT NULL THEN f.department_code ELSE c.department_code END AS dep,
				(SELECT min(at) FROM case_events x WHERE x.case_id = c.id AND x.step = 'rework') AS reworked_at,
				(SELECT min(at) FROM case_events x WHERE x.case_id = c.id AND x.step = 'close') AS closed_at,
				(SELECT min(at) FROM case_events x WHERE x.case_id = c.id AND x.at > x.deadline
					AND x.step IN ('file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'return')) AS late_at
			FROM cases c LEFT JOIN first_handle f ON f.case_id = c.id)
		SELECT ` + dueKey + `, count(*), count(*) FILTER (WHERE d.handled_at < $2),
			count(*) FILTER (WHERE d.handled_at <= d.handle_deadline), count(*) FILTER (WHERE d.reworked_at < $2),
			count(*) FILTER (WHERE d.closed_at < $2),
			count(*) FILTER (WHERE d.closed_at < $2 AND (d.late_at IS NULL OR d.late_at > d.closed_at))
		FROM d WHERE d.due_at >= $1 AND d.due_at < $2
		GROUP BY 1`
	if r, err = pool.Query(context.Background(), q, from, to); err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k string
		var due, handled, onTime, reworked, closed, closedOnTime int
		if err := r.Scan(&k, &due, &handled, &onTime, &reworked, &closed, &closedOnTime); err != nil {
			t.Fatal(err)
		}
		row := get(k)
		row.Code, row.Due, row.Handled, row.HandledOnTime, row.Reworked, row.Closed, row.ClosedOnTime = k, due, handled, onTime, reworked, closed, closedOnTime
		rows[k] = row
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	// Ratings given in the period (the ratings table, not the log).
	q = `SELECT ` + rateKey + `, count(*), count(*) FILTER (WHERE s.rating IN ('satisfied', 'basically_satisfied'))
		FROM case_satisfaction s JOIN cases c ON c.id = s.case_id
		WHERE s.at >= $1 AND s.at < $2 GROUP BY 1`
	if r, err = pool.Query(context.Background(), q, from, to); err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k string
		var n, sat int
		if err := r.Scan(&k, &n, &sat); err != nil {
			t.Fatal(err)
		}
		row := get(k)
		row.Code, row.Rated, row.Satisfied = k, n, sat
		rows[k] = row
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// compareEvaluation checks the evaluation's rows against the independent
// ones: the same groups, equal counts, rates from those counts, medians
// within the bound.
func compareEvaluation(t *testing.T, what string, got []grids.EvaluationRow, want map[string]grids.EvaluationRow) {
	t.Helper()
	seen := map[string]bool{}
	steps, due := 0, 0
	for _, g := range got {
		seen[g.Code] = true
		w, ok := want[g.Code]
		if !ok {
			if g.Reported+g.Filed+g.Rejected+g.Dispatched+g.Due+g.Rated > 0 {
				t.Errorf("%s: group %q (%+v) has nothing in the log", what, g.Code, g)
			}
			continue
		}
		counts := func(r grids.EvaluationRow) [13]int {
			return [13]int{r.Reported, r.Filed, r.Rejected, r.Dispatched, r.DispatchedOnTime, r.Due, r.Handled,
				r.HandledOnTime, r.Reworked, r.Closed, r.ClosedOnTime, r.Rated, r.Satisfied}
		}
		if cg, cw := counts(g), counts(w); cg != cw {
			t.Errorf("%s, %s: counts (reported, filed, rejected, dispatched, on time, due, handled, on time, reworked, closed, on time, rated, satisfied)\n got %v\nwant %v",
				what, g.Code, cg, cw)
		}
		steps += g.Reported + g.Filed + g.Dispatched
		due += g.Due
		if w.Due > 0 {
			if g.OnTimeCloseRate == nil || math.Abs(*g.OnTimeCloseRate-float64(w.ClosedOnTime)/float64(w.Due)) > 1e-9 {
				t.Errorf("%s, %s: on-time close rate %v, want %d/%d", what, g.Code, g.OnTimeCloseRate, w.ClosedOnTime, w.Due)
			}
		}
		if w.Rated > 0 && (g.Satisfaction == nil || math.Abs(*g.Satisfaction-float64(w.Satisfied)/float64(w.Rated)) > 1e-9) {
			t.Errorf("%s, %s: satisfaction %v, want %d/%d", what, g.Code, g.Satisfaction, w.Satisfied, w.Rated)
		}
		for _, m := range []struct {
			name      string
			got, want *float64
		}{{"file", g.MedianFileH, w.MedianFileH}, {"dispatch", g.MedianDispatchH, w.MedianDispatchH},
			{"handle", g.MedianHandleH, w.MedianHandleH}, {"verify", g.MedianVerifyH, w.MedianVerifyH},
			{"close", g.MedianCloseH, w.MedianCloseH}} {
			switch {
			case (m.got == nil) != (m.want == nil):
				t.Errorf("%s, %s: median %s %v, want %v", what, g.Code, m.name, m.got, m.want)
			case m.got != nil:
				bound := math.Max(postgis.MedianRelBound*math.Abs(*m.want), postgis.MedianAbsBound/3600) + 1e-9
				if math.Abs(*m.got-*m.want) > bound {
					t.Errorf("%s, %s: median %s %.6f h, want %.6f (±%.6f)", what, g.Code, m.name, *m.got, *m.want, bound)
				}
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s: group %q (%+v) is missing from the evaluation", what, k, want[k])
		}
	}
	if steps == 0 || due == 0 {
		t.Errorf("%s: no steps or no due cases: the comparison is empty", what)
	}
}
