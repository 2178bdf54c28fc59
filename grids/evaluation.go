package grids

import (
	"context"
	"strings"
	"time"

	"gridd/geo"
)

// Evaluation (综合评价, step 8 of the loop in docs/domain.md): how the loop
// went in an area, a management grid or a department over a period. The
// measures and their exact definitions are in grids/postgis/evaluation.go;
// EvaluationRow's fields name them.

// EvaluationBy is what evaluation rows are grouped by.
type EvaluationBy string

// The groupings.
const (
	ByGrid       EvaluationBy = "grid"
	ByCommunity  EvaluationBy = "community"
	ByStreet     EvaluationBy = "street"
	ByDistrict   EvaluationBy = "district"
	ByMgmt       EvaluationBy = "mgmt"
	ByDepartment EvaluationBy = "department"
)

// EvaluationGroupings lists every grouping.
var EvaluationGroupings = []EvaluationBy{ByGrid, ByCommunity, ByStreet, ByDistrict, ByMgmt, ByDepartment}

// ParseEvaluationBy reads a grouping name.
func ParseEvaluationBy(s string) (EvaluationBy, error) {
	var names []string
	for _, b := range EvaluationGroupings {
		if string(b) == s {
			return b, nil
		}
		names = append(names, string(b))
	}
	return "", Invalid("by", "unknown grouping %q; want one of %s", s, strings.Join(names, ", "))
}

// EvaluationQuery asks for the evaluation of the period [From, To), grouped
// By, optionally only of the cases in Area (a district, street, community
// or grid code).
type EvaluationQuery struct {
	By       EvaluationBy
	From, To time.Time
	Area     geo.Code
}

// EvaluationRow is one group's measures. Counts are cases or steps as
// documented; rates are fractions in [0, 1], nil when their denominator is
// 0; medians are wall-clock hours, nil when no stage of that kind ended in
// the period.
type EvaluationRow struct {
	Code string `json:"code"` // "" for steps of no department (by department)
	Name string `json:"name,omitempty"`
	// FiledUnder (by grid): the other grid codes that cases counted here
	// were reported in: grids split, merged or rebuilt since, whose cases
	// follow their lineage to this grid.
	FiledUnder []string `json:"filed_under,omitempty"`

	Reported           int      `json:"reported"`
	Filed              int      `json:"filed"`
	Rejected           int      `json:"rejected"`
	Dispatched         int      `json:"dispatched"`
	DispatchedOnTime   int      `json:"dispatched_on_time"`
	Due                int      `json:"due"`
	Handled            int      `json:"handled"`
	HandledOnTime      int      `json:"handled_on_time"`
	Reworked           int      `json:"reworked"`
	Closed             int      `json:"closed"`
	ClosedOnTime       int      `json:"closed_on_time"`
	DispatchOnTimeRate *float64 `json:"dispatch_on_time_rate"`
	HandleOnTimeRate   *float64 `json:"handle_on_time_rate"`
	ReworkRate         *float64 `json:"rework_rate"`
	CloseRate          *float64 `json:"close_rate"`
	OnTimeCloseRate    *float64 `json:"on_time_close_rate"`

	MedianFileH     *float64 `json:"median_file_h"`
	MedianDispatchH *float64 `json:"median_dispatch_h"`
	MedianHandleH   *float64 `json:"median_handle_h"`
	MedianVerifyH   *float64 `json:"median_verify_h"`
	MedianCloseH    *float64 `json:"median_close_h"`

	// Rated: ratings given in the period (满意度回访); Satisfied: those
	// satisfied or basically satisfied. Satisfaction = Satisfied / Rated,
	// nil when none was given.
	Rated        int      `json:"rated"`
	Satisfied    int      `json:"satisfied"`
	Satisfaction *float64 `json:"satisfaction"`
	Score        *float64 `json:"score"`
	Grade        string   `json:"grade,omitempty"`
}

// Rate is n/d, nil when d is 0.
func Rate(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// Grade is the letter of a score out of 100 (docs/domain.md): A ≥ 90,
// B ≥ 75, C ≥ 60, D ≥ 40, E below.
func Grade(score float64) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 75:
		return "B"
	case score >= 60:
		return "C"
	case score >= 40:
		return "D"
	}
	return "E"
}

// Finish fills a row's rates, score and grade from its counts. The score
// is the on-time close rate × 100 (按期结案率), rounded to 0.1; a group with
// no case due has no score and no grade.
func (r *EvaluationRow) Finish() {
	r.DispatchOnTimeRate = Rate(r.DispatchedOnTime, r.Dispatched)
	r.HandleOnTimeRate = Rate(r.HandledOnTime, r.Due)
	r.ReworkRate = Rate(r.Reworked, r.Handled)
	r.CloseRate = Rate(r.Closed, r.Due)
	r.OnTimeCloseRate = Rate(r.ClosedOnTime, r.Due)
	r.Satisfaction = Rate(r.Satisfied, r.Rated)
	r.Score, r.Grade = nil, ""
	if r.OnTimeCloseRate != nil {
		s := float64(int64(*r.OnTimeCloseRate*1000+0.5)) / 10
		r.Score, r.Grade = &s, Grade(s)
	}
}

// Evaluator evaluates the record of cases.
type Evaluator interface {
	Evaluate(ctx context.Context, q EvaluationQuery) ([]EvaluationRow, error)
}
