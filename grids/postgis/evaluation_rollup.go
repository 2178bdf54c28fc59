package postgis

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// The evaluation's daily rollup (migration 0019): per China-time day and
// group, the steps taken (and how many late or, for ratings, satisfied),
// a histogram of the stage durations and the due cases with the day each
// cohort measure was reached, kept up by the trigger that keeps
// case_evaluation. A query whose period is whole days in China (from and
// to at midnight, as a bare date gives them) by district, street,
// community, grid (migration 0030) or department (the department within a
// district or anywhere) reads the rollup; any other (by management grid, a
// period starting or ending within a day) runs the single statement
// (EvaluateDirect). Both give the same counts. Medians from the rollup
// come from the histogram: durations are kept in buckets 1% wide
// ([1.01^(b-1), 1.01^b) seconds), and a bucket stands for its geometric
// middle, so a median is within 0.5% of the exact one (percentile_cont
// over the durations), or 1 second for medians under a second.

// MedianBound is how far a median read from the rollup may be from the
// exact one: relatively, and at least (seconds).
const (
	MedianRelBound = 0.005
	MedianAbsBound = 1.0
)

// chinaZone is where evaluation days start.
var chinaZone = time.FixedZone("CST", 8*3600)

// rollupLevel: the rollup's lvl of a grouping (0: departments).
var rollupLevel = map[grids.EvaluationBy]int{grids.ByDistrict: 6, grids.ByStreet: 9, grids.ByCommunity: 12, grids.ByGrid: 15, grids.ByDepartment: 0}

func midnight(t time.Time) bool {
	c := t.In(chinaZone)
	return c.Hour() == 0 && c.Minute() == 0 && c.Second() == 0 && c.Nanosecond() == 0
}

// rollupPlan says whether the rollup answers q: its level and the prefix
// its groups' grp must have ("" for any).
func rollupPlan(q grids.EvaluationQuery, areaLen int) (lvl int, prefix string, ok bool) {
	lvl, ok = rollupLevel[q.By]
	if !ok || !midnight(q.From) || !midnight(q.To) {
		return 0, "", false
	}
	switch {
	case areaLen == 0:
		return lvl, "", true
	case lvl == 0 && areaLen == 6:
		return 0, string(q.Area) + ":", true
	case lvl > 0 && areaLen <= lvl:
		return lvl, string(q.Area), true
	}
	return 0, "", false
}

// evaluateRollup answers q from the rollup (rollupPlan said it can).
func (s *Store) evaluateRollup(ctx context.Context, q grids.EvaluationQuery, lvl int, prefix string) ([]grids.EvaluationRow, error) {
	d1, d2 := q.From.In(chinaZone).Format("2006-01-02"), q.To.In(chinaZone).Format("2006-01-02")
	key := "grp"
	if lvl == 0 {
		key = "split_part(grp, ':', 2)"
	}
	where := "lvl = $1 AND day >= $2::date AND day < $3::date AND left(grp, length($4)) = $4"
	args := []any{lvl, d1, d2, prefix}
	rows := map[string]*grids.EvaluationRow{}
	get := func(k string) *grids.EvaluationRow {
		r := rows[k]
		if r == nil {
			r = &grids.EvaluationRow{Code: k}
			rows[k] = r
		}
		return r
	}
	present := map[string]bool{}
	hours := map[string]map[string]map[int]int64{} // key, stage, bucket: count
	// Cases still in their first handling are due by their current
	// deadline; the rollup counts a case's due only once it is handled.
	pendingKey := fmt.Sprintf("left(v.area_code, %d)", lvl)
	pendingArea := fmt.Sprintf("left(v.area_code, length($3)) = $3")
	if lvl == 0 {
		pendingKey = "coalesce(c.department_code, '')"
		pendingArea = "left(v.area_code, length(split_part($3, ':', 1))) = split_part($3, ':', 1)"
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL jit = off`)
		b.Queue(`SELECT `+key+`, step, sum(n)::bigint, sum(late)::bigint, sum(satisfied)::bigint
			FROM case_eval_flow WHERE `+where+` GROUP BY 1, 2`, args...).Query(func(r pgx.Rows) error {
			var k, step string
			var n, late, sat int64
			_, err := pgx.ForEachRow(r, []any{&k, &step, &n, &late, &sat}, func() error {
				if n == 0 {
					return nil
				}
				e := get(k)
				present[k] = true
				switch step {
				case "report":
					e.Reported += int(n)
				case "file":
					e.Filed += int(n)
				case "reject":
					e.Rejected += int(n)
				case "dispatch":
					e.Dispatched += int(n)
					e.DispatchedOnTime += int(n - late)
				case "rate":
					e.Rated += int(n)
					e.Satisfied += int(sat)
				}
				return nil
			})
			return err
		})
		b.Queue(`SELECT `+key+`, stage, buckets, counts FROM case_eval_hours WHERE `+where, args...).Query(func(r pgx.Rows) error {
			var k, stage string
			var buckets, counts []int32
			_, err := pgx.ForEachRow(r, []any{&k, &stage, &buckets, &counts}, func() error {
				if hours[k] == nil {
					hours[k] = map[string]map[int]int64{}
				}
				h := hours[k][stage]
				if h == nil {
					h = map[int]int64{}
					hours[k][stage] = h
				}
				for i, b := range buckets {
					h[int(b)] += int64(counts[i])
				}
				return nil
			})
			return err
		})
		b.Queue(`SELECT `+key+`, measure, sum(n)::bigint FROM case_eval_cohort WHERE `+where+` AND at_day < $3::date
			GROUP BY 1, 2`, args...).Query(func(r pgx.Rows) error {
			var k, m string
			var n int64
			_, err := pgx.ForEachRow(r, []any{&k, &m, &n}, func() error {
				if n == 0 {
					return nil
				}
				e := get(k)
				switch m {
				case "due":
					e.Due += int(n)
					present[k] = true
				case "handled":
					e.Handled += int(n)
				case "handled_on_time":
					e.HandledOnTime += int(n)
				case "reworked":
					e.Reworked += int(n)
				case "closed":
					e.Closed += int(n)
				case "closed_on_time":
					e.ClosedOnTime += int(n)
				}
				return nil
			})
			return err
		})
		b.Queue(`SELECT `+pendingKey+`, count(*) FROM cases c JOIN case_evaluation v ON v.case_id = c.id
			WHERE c.state = 'dispatched' AND c.deadline >= $1 AND c.deadline < $2 AND v.first_handle_at IS NULL
				AND `+pendingArea+` GROUP BY 1`, q.From, q.To, prefix).Query(func(r pgx.Rows) error {
			var k string
			var n int64
			_, err := pgx.ForEachRow(r, []any{&k, &n}, func() error {
				get(k).Due += int(n)
				present[k] = true
				return nil
			})
			return err
		})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", translateCtx(ctx, err))
	}
	var out []grids.EvaluationRow
	var codes []string
	for k := range present {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for _, k := range codes {
		r := rows[k]
		for stage, h := range hours[k] {
			m := histMedian(h)
			if m == nil {
				continue
			}
			switch stage {
			case "file":
				r.MedianFileH = m
			case "dispatch":
				r.MedianDispatchH = m
			case "handle":
				r.MedianHandleH = m
			case "verify":
				r.MedianVerifyH = m
			case "close":
				r.MedianCloseH = m
			}
		}
		r.Finish()
		out = append(out, *r)
	}
	if err := s.evaluationNamesOf(ctx, q.By, out); err != nil {
		return nil, err
	}
	if q.By == grids.ByGrid && len(out) > 0 {
		if err := s.filedUnder(ctx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// histMedian is the median, in hours, of a histogram of durations in
// seconds (migration 0019's buckets), as percentile_cont(0.5) takes it:
// the middle value, or the mean of the two middle values, each standing
// for its bucket's geometric middle.
func histMedian(h map[int]int64) *float64 {
	var total int64
	buckets := make([]int, 0, len(h))
	for b, n := range h {
		total += n
		buckets = append(buckets, b)
	}
	if total <= 0 {
		return nil
	}
	sort.Ints(buckets)
	// The values at 0-based ranks lo and hi (equal when total is odd).
	lo, hi := (total-1)/2, total/2
	at := func(rank int64) float64 {
		var seen int64
		for _, b := range buckets {
			seen += h[b]
			if rank < seen {
				return bucketSeconds(b)
			}
		}
		return bucketSeconds(buckets[len(buckets)-1])
	}
	m := (at(lo) + at(hi)) / 2 / 3600
	return &m
}

// bucketSeconds is the duration a histogram bucket stands for: 0 for
// bucket 0 (under a second either way), else the geometric middle of
// [1.01^(|b|-1), 1.01^|b|) with b's sign.
func bucketSeconds(b int) float64 {
	if b == 0 {
		return 0
	}
	v := math.Pow(1.01, math.Abs(float64(b))-0.5)
	if b < 0 {
		return -v
	}
	return v
}

// evaluationNamesOf fills the rows' names as the statement does.
func (s *Store) evaluationNamesOf(ctx context.Context, by grids.EvaluationBy, rows []grids.EvaluationRow) error {
	if len(rows) == 0 || by == grids.ByGrid {
		return nil
	}
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = r.Code
	}
	res, err := s.pool.Query(ctx, `SELECT g.key, coalesce(`+evaluationNames[by]+`, '') FROM unnest($1::text[]) g(key)`, codes)
	if err != nil {
		return fmt.Errorf("evaluation names: %w", translateCtx(ctx, err))
	}
	names := map[string]string{}
	var k, n string
	if _, err := pgx.ForEachRow(res, []any{&k, &n}, func() error { names[k] = n; return nil }); err != nil {
		return fmt.Errorf("evaluation names: %w", translateCtx(ctx, err))
	}
	for i := range rows {
		rows[i].Name = names[rows[i].Code]
	}
	return nil
}

// RebuildEvaluation rebuilds the rollup from the log and the case
// summaries (gridd_evaluation_rebuild), for data loaded around the
// triggers.
func (s *Store) RebuildEvaluation(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `SELECT gridd_evaluation_rebuild()`)
	if err != nil {
		return fmt.Errorf("rebuild evaluation: %w", translateCtx(ctx, err))
	}
	return nil
}

// areaLenOf: the digits of an area code's level (0 for none).
func areaLenOf(area geo.Code) (int, error) {
	if area == "" {
		return 0, nil
	}
	code, err := geo.ParseCode(string(area))
	if err != nil {
		return 0, grids.Invalid("area", "%v", err)
	}
	n, ok := areaDigits[code.Level()]
	if !ok {
		return 0, grids.Invalid("area", "%s: want a district, street, community or grid code", code)
	}
	return n, nil
}
