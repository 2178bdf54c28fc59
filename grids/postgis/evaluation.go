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
//	satisfaction    reporters' satisfaction: not collected yet, always null.
//
// Groups. Areas are the codes stored on the case when it was reported
// (they never change: a case filed under a grid later retired counts under
// that grid's code; lineage is not followed). A case in several management
// grids counts in each. By department, a step counts for the department
// the case was with when it was taken (case_events.department_code) or,
// before any dispatch, the department routing chose; a due case counts
// for the department of its first handling (the department on its first
// handle step, or the one it is with while still in its first handling).
// Steps and cases of no department form the group with code "".
//
// Area, when set, keeps the cases whose district, street, community or grid
// (by the code's level) is that code.

// evaluationSQL: $1 from, $2 to, $3 the area code (when filtered). KEY_EV
// and KEY_DUE are the group of a step (e, c) and of a due case (f, c);
// MGMT joins the management grids of c; AREA filters c.
const evaluationSQL = `
WITH ev AS (
    SELECT KEY_EV AS key, e.step, e.at, e.deadline, extract(epoch FROM e.at - e.stage_started) / 3600 AS hours
    FROM case_events e JOIN cases c ON c.id = e.case_id MGMT
    WHERE e.at >= $1 AND e.at < $2
        AND e.step IN ('report', 'file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close') AREA
),
flow AS (
    SELECT key,
        count(*) FILTER (WHERE step = 'report') AS reported,
        count(*) FILTER (WHERE step = 'file') AS filed,
        count(*) FILTER (WHERE step = 'reject') AS rejected,
        count(*) FILTER (WHERE step = 'dispatch') AS dispatched,
        count(*) FILTER (WHERE step = 'dispatch' AND NOT coalesce(at > deadline, false)) AS dispatched_on_time,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step IN ('file', 'reject')) AS file_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step = 'dispatch') AS dispatch_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step = 'handle') AS handle_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step IN ('verify', 'rework')) AS verify_h,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE step = 'close') AS close_h
    FROM ev GROUP BY key
),
first_handling AS (
    SELECT h.case_id, h.deadline AS due_at, h.at AS handled_at, h.department_code AS dep
    FROM case_events h
    WHERE h.step = 'handle' AND h.deadline >= $1 AND h.deadline < $2
        AND NOT EXISTS (SELECT 1 FROM case_events p WHERE p.case_id = h.case_id AND p.step = 'handle' AND p.id < h.id)
    UNION ALL
    SELECT c.id, c.deadline, NULL, c.department_code
    FROM cases c
    WHERE c.state = 'dispatched' AND c.deadline >= $1 AND c.deadline < $2
        AND NOT EXISTS (SELECT 1 FROM case_events p WHERE p.case_id = c.id AND p.step = 'handle')
),
due AS (
    SELECT KEY_DUE AS key, coalesce(f.handled_at <= f.due_at, false) AS handled_on_time,
        o.handled, o.reworked, o.closed, o.closed AND NOT o.late AS closed_on_time
    FROM first_handling f JOIN cases c ON c.id = f.case_id MGMT
    CROSS JOIN LATERAL (
        SELECT coalesce(bool_or(e.step = 'handle'), false) AS handled,
            coalesce(bool_or(e.step = 'rework'), false) AS reworked,
            coalesce(bool_or(e.step = 'close'), false) AS closed,
            coalesce(bool_or(e.at > e.deadline) FILTER (WHERE e.step IN
                ('file', 'reject', 'dispatch', 'handle', 'verify', 'rework', 'close', 'return')), false) AS late
        FROM case_events e WHERE e.case_id = f.case_id AND e.at < $2
    ) o
    WHERE true AREA
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
        coalesce(d.due, 0) AS due, coalesce(d.handled, 0) AS handled, coalesce(d.handled_on_time, 0) AS handled_on_time,
        coalesce(d.reworked, 0) AS reworked, coalesce(d.closed, 0) AS closed, coalesce(d.closed_on_time, 0) AS closed_on_time,
        f.file_h, f.dispatch_h, f.handle_h, f.verify_h, f.close_h
    FROM flow f FULL JOIN cohort d ON d.key = f.key
)
SELECT g.key, coalesce(NAME, ''), g.reported, g.filed, g.rejected, g.dispatched, g.dispatched_on_time,
    g.due, g.handled, g.handled_on_time, g.reworked, g.closed, g.closed_on_time,
    g.file_h, g.dispatch_h, g.handle_h, g.verify_h, g.close_h
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

var areaColumns = map[geo.Level]string{geo.District: "district_code", geo.Street: "street_code", geo.Community: "community_code", geo.Grid: "grid_code"}

// evaluationStatement is the statement for a grouping and whether it
// filters by area.
func evaluationStatement(by grids.EvaluationBy, areaCol string) (string, error) {
	var keyEv, keyDue, mgmt string
	switch by {
	case grids.ByGrid, grids.ByCommunity, grids.ByStreet, grids.ByDistrict:
		keyEv = "c." + string(by) + "_code"
		keyDue = keyEv
	case grids.ByMgmt:
		keyEv, keyDue, mgmt = "m.code", "m.code", "CROSS JOIN LATERAL unnest(c.mgmt_codes) AS m(code)"
	case grids.ByDepartment:
		keyEv = "coalesce(e.department_code, c.routed_department, '')"
		keyDue = "coalesce(f.dep, '')"
	default:
		return "", grids.Invalid("by", "unknown grouping %q", by)
	}
	area := ""
	if areaCol != "" {
		area = "AND c." + areaCol + " = $3"
	}
	return strings.NewReplacer("KEY_EV", keyEv, "KEY_DUE", keyDue, "MGMT", mgmt, "AREA", area,
		"NAME", evaluationNames[by]).Replace(evaluationSQL), nil
}

// Evaluate implements grids.Evaluator.
func (s *Store) Evaluate(ctx context.Context, q grids.EvaluationQuery) ([]grids.EvaluationRow, error) {
	if !q.From.Before(q.To) {
		return nil, grids.Invalid("to", "the period must end after it starts (from %s, to %s)", q.From.Format("2006-01-02"), q.To.Format("2006-01-02"))
	}
	args := []any{q.From, q.To}
	col := ""
	if q.Area != "" {
		code, err := geo.ParseCode(string(q.Area))
		if err != nil {
			return nil, grids.Invalid("area", "%v", err)
		}
		var ok bool
		if col, ok = areaColumns[code.Level()]; !ok {
			return nil, grids.Invalid("area", "%s: want a district, street, community or grid code", code)
		}
		args = append(args, code.String())
	}
	stmt, err := evaluationStatement(q.By, col)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.EvaluationRow, error) {
		var e grids.EvaluationRow
		err := r.Scan(&e.Code, &e.Name, &e.Reported, &e.Filed, &e.Rejected, &e.Dispatched, &e.DispatchedOnTime,
			&e.Due, &e.Handled, &e.HandledOnTime, &e.Reworked, &e.Closed, &e.ClosedOnTime,
			&e.MedianFileH, &e.MedianDispatchH, &e.MedianHandleH, &e.MedianVerifyH, &e.MedianCloseH)
		e.Finish()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", translateCtx(ctx, err))
	}
	return out, nil
}

var _ grids.Evaluator = (*Store)(nil)
