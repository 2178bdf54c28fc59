package postgis

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// Evaluation (综合评价): the measures of the loop over a period [from, to)
// per grid, community, street, district, management grid or department, in
// one statement (evaluationSQL). Times are the steps' times as logged
// (case_events.at); deadlines are those recorded on each step (migration
// 0018: case_events.deadline is the deadline of the stage the step ended,
// extensions and suspensions included). A step is on time when it is taken
// at or before that deadline; a step with no recorded deadline is never
// late.
//
// Two families of measures:
//
// Flow: the steps taken in the period, each counted once in its group.
//
//	reported            report steps (cases opened)
//	filed               file steps (立案)
//	rejected            reject steps (不予立案: duplicates and out of scope)
//	dispatched          dispatch steps (派遣, re-dispatches after a return
//	                    included)
//	dispatched_on_time  dispatch steps taken by the dispatch stage's deadline
//	dispatch_on_time_rate = dispatched_on_time / dispatched
//	median_<stage>_h    the median wall-clock duration, in hours, of the
//	                    stages of that kind that ended in the period: file
//	                    (report to file or reject), dispatch (file or
//	                    return to dispatch), handle (dispatch or rework to
//	                    handle), verify (handle to verify or rework), close
//	                    (verify to close). Wall-clock: nights, weekends,
//	                    holidays and suspensions count (the work clock is
//	                    applied to deadlines, not to these medians, which
//	                    PostgreSQL computes over any number of cases).
//
// Cohort: the cases due in the period (应结案/应处置), each counted once, in
// the period its first handling deadline falls in:
//
//	due             cases whose first handling stage has its deadline in
//	                [from, to): the deadline recorded on the case's first
//	                handle step, or, for a case still in handling (state
//	                dispatched) never handled yet, its current deadline.
//	                Cases not dispatched yet, returned and not dispatched
//	                again, or suspended before their first handling have
//	                no handling deadline and are not due (挂账 cases stop
//	                the clock). A due case stays due in that period
//	                whatever happens to it after the period.
//	handled         due cases handled (a handle step) before `to`
//	handled_on_time due cases whose first handle step came by its deadline
//	reworked        due cases sent back for rework (a rework step) before
//	                `to`
//	closed          due cases closed (a close step) before `to`
//	closed_on_time  closed due cases none of whose stage-ending steps
//	                (file, reject, dispatch, handle, verify, rework, close,
//	                return) came after the deadline recorded on it
//	handle_on_time_rate (按期处置率) = handled_on_time / due
//	rework_rate (返工率)             = reworked / handled
//	close_rate (结案率)              = closed / due
//	on_time_close_rate (按期结案率)  = closed_on_time / due
//	score = 100 × on_time_close_rate, graded A ≥ 90, B ≥ 75, C ≥ 60,
//	        D ≥ 40, E below (docs/domain.md); none when nothing is due.
//
// Satisfaction (满意度), a flow measure: the ratings reporters gave (POST
// /v1/cases/{id}/satisfaction, once a case is closed; 'rate' events) in
// the period, counted for the case's area and the department it was
// closed with:
//
//	rated           ratings given
//	satisfied       those satisfied (满意) or basically satisfied (基本满意)
//	satisfaction  = satisfied / rated (null when none was given)
//
// Groups. A case counts under the grid it was reported in until that grid
// version is retired (split, merged, reshaped, replaced or rebuilt); then
// it follows the grid's lineage (grid_lineage) to the current grid that
// descends from that version and covers the case's point (cases.geom),
// through any number of edits, at the commit of the edit that retires it
// (migration 0019: case_evaluation.area_code and area_version; a case no
// descendant covers stays where it was). The grid it was reported in stays
// on the case (cases.grid_code, the API's grid) and, by grid, in each
// row's filed_under. The first 12, 9 and 6 digits of the grid a case
// counts under are its community, street and district codes, so a case
// whose grid moved to another community counts there too. Steps carry the
// code they were taken under (case_events.grid_code); the few cases that
// moved (case_evaluation.moved) are looked up by a partial index.
// Management grids are those the case was reported in; a case in several
// counts in each. By department, a step counts for the department
// the case was with when it was taken (case_events.department_code) or,
// before any dispatch, the department routing chose; a due case counts
// for the department of its first handling (the department on its first
// handle step, or the one it is with while still in its first handling).
// Steps and cases of no department form the group with code "".
//
// Area, when set, keeps the cases whose district, street, community or grid
// (by the code's level) is that code.
//
// Periods of whole China days by district, street, community, grid or
// department are read from the daily rollup of migrations 0019 and 0030
// (evaluation_rollup.go):
// the same counts; medians from a histogram of the durations, within 0.5%
// (MedianRelBound) or 1 second (MedianAbsBound) of the exact
// percentile_cont. The rest run evaluationSQL (EvaluateDirect).

// evaluationSQL: $1 from, $2 to, $3 the area code (when filtered). KEY_EV
// is the group of a step (e, and v when JOIN_EV joins case_evaluation),
// KEY_DUE of a due case (f); AREA_EV and AREA_DUE filter them. Steps are
// read from the covering index case_events_evaluation, due cases from
// case_evaluation (migration 0018) by their first handling deadline, and
// the cases still in their first handling from cases by theirs.
const evaluationSQL = `
WITH moved AS (
    SELECT case_id, area_code FROM case_evaluation WHERE moved
),
ev AS (
    SELECT KEY_EV COLLATE "C" AS key, e.step, coalesce(e.at > e.deadline, false) AS late,
        date_part('epoch', e.at - e.stage_started) / 3600 AS hours,
        coalesce(cs.rating IN ('satisfied', 'basically_satisfied'), false) AS satisfied
    FROM case_events e LEFT JOIN moved mv ON mv.case_id = e.case_id
        LEFT JOIN case_satisfaction cs ON e.step = 'rate' AND cs.event_id = e.id JOIN_EV
    WHERE e.at >= $1 AND e.at < $2
        AND e.step IN ('report', 'file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'rate') AREA_EV
),
flow AS (
    SELECT key,
        count(*) FILTER (WHERE step = 'report') AS reported,
        count(*) FILTER (WHERE step = 'file') AS filed,
        count(*) FILTER (WHERE step = 'reject') AS rejected,
        count(*) FILTER (WHERE step = 'dispatch') AS dispatched,
        count(*) FILTER (WHERE step = 'dispatch' AND NOT late) AS dispatched_on_time,
        count(*) FILTER (WHERE step = 'rate') AS rated, count(*) FILTER (WHERE satisfied) AS satisfied,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step IN ('file', 'reject')) AS file_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step = 'dispatch') AS dispatch_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step = 'handle') AS handle_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step IN ('verify', 'rework')) AS verify_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step = 'close') AS close_h
    FROM ev GROUP BY key
),
first_handling AS (
    SELECT v.area_code AS grid_code, v.mgmt_codes, v.first_handle_deadline AS due_at, v.first_handle_at AS handled_at,
        v.first_handle_department AS dep, v.first_rework_at AS reworked_at, v.closed_at, v.first_late_at AS late_at
    FROM case_evaluation v
    WHERE v.first_handle_deadline >= $1 AND v.first_handle_deadline < $2
    UNION ALL
    SELECT coalesce((SELECT v.area_code FROM case_evaluation v WHERE v.case_id = c.id), c.grid_code),
        c.mgmt_codes, c.deadline, NULL, c.department_code, NULL, NULL, NULL
    FROM cases c
    WHERE c.state = 'dispatched' AND c.deadline >= $1 AND c.deadline < $2
        AND NOT EXISTS (SELECT 1 FROM case_evaluation v WHERE v.case_id = c.id AND v.first_handle_at IS NOT NULL)
),
due AS (
    SELECT KEY_DUE COLLATE "C" AS key,
        coalesce(f.handled_at < $2, false) AS handled,
        coalesce(f.handled_at <= f.due_at, false) AS handled_on_time,
        coalesce(f.reworked_at < $2, false) AS reworked,
        coalesce(f.closed_at < $2, false) AS closed,
        coalesce(f.closed_at < $2 AND (f.late_at IS NULL OR f.late_at > f.closed_at), false) AS closed_on_time
    FROM first_handling f MGMT_DUE
    WHERE true AREA_DUE
),
cohort AS (
    SELECT key, count(*) AS due,
        count(*) FILTER (WHERE handled) AS handled,
        count(*) FILTER (WHERE handled_on_time) AS handled_on_time,
        count(*) FILTER (WHERE reworked) AS reworked,
        count(*) FILTER (WHERE closed) AS closed,
        count(*) FILTER (WHERE closed_on_time) AS closed_on_time
    FROM due GROUP BY key
),
groups AS (
    SELECT coalesce(f.key, d.key) AS key,
        coalesce(f.reported, 0) AS reported, coalesce(f.filed, 0) AS filed, coalesce(f.rejected, 0) AS rejected,
        coalesce(f.dispatched, 0) AS dispatched, coalesce(f.dispatched_on_time, 0) AS dispatched_on_time,
        coalesce(f.rated, 0) AS rated, coalesce(f.satisfied, 0) AS satisfied,
        coalesce(d.due, 0) AS due, coalesce(d.handled, 0) AS handled, coalesce(d.handled_on_time, 0) AS handled_on_time,
        coalesce(d.reworked, 0) AS reworked, coalesce(d.closed, 0) AS closed, coalesce(d.closed_on_time, 0) AS closed_on_time,
        f.file_h, f.dispatch_h, f.handle_h, f.verify_h, f.close_h
    FROM flow f FULL JOIN cohort d ON d.key = f.key
)
SELECT g.key, coalesce(NAME, ''), g.reported, g.filed, g.rejected, g.dispatched, g.dispatched_on_time,
    g.due, g.handled, g.handled_on_time, g.reworked, g.closed, g.closed_on_time,
    g.file_h, g.dispatch_h, g.handle_h, g.verify_h, g.close_h, g.rated, g.satisfied
FROM groups g
ORDER BY g.key`

// evaluationNames: the name of a group's code (the current record, else the
// latest retired one).
var evaluationNames = map[grids.EvaluationBy]string{
	grids.ByGrid:       "NULL::text",
	grids.ByCommunity:  "(SELECT name FROM communities n WHERE n.code = g.key ORDER BY n.valid_to DESC NULLS FIRST LIMIT 1)",
	grids.ByStreet:     "(SELECT name FROM streets n WHERE n.code = g.key ORDER BY n.valid_to DESC NULLS FIRST LIMIT 1)",
	grids.ByDistrict:   "(SELECT name FROM districts n WHERE n.code = g.key ORDER BY n.valid_to DESC NULLS FIRST LIMIT 1)",
	grids.ByMgmt:       "(SELECT name FROM mgmt_grids n WHERE n.code = g.key ORDER BY n.valid_to DESC NULLS FIRST LIMIT 1)",
	grids.ByDepartment: "(SELECT name FROM departments n WHERE n.code = g.key ORDER BY n.valid_to DESC NULLS FIRST LIMIT 1)",
}

// areaDigits: how many leading digits of a grid code are the code of a
// district, street, community or grid.
var areaDigits = map[geo.Level]int{geo.District: 6, geo.Street: 9, geo.Community: 12, geo.Grid: 15}

// evaluationStatement is the statement for a grouping, filtered to the
// area whose codes have areaLen digits when areaLen > 0.
func evaluationStatement(by grids.EvaluationBy, areaLen int) (string, error) {
	var keyEv, keyDue, joinEv, mgmtDue string
	prefix := func(col string, n int) string {
		if n == 15 {
			return col
		}
		return fmt.Sprintf("left(%s, %d)", col, n)
	}
	switch by {
	case grids.ByGrid, grids.ByCommunity, grids.ByStreet, grids.ByDistrict:
		n := map[grids.EvaluationBy]int{grids.ByGrid: 15, grids.ByCommunity: 12, grids.ByStreet: 9, grids.ByDistrict: 6}[by]
		keyEv, keyDue = prefix("coalesce(mv.area_code, e.grid_code)", n), prefix("f.grid_code", n)
	case grids.ByMgmt:
		joinEv = "JOIN case_evaluation v ON v.case_id = e.case_id CROSS JOIN LATERAL unnest(v.mgmt_codes) AS m(code)"
		keyEv, keyDue, mgmtDue = "m.code", "md.code", "CROSS JOIN LATERAL unnest(f.mgmt_codes) AS md(code)"
	case grids.ByDepartment:
		joinEv = "JOIN case_evaluation v ON v.case_id = e.case_id"
		keyEv = "coalesce(e.department_code, v.routed_department, '')"
		keyDue = "coalesce(f.dep, '')"
	default:
		return "", grids.Invalid("by", "unknown grouping %q", by)
	}
	areaEv, areaDue := "", ""
	if areaLen > 0 {
		areaEv = "AND " + prefix("coalesce(mv.area_code, e.grid_code)", areaLen) + " = $3"
		areaDue = "AND " + prefix("f.grid_code", areaLen) + " = $3"
	}
	return strings.NewReplacer("KEY_EV", keyEv, "KEY_DUE", keyDue, "JOIN_EV", joinEv, "MGMT_DUE", mgmtDue,
		"AREA_EV", areaEv, "AREA_DUE", areaDue, "NAME", evaluationNames[by]).Replace(evaluationSQL), nil
}

// Evaluate implements grids.Evaluator.
// Periods of whole days by district, street, community, grid or department
// are read from the daily rollup (evaluation_rollup.go); the others run the
// single statement (EvaluateDirect).
func (s *Store) Evaluate(ctx context.Context, q grids.EvaluationQuery) ([]grids.EvaluationRow, error) {
	if !q.From.Before(q.To) {
		return nil, grids.Invalid("to", "the period must end after it starts (from %s, to %s)", q.From.Format("2006-01-02"), q.To.Format("2006-01-02"))
	}
	areaLen, err := areaLenOf(q.Area)
	if err != nil {
		return nil, err
	}
	if lvl, prefix, ok := rollupPlan(q, areaLen); ok {
		return s.evaluateRollup(ctx, q, lvl, prefix)
	}
	return s.EvaluateDirect(ctx, q)
}

// EvaluateDirect evaluates in the single statement over the log and the
// case summaries, without the rollup: what every query ran before the
// rollup, kept for the queries the rollup does not answer and to check
// it against.
func (s *Store) EvaluateDirect(ctx context.Context, q grids.EvaluationQuery) ([]grids.EvaluationRow, error) {
	if !q.From.Before(q.To) {
		return nil, grids.Invalid("to", "the period must end after it starts (from %s, to %s)", q.From.Format("2006-01-02"), q.To.Format("2006-01-02"))
	}
	args := []any{q.From, q.To}
	areaLen := 0
	if q.Area != "" {
		code, err := geo.ParseCode(string(q.Area))
		if err != nil {
			return nil, grids.Invalid("area", "%v", err)
		}
		var ok bool
		if areaLen, ok = areaDigits[code.Level()]; !ok {
			return nil, grids.Invalid("area", "%s: want a district, street, community or grid code", code)
		}
		args = append(args, code.String())
	}
	stmt, err := evaluationStatement(q.By, areaLen)
	if err != nil {
		return nil, err
	}
	// The planner overrates the statement (it cannot tell how few groups
	// there are), and JIT-compiling it took 0.75 s of a 1.2 s query over a
	// million cases; a month's steps sort in memory with 64 MB.
	var out []grids.EvaluationRow
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, stmt, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.EvaluationRow, error) {
			var e grids.EvaluationRow
			err := r.Scan(&e.Code, &e.Name, &e.Reported, &e.Filed, &e.Rejected, &e.Dispatched, &e.DispatchedOnTime,
				&e.Due, &e.Handled, &e.HandledOnTime, &e.Reworked, &e.Closed, &e.ClosedOnTime,
				&e.MedianFileH, &e.MedianDispatchH, &e.MedianHandleH, &e.MedianVerifyH, &e.MedianCloseH, &e.Rated, &e.Satisfied)
			e.Finish()
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", translateCtx(ctx, err))
	}
	if q.By == grids.ByGrid && len(out) > 0 {
		if err := s.filedUnder(ctx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// filedUnder fills, by grid, the codes other than its own that the cases
// counted under each grid were reported in (from the few cases that
// followed a lineage).
func (s *Store) filedUnder(ctx context.Context, rows []grids.EvaluationRow) error {
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = r.Code
	}
	res, err := s.pool.Query(ctx, `SELECT area_code, array_agg(DISTINCT grid_code ORDER BY grid_code)
		FROM case_evaluation WHERE moved AND area_code = ANY($1::text[]) GROUP BY 1`, codes)
	if err != nil {
		return fmt.Errorf("evaluation: %w", translateCtx(ctx, err))
	}
	from := map[string][]string{}
	var code string
	var under []string
	if _, err := pgx.ForEachRow(res, []any{&code, &under}, func() error { from[code] = under; return nil }); err != nil {
		return fmt.Errorf("evaluation: %w", translateCtx(ctx, err))
	}
	for i := range rows {
		rows[i].FiledUnder = from[rows[i].Code]
	}
	return nil
}

var _ grids.Evaluator = (*Store)(nil)
