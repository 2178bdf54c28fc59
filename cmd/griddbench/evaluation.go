package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
	"gridd/grids/postgis"
)

// The evaluation section: the evaluation of the record (综合评价,
// Store.Evaluate) over a year of about a million synthetic cases of the
// bench district with their event logs, loaded by bulk SQL (not through
// the API): the district over a month, over the year, and the month by
// grid, community and department, against PostGIS doing the same work in
// the single statement over case_events and case_evaluation that gridd ran
// before its rollup (Store.EvaluateDirect).
//
// GRIDDBENCH_EVAL_URL, when set, names a database to use instead of a
// scratch one: it is migrated and loaded once and kept, so that work on
// the evaluation can be measured again without loading the million again.

func init() {
	sections["evaluation"] = section{order: 65, run: benchEvaluation}
}

// The bench year (China time) and its cases.
var (
	evalYearFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	evalYearTo   = evalYearFrom.AddDate(1, 0, 0)
)

// evalLoadSQL loads $1 cases reported over the bench year, each taken round
// the loop with the times and deadlines a busy district's cases have: file
// and dispatch in about half an hour against a 1 h limit, handling in about
// 12 h against 24 h, the check and closing within an hour; 5% rejected, 8%
// reworked once; the cases reported in the year's last two days still on
// their way. Deadlines, stage starts and grid codes are written with the
// events (what the triggers of migration 0018 would record), the triggers
// that keep the evaluation's tables are off during the load and those
// tables are rebuilt from the log after it (gridd_evaluation_rebuild).
var evalLoadSQL = []string{
	`DROP TABLE IF EXISTS bench_eval_grids, bench_eval_cases`,
	`CREATE UNLOGGED TABLE bench_eval_grids AS
		SELECT (row_number() OVER (ORDER BY code))::int AS i, code, version, community_code, street_code, district_code,
			ST_PointOnSurface(geom) AS pt
		FROM unit_grids WHERE valid_to IS NULL`,
	`INSERT INTO departments (code, name)
		SELECT '1211010100001' || lpad(i::text, 4, '0') || 'X', '评价部门' || i FROM generate_series(1, 12) i`,
	// One row per case: when it was reported, where, to whom, its fate and
	// how long each stage took (hours, exponential).
	`CREATE UNLOGGED TABLE bench_eval_cases AS
		SELECT n, $2::timestamptz + (random() * 365 * 24) * interval '1 hour' AS t0,
			1 + floor(random() * (SELECT count(*) FROM bench_eval_grids))::int AS gi,
			'1211010100001' || lpad((1 + floor(random() * 12))::int::text, 4, '0') || 'X' AS dep,
			random() < 0.05 AS rejected, random() < 0.08 AS reworked, random() < 0.02 AS urgent,
			-0.45 * ln(1 - random()) AS d_file, -0.4 * ln(1 - random()) AS d_dispatch,
			-11 * ln(1 - random()) AS d_handle, -0.25 * ln(1 - random()) AS d_verify,
			-6 * ln(1 - random()) AS d_rehandle, -0.25 * ln(1 - random()) AS d_verify2,
			-0.4 * ln(1 - random()) AS d_close
		FROM generate_series(1, $1::int) n`,
	`INSERT INTO reports (id, at, actor, input_crs, input_lon, input_lat, geom, scheme, kind, class, grid_code, grid_version,
			community_code, street_code, district_code, snapped, distance_m, map_version, department_code, decided_by, reason, result)
		SELECT b.n, b.t0, 'bench', 'wgs84', ST_X(g.pt), ST_Y(g.pt), g.pt, 'gb2026', 'matter', '06010', g.code, g.version,
			g.community_code, g.street_code, g.district_code, false, 0, 1, b.dep, 'territorial', 'bench', '{}'
		FROM bench_eval_cases b JOIN bench_eval_grids g ON g.i = b.gi`,
	`SELECT setval('reports_id_seq', (SELECT max(id) FROM reports))`,
	// The steps of each case, in order, with the deadline of the stage each
	// ended (limits: file 1 h, dispatch 1 h, handle 24 h, verify 0.5 h,
	// close 1 h) and when that stage started.
	`CREATE UNLOGGED TABLE bench_eval_steps AS
		SELECT b.n, s.ord, s.step, s.f, s.t, s.at, s.deadline, s.started, s.dep, g.code AS grid_code
		FROM bench_eval_cases b JOIN bench_eval_grids g ON g.i = b.gi
		CROSS JOIN LATERAL (SELECT b.t0 AS r, b.t0 + b.d_file * interval '1 hour' AS fi) t1
		CROSS JOIN LATERAL (SELECT t1.fi + b.d_dispatch * interval '1 hour' AS di) t2
		CROSS JOIN LATERAL (SELECT t2.di + b.d_handle * interval '1 hour' AS h1) t3
		CROSS JOIN LATERAL (SELECT t3.h1 + b.d_verify * interval '1 hour' AS v1) t4
		CROSS JOIN LATERAL (SELECT t4.v1 + b.d_rehandle * interval '1 hour' AS h2) t5
		CROSS JOIN LATERAL (SELECT CASE WHEN b.reworked THEN t5.h2 + b.d_verify2 * interval '1 hour' ELSE t4.v1 END AS v2) t6
		CROSS JOIN LATERAL (SELECT t6.v2 + b.d_close * interval '1 hour' AS cl) t7
		CROSS JOIN LATERAL (VALUES
			(1, 'report', NULL, 'reported', t1.r, NULL::timestamptz, NULL::timestamptz, b.dep, true),
			(2, 'reject', 'reported', 'rejected', t1.fi, t1.r + interval '1 hour', t1.r, NULL, b.rejected),
			(3, 'file', 'reported', 'filed', t1.fi, t1.r + interval '1 hour', t1.r, NULL, NOT b.rejected),
			(4, 'dispatch', 'filed', 'dispatched', t2.di, t1.fi + interval '1 hour', t1.fi, b.dep, NOT b.rejected),
			(5, 'handle', 'dispatched', 'handled', t3.h1, t2.di + interval '24 hours', t2.di, b.dep, NOT b.rejected),
			(6, 'rework', 'handled', 'dispatched', t4.v1, t3.h1 + interval '30 minutes', t3.h1, b.dep, NOT b.rejected AND b.reworked),
			(7, 'handle', 'dispatched', 'handled', t5.h2, t4.v1 + interval '24 hours', t4.v1, b.dep, NOT b.rejected AND b.reworked),
			(8, 'verify', 'handled', 'verified', t6.v2, CASE WHEN b.reworked THEN t5.h2 ELSE t3.h1 END + interval '30 minutes',
				CASE WHEN b.reworked THEN t5.h2 ELSE t3.h1 END, b.dep, NOT b.rejected),
			(9, 'close', 'verified', 'closed', t7.cl, t6.v2 + interval '1 hour', t6.v2, b.dep, NOT b.rejected)
		) s(ord, step, f, t, at, deadline, started, dep, taken)
		WHERE s.taken AND s.at < $1`,
	// The cases as their last step left them.
	`INSERT INTO cases (id, state, version, created, updated, report_id, reporter, scheme, kind, class, urgency, geom,
			grid_code, community_code, street_code, district_code, routed_department, department_code, reject_kind, reworks,
			time_limit, deadline)
		SELECT b.n, l.t, l.cnt, b.t0, l.at, b.n, 'bench', 'gb2026', 'matter', '06010',
			CASE WHEN b.urgent THEN 'urgent' ELSE 'normal' END, g.pt, g.code, g.community_code, g.street_code, g.district_code,
			b.dep, CASE WHEN l.t IN ('reported', 'filed', 'rejected') THEN NULL ELSE b.dep END,
			CASE WHEN l.t = 'rejected' THEN 'out_of_scope' END, CASE WHEN l.ord >= 6 AND b.reworked THEN 1 ELSE 0 END,
			CASE l.t WHEN 'reported' THEN '1wh' WHEN 'filed' THEN '1wh' WHEN 'dispatched' THEN '1wd' WHEN 'handled' THEN '0.5wh'
				WHEN 'verified' THEN '1wh' END,
			CASE l.t WHEN 'reported' THEN l.at + interval '1 hour' WHEN 'filed' THEN l.at + interval '1 hour'
				WHEN 'dispatched' THEN l.at + interval '24 hours' WHEN 'handled' THEN l.at + interval '30 minutes'
				WHEN 'verified' THEN l.at + interval '1 hour' END
		FROM bench_eval_cases b JOIN bench_eval_grids g ON g.i = b.gi
		JOIN (SELECT DISTINCT ON (n) n, t, at, ord, count(*) OVER (PARTITION BY n) AS cnt
			FROM bench_eval_steps ORDER BY n, ord DESC) l ON l.n = b.n`,
	`SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))`,
	`INSERT INTO case_reports (case_id, report_id) SELECT id, id FROM cases`,
	`ALTER TABLE case_events DISABLE TRIGGER USER`,
	`INSERT INTO case_events (case_id, at, actor, role, step, from_state, to_state, department_code, deadline, stage_started, grid_code)
		SELECT n, at, 'bench', CASE step WHEN 'report' THEN 'reporter' WHEN 'handle' THEN 'department'
				WHEN 'verify' THEN 'supervisor' WHEN 'rework' THEN 'supervisor' ELSE 'dispatcher' END,
			step, f, t, dep, deadline, started, grid_code
		FROM bench_eval_steps ORDER BY n, ord`,
	`ALTER TABLE case_events ENABLE TRIGGER USER`,
	// Each case's summary, as the trigger of migration 0018 keeps it.
	`INSERT INTO case_evaluation (case_id, grid_code, area_code, area_version, mgmt_codes, routed_department, first_handle_at,
			first_handle_deadline, first_handle_department, first_rework_at, closed_at, first_late_at)
		SELECT c.id, c.grid_code, c.grid_code, 1, c.mgmt_codes, c.routed_department,
			min(s.at) FILTER (WHERE s.step = 'handle'), min(s.deadline) FILTER (WHERE s.step = 'handle' AND s.ord = 5),
			min(s.dep) FILTER (WHERE s.step = 'handle' AND s.ord = 5), min(s.at) FILTER (WHERE s.step = 'rework'),
			min(s.at) FILTER (WHERE s.step = 'close'), min(s.at) FILTER (WHERE s.step <> 'report' AND s.at > s.deadline)
		FROM cases c JOIN bench_eval_steps s ON s.n = c.id
		GROUP BY c.id`,
	`DROP TABLE bench_eval_steps`,
}

func benchEvaluation(ctx context.Context, b *bench) error {
	pool := b.pool
	if u := os.Getenv("GRIDDBENCH_EVAL_URL"); u != "" {
		p, err := pgxpool.New(ctx, u)
		if err != nil {
			return err
		}
		defer p.Close()
		if _, err := postgis.Migrate(ctx, p); err != nil {
			return err
		}
		pool = p
		fmt.Fprintf(os.Stderr, "  using the kept database of GRIDDBENCH_EVAL_URL\n")
	}
	st := postgis.NewStore(pool)
	n := 1_000_000
	if b.quick {
		n = 100_000
	}
	var have int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&have); err != nil {
		return err
	}
	if have == 0 {
		if err := benchDistrict(ctx, &bench{pool: pool}, st); err != nil {
			return err
		}
		took, err := timeIt(func() error {
			for _, q := range evalLoadSQL {
				var args []any
				switch {
				case containsArg(q, "$2"):
					args = []any{n, evalYearFrom}
				case containsArg(q, "$1"):
					args = []any{evalYearTo}
				}
				if _, err := pool.Exec(ctx, q, args...); err != nil {
					return fmt.Errorf("load: %w\n%s", err, q)
				}
			}
			if err := st.RebuildEvaluation(ctx); err != nil {
				return err
			}
			_, err := pool.Exec(ctx, `VACUUM ANALYZE`)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "  %d cases loaded with their logs in %.1f s\n", n, took.Seconds())
	}
	var cases, events int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events)`).Scan(&cases, &events); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d cases, %d events\n", cases, events)
	month := grids.EvaluationQuery{By: grids.ByDistrict, From: evalYearFrom.AddDate(0, 5, 0), To: evalYearFrom.AddDate(0, 6, 0), Area: "110101"}
	year := grids.EvaluationQuery{By: grids.ByDistrict, From: evalYearFrom, To: evalYearTo, Area: "110101"}
	for _, c := range []struct {
		work   string
		q      grids.EvaluationQuery
		target string
	}{
		{"evaluation of the district over a month (June), 1M cases", month, "≤ 200 ms"},
		{"evaluation of the district over the year, 1M cases", year, ""},
		{"evaluation of the month by grid", with(month, grids.ByGrid), ""},
		{"evaluation of the month by community", with(month, grids.ByCommunity), ""},
		{"evaluation of the month by department", with(month, grids.ByDepartment), ""},
	} {
		var rowsG, rowsP []grids.EvaluationRow
		gs, err := repeat(b.runs, func() (float64, error) {
			d, err := timeIt(func() (err error) { rowsG, err = st.Evaluate(ctx, c.q); return })
			return float64(d.Microseconds()) / 1e3, err
		})
		if err != nil {
			return err
		}
		ps, err := repeat(b.runs, func() (float64, error) {
			d, err := timeIt(func() (err error) { rowsP, err = st.EvaluateDirect(ctx, c.q); return })
			return float64(d.Microseconds()) / 1e3, err
		})
		if err != nil {
			return err
		}
		// Both ways must agree: the same groups and counts, the medians
		// within the rollup's bound.
		if err := sameEvaluation(rowsG, rowsP); err != nil {
			return fmt.Errorf("%s: %w", c.work, err)
		}
		fmt.Fprintf(os.Stderr, "  %s: %d rows, the same as the single statement's\n", c.work, len(rowsG))
		b.addStats(c.work, "ms", gs, &ps, "the single statement over case_events and case_evaluation", fmtMS, c.target)
	}
	return nil
}

// sameEvaluation checks two evaluations for the same groups and counts,
// and medians within postgis.MedianRelBound or MedianAbsBound.
func sameEvaluation(got, want []grids.EvaluationRow) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d groups, the single statement %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		type counts struct{ a, b, c, d, e, f, g, h, i, j, k, l, m int }
		cg := counts{g.Reported, g.Filed, g.Rejected, g.Dispatched, g.DispatchedOnTime, g.Due, g.Handled, g.HandledOnTime, g.Reworked, g.Closed, g.ClosedOnTime, g.Rated, g.Satisfied}
		cw := counts{w.Reported, w.Filed, w.Rejected, w.Dispatched, w.DispatchedOnTime, w.Due, w.Handled, w.HandledOnTime, w.Reworked, w.Closed, w.ClosedOnTime, w.Rated, w.Satisfied}
		if g.Code != w.Code || g.Name != w.Name || cg != cw {
			return fmt.Errorf("group %s %s %+v, the single statement %s %s %+v", g.Code, g.Name, cg, w.Code, w.Name, cw)
		}
		for _, m := range [][2]*float64{{g.MedianFileH, w.MedianFileH}, {g.MedianDispatchH, w.MedianDispatchH},
			{g.MedianHandleH, w.MedianHandleH}, {g.MedianVerifyH, w.MedianVerifyH}, {g.MedianCloseH, w.MedianCloseH}} {
			if (m[0] == nil) != (m[1] == nil) {
				return fmt.Errorf("group %s: median %v, the single statement %v", g.Code, m[0], m[1])
			}
			if m[0] != nil && math.Abs(*m[0]-*m[1]) > math.Max(postgis.MedianRelBound*math.Abs(*m[1]), postgis.MedianAbsBound/3600) {
				return fmt.Errorf("group %s: median %g h, the single statement %g h", g.Code, *m[0], *m[1])
			}
		}
	}
	return nil
}

func with(q grids.EvaluationQuery, by grids.EvaluationBy) grids.EvaluationQuery {
	q.By = by
	return q
}

func containsArg(q, arg string) bool {
	for i := 0; i+len(arg) <= len(q); i++ {
		if q[i:i+len(arg)] == arg {
			return true
		}
	}
	return false
}
