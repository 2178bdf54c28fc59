package api

import (
	"bytes"
	"encoding/csv"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/geo"
	"gridd/grids"
)

// Evaluation (综合评价): GET /v1/evaluation?by=community&from=2025-01-01
// &to=2026-01-01[&area=CODE] answers the loop's measures per group over the
// period [from, to) (grids/postgis/evaluation.go defines each), as JSON or,
// with Accept: text/csv or format=csv, as CSV for Excel (UTF-8 with a byte
// order mark; header=zh names the columns in Chinese).
func (s *Server) mountEvaluation(r chi.Router) {
	r.Method(http.MethodGet, "/v1/evaluation", s.handle(s.getEvaluation))
}

// evaluationZone is where a bare date starts: midnight in China.
var evaluationZone = time.FixedZone("CST", 8*3600)

// ParseEvaluationTime reads a date (2025-01-01, midnight China time) or an
// RFC 3339 time.
func ParseEvaluationTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, grids.Invalid(name, "is required: a date (2025-01-01) or an RFC 3339 time")
	}
	if t, err := time.ParseInLocation("2006-01-02", v, evaluationZone); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, grids.Invalid(name, "%q is not a date (2025-01-01) or an RFC 3339 time", v)
}

// evaluationQuery reads the query parameters.
func evaluationQuery(r *http.Request) (grids.EvaluationQuery, error) {
	q := r.URL.Query()
	var eq grids.EvaluationQuery
	var err error
	by := q.Get("by")
	if by == "" {
		return eq, grids.Invalid("by", "is required: one of grid, community, street, district, mgmt, department")
	}
	if eq.By, err = grids.ParseEvaluationBy(by); err != nil {
		return eq, err
	}
	if eq.From, err = ParseEvaluationTime("from", q.Get("from")); err != nil {
		return eq, err
	}
	if eq.To, err = ParseEvaluationTime("to", q.Get("to")); err != nil {
		return eq, err
	}
	if !eq.From.Before(eq.To) {
		return eq, grids.Invalid("to", "%s is not after from (%s): the period is [from, to)", q.Get("to"), q.Get("from"))
	}
	if v := q.Get("area"); v != "" {
		c, err := geo.ParseCode(v)
		if err != nil {
			return eq, grids.Invalid("area", "%v", err)
		}
		eq.Area = c
	}
	return eq, nil
}

// wantsCSV: format=csv, or an Accept that prefers text/csv to JSON.
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, grids.Invalid("format", "%q: want json or csv", f)
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true, nil
		case "application/json", "*/*":
			return false, nil
		}
	}
	return false, nil
}

func (s *Server) getEvaluation(w http.ResponseWriter, r *http.Request) error {
	eq, err := evaluationQuery(r)
	if err != nil {
		return err
	}
	asCSV, err := wantsCSV(r)
	if err != nil {
		return err
	}
	zh := false
	switch h := r.URL.Query().Get("header"); h {
	case "", "en":
	case "zh":
		zh = true
	default:
		return grids.Invalid("header", "%q: want en or zh", h)
	}
	rows, err := s.cfg.Evaluation.Evaluate(r.Context(), eq)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []grids.EvaluationRow{}
	}
	w.Header().Add("Vary", "Accept")
	if !asCSV {
		return writeJSON(w, http.StatusOK, map[string]any{
			"by": eq.By, "from": eq.From, "to": eq.To, "area": eq.Area, "rows": rows})
	}
	b := EvaluationCSV(rows, zh)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="evaluation-`+string(eq.By)+`-`+
		eq.From.In(evaluationZone).Format("20060102")+`-`+eq.To.In(evaluationZone).Format("20060102")+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// evaluationColumns are the CSV columns: English and Chinese headers and
// the cell of a row.
var evaluationColumns = []struct {
	en, zh string
	cell   func(grids.EvaluationRow) string
}{
	{"code", "代码", func(r grids.EvaluationRow) string { return r.Code }},
	{"name", "名称", func(r grids.EvaluationRow) string { return r.Name }},
	{"reported", "上报数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Reported) }},
	{"filed", "立案数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Filed) }},
	{"rejected", "不予立案数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Rejected) }},
	{"dispatched", "派遣数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Dispatched) }},
	{"dispatched_on_time", "按期派遣数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.DispatchedOnTime) }},
	{"due", "应结案数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Due) }},
	{"handled", "处置数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Handled) }},
	{"handled_on_time", "按期处置数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.HandledOnTime) }},
	{"reworked", "返工数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Reworked) }},
	{"closed", "结案数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Closed) }},
	{"closed_on_time", "按期结案数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.ClosedOnTime) }},
	{"dispatch_on_time_rate", "按期派遣率", func(r grids.EvaluationRow) string { return fmtOpt(r.DispatchOnTimeRate, 4) }},
	{"handle_on_time_rate", "按期处置率", func(r grids.EvaluationRow) string { return fmtOpt(r.HandleOnTimeRate, 4) }},
	{"rework_rate", "返工率", func(r grids.EvaluationRow) string { return fmtOpt(r.ReworkRate, 4) }},
	{"close_rate", "结案率", func(r grids.EvaluationRow) string { return fmtOpt(r.CloseRate, 4) }},
	{"on_time_close_rate", "按期结案率", func(r grids.EvaluationRow) string { return fmtOpt(r.OnTimeCloseRate, 4) }},
	{"median_file_h", "立案用时中位数(小时)", func(r grids.EvaluationRow) string { return fmtOpt(r.MedianFileH, 2) }},
	{"median_dispatch_h", "派遣用时中位数(小时)", func(r grids.EvaluationRow) string { return fmtOpt(r.MedianDispatchH, 2) }},
	{"median_handle_h", "处置用时中位数(小时)", func(r grids.EvaluationRow) string { return fmtOpt(r.MedianHandleH, 2) }},
	{"median_verify_h", "核查用时中位数(小时)", func(r grids.EvaluationRow) string { return fmtOpt(r.MedianVerifyH, 2) }},
	{"median_close_h", "结案用时中位数(小时)", func(r grids.EvaluationRow) string { return fmtOpt(r.MedianCloseH, 2) }},
	{"rated", "评价数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Rated) }},
	{"satisfied", "满意及基本满意数", func(r grids.EvaluationRow) string { return strconv.Itoa(r.Satisfied) }},
	{"satisfaction", "满意度", func(r grids.EvaluationRow) string { return fmtOpt(r.Satisfaction, 4) }},
	{"score", "得分", func(r grids.EvaluationRow) string { return fmtOpt(r.Score, 1) }},
	{"grade", "等级", func(r grids.EvaluationRow) string { return r.Grade }},
}

func fmtOpt(v *float64, prec int) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}

// EvaluationCSV writes the rows with a byte order mark (Excel reads UTF-8
// only with one) and a header in English or Chinese.
func EvaluationCSV(rows []grids.EvaluationRow, zh bool) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	head := make([]string, len(evaluationColumns))
	for i, c := range evaluationColumns {
		head[i] = c.en
		if zh {
			head[i] = c.zh
		}
	}
	w.Write(head) //nolint:errcheck // to memory
	rec := make([]string, len(evaluationColumns))
	for _, r := range rows {
		for i, c := range evaluationColumns {
			rec[i] = c.cell(r)
		}
		w.Write(rec) //nolint:errcheck // to memory
	}
	w.Flush()
	return b.Bytes()
}
