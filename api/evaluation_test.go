package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

// Two communities of one street, each half of a 10×10 lattice of 100 m
// grids: 110101001001 (grids 001-050, the southern half) and 110101001002
// (the northern half), plus the management grid DHM-01 of 110101001001001
// and 002.
const evalHierarchy = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"110101","name":"东城区"},"geometry":{"type":"Polygon","coordinates":[[[116.39,39.89],[116.52,39.89],[116.52,39.96],[116.39,39.96],[116.39,39.89]]]}},
{"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},"geometry":{"type":"Polygon","coordinates":[[[116.39,39.89],[116.52,39.89],[116.52,39.96],[116.39,39.96],[116.39,39.89]]]}},
{"type":"Feature","properties":{"code":"110101001001","name":"多福巷社区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.41,39.90],[116.41,39.905],[116.40,39.905],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001002","name":"银闸社区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.905],[116.41,39.905],[116.41,39.91],[116.40,39.91],[116.40,39.905]]]}}
]}`

// evalServer is caseServer's setup on the two communities, with
// evaluation mounted and the case clock running offset from the system
// clock: a case opened and stepped with the clock 30 days back has a stage
// deadline long passed when its next step comes at the present.
func evalServer(t *testing.T) (*httptest.Server, *postgis.Store, map[string]string, func(time.Duration)) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := postgis.NewStore(pool)
	feats, rejected, err := grids.ParseDivisions([]byte(evalHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	lat := synth.Lattice{Origin: orb.Point{116.40, 39.90}, NX: 10, NY: 10, Cell: 0.001, District: "110101", Street: "001", PerCommunity: 50}
	if err := pgtest.CopyGrids(ctx, pool, lat.Grids(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		WITH m AS (INSERT INTO mgmt_grids (code, name, street_code) VALUES ('DHM-01', '东华门一网格', '110101001') RETURNING id)
		INSERT INTO mgmt_grid_members SELECT m.id, c FROM m, unnest(ARRAY['110101001001001', '110101001001002']) c`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var offset time.Duration
	st.SetCaseClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) })
	setOffset := func(d time.Duration) { mu.Lock(); offset = d; mu.Unlock() }
	ts, tok := serveCases(t, st, nil)
	return ts, st, tok, setOffset
}

type evalRow struct {
	Code               string
	Name               string
	FiledUnder         []string `json:"filed_under"`
	Reported           int
	Filed              int
	Rejected           int
	Dispatched         int
	DispatchedOnTime   int `json:"dispatched_on_time"`
	Due                int
	Handled            int
	HandledOnTime      int `json:"handled_on_time"`
	Reworked           int
	Closed             int
	ClosedOnTime       int      `json:"closed_on_time"`
	DispatchOnTimeRate *float64 `json:"dispatch_on_time_rate"`
	HandleOnTimeRate   *float64 `json:"handle_on_time_rate"`
	ReworkRate         *float64 `json:"rework_rate"`
	CloseRate          *float64 `json:"close_rate"`
	OnTimeCloseRate    *float64 `json:"on_time_close_rate"`
	MedianFileH        *float64 `json:"median_file_h"`
	MedianDispatchH    *float64 `json:"median_dispatch_h"`
	MedianHandleH      *float64 `json:"median_handle_h"`
	MedianVerifyH      *float64 `json:"median_verify_h"`
	MedianCloseH       *float64 `json:"median_close_h"`
	Rated              int
	Satisfied          int
	Satisfaction       *float64
	Score              *float64
	Grade              string
}

func evaluation(t *testing.T, ts *httptest.Server, tok, query string) map[string]evalRow {
	t.Helper()
	status, _, b := request(t, "GET", ts.URL+"/v1/evaluation?"+query, tok, "")
	if status != 200 {
		t.Fatalf("evaluation %s: %d %s", query, status, b)
	}
	var body struct{ Rows []evalRow }
	if err := json.Unmarshal([]byte(b), &body); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out := map[string]evalRow{}
	for _, r := range body.Rows {
		out[r.Code] = r
	}
	return out
}

// The evaluation of a record built through the API: cases on time, late,
// reworked, rejected, suspended, in two communities and two departments.
// Every event's recorded deadline is the deadline the case showed just
// before the step; every measure is checked against a formulation of its
// own over case_events written here, and against counts worked out by hand.
func TestEvaluation(t *testing.T) {
	ts, st, tok, setOffset := evalServer(t)
	ctx := context.Background()
	// shown: the deadline each event should record, by event id.
	shown := map[int64]*time.Time{}
	do := func(id int64, who, body string) {
		t.Helper()
		before := caseClock(t, ts.URL, tok["viewer"], id)
		c := step(t, ts, tok[who], id, body, 200)
		var last int64
		if err := st.Pool().QueryRow(ctx, `SELECT max(id) FROM case_events WHERE case_id = $1`, c.ID).Scan(&last); err != nil {
			t.Fatal(err)
		}
		shown[last] = before.Deadline
	}
	const late = -30 * 24 * time.Hour
	openAt := func(offset time.Duration, lon float64, lat float64) int64 {
		t.Helper()
		setOffset(offset)
		return openCase(t, ts, tok["reporter"], fmt.Sprintf(`{"lon":%g,"lat":%g,"class":"06010"}`, lon, lat)).ID
	}
	open := func(lon float64, lat float64) int64 { t.Helper(); return openAt(0, lon, lat) }
	toB := `{"step":"dispatch","department":"` + depB + `","reason":"属执法事项"}`
	// Community 110101001001 (grids 001 to 003).
	a := open(116.4005, 39.9005) // A: every step on time, closed
	for _, s := range [][2]string{{"dispatcher", `{"step":"file"}`}, {"dispatcher", `{"step":"dispatch"}`},
		{"depA", `{"step":"handle","note":"已清理"}`}, {"supervisor", `{"step":"verify"}`}, {"dispatcher", `{"step":"close"}`}} {
		do(a, s[0], s[1])
	}
	b := openAt(late, 116.4015, 39.9005) // B: reported, filed and dispatched 30 days back: handled late, closed
	do(b, "dispatcher", `{"step":"file"}`)
	do(b, "dispatcher", `{"step":"dispatch"}`)
	setOffset(0)
	do(b, "depA", `{"step":"handle","note":"已清理"}`)
	do(b, "supervisor", `{"step":"verify"}`)
	do(b, "dispatcher", `{"step":"close"}`)
	e := open(116.4005, 39.9008) // E: suspended in handling: not due
	do(e, "dispatcher", `{"step":"file"}`)
	do(e, "dispatcher", `{"step":"dispatch"}`)
	do(e, "dispatcher", `{"step":"suspend","reason":"等待产权单位"}`)
	g := openAt(late, 116.4025, 39.9005) // G: dispatched 30 days back, in handling, deadline passed
	do(g, "dispatcher", `{"step":"file"}`)
	do(g, "dispatcher", `{"step":"dispatch"}`)
	h := open(116.4025, 39.9008) // H: filed only
	do(h, "dispatcher", `{"step":"file"}`)
	// Community 110101001002.
	c := open(116.4005, 39.9075) // C: with depB, reworked once, closed, every step on time
	do(c, "dispatcher", `{"step":"file"}`)
	do(c, "dispatcher", toB)
	do(c, "depB", `{"step":"handle","note":"已处置"}`)
	do(c, "supervisor", `{"step":"rework","reason":"未清理干净"}`)
	do(c, "depB", `{"step":"handle","note":"已返工"}`)
	do(c, "supervisor", `{"step":"verify"}`)
	do(c, "dispatcher", `{"step":"close"}`)
	d := open(116.4015, 39.9075) // D: rejected
	do(d, "dispatcher", `{"step":"reject","reject_kind":"out_of_scope","reason":"不属城管"}`)
	f := openAt(late, 116.4025, 39.9075) // F: reported and filed 30 days back, dispatched late now, to depB, in handling
	do(f, "dispatcher", `{"step":"file"}`)
	setOffset(0)
	do(f, "dispatcher", toB)
	// I: reported, filed and dispatched 120 days back, before the period
	// (its handling deadline too): closed late now, not due.
	i := openAt(-120*24*time.Hour, 116.4035, 39.9075)
	do(i, "dispatcher", `{"step":"file"}`)
	do(i, "dispatcher", `{"step":"dispatch"}`)
	setOffset(0)
	do(i, "depA", `{"step":"handle","note":"已清理"}`)
	do(i, "supervisor", `{"step":"verify"}`)
	do(i, "dispatcher", `{"step":"close"}`)

	// Each event recorded the deadline the case showed before its step.
	rows, err := st.Pool().Query(ctx, `SELECT id, step, deadline, stage_started FROM case_events WHERE step <> 'report' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id int64
		var stepName string
		var dl, started *time.Time
		if err := rows.Scan(&id, &stepName, &dl, &started); err != nil {
			t.Fatal(err)
		}
		want, ok := shown[id]
		switch {
		case !ok:
			t.Errorf("event %d (%s) was not a step of this test", id, stepName)
		case (dl == nil) != (want == nil) || dl != nil && !dl.Equal(*want):
			t.Errorf("event %d (%s): recorded deadline %v, the case showed %v before the step", id, stepName, dl, want)
		case started == nil:
			t.Errorf("event %d (%s): no stage start", id, stepName)
		}
		n++
	}
	if rows.Err() != nil || n != len(shown) {
		t.Fatalf("%d events with deadlines, %d steps taken (%v)", n, len(shown), rows.Err())
	}

	// The period: 60 days back to 30 days on, in dates as a user gives them.
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	from, to := today.AddDate(0, 0, -60).Format("2006-01-02"), today.AddDate(0, 0, 30).Format("2006-01-02")
	period := "from=" + from + "&to=" + to
	fromT, _ := time.ParseInLocation("2006-01-02", from, time.FixedZone("CST", 8*3600))
	toT, _ := time.ParseInLocation("2006-01-02", to, time.FixedZone("CST", 8*3600))

	// By hand. Community 1: A, B, E, G, H reported and filed; A, B, E, G
	// dispatched, all by their dispatch deadlines; due A, B, G (E is
	// suspended); handled A, B, on time A; closed A, B, on time A.
	// Community 2: C, D, F reported in the period (I before it); C, F
	// filed; D rejected; C, F dispatched, F late; due C, F (I's deadline
	// is before the period); handled C, on time, reworked; closed C, on
	// time.
	com := evaluation(t, ts, tok["viewer"], "by=community&"+period)
	type counts struct{ rep, fil, rej, dis, disOn, due, han, hanOn, rew, clo, cloOn int }
	check := func(what string, r evalRow, w counts, score float64, grade string) {
		t.Helper()
		got := counts{r.Reported, r.Filed, r.Rejected, r.Dispatched, r.DispatchedOnTime, r.Due, r.Handled, r.HandledOnTime, r.Reworked, r.Closed, r.ClosedOnTime}
		if got != w {
			t.Errorf("%s: %+v, want %+v", what, got, w)
		}
		if r.Score == nil || *r.Score != score || r.Grade != grade || r.Satisfaction != nil {
			t.Errorf("%s: score %v grade %q satisfaction %v, want %g %s and none", what, r.Score, r.Grade, r.Satisfaction, score, grade)
		}
	}
	check("community 110101001001", com["110101001001"], counts{5, 5, 0, 4, 4, 3, 2, 1, 0, 2, 1}, 33.3, "E")
	check("community 110101001002", com["110101001002"], counts{3, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1}, 50, "D")
	if len(com) != 2 || com["110101001001"].Name != "多福巷社区" || com["110101001002"].Name != "银闸社区" {
		t.Errorf("communities: %+v", com)
	}
	if r := com["110101001002"]; !near(r.ReworkRate, 1) || !near(r.CloseRate, 0.5) || !near(r.HandleOnTimeRate, 0.5) || !near(r.DispatchOnTimeRate, 0.5) {
		t.Errorf("community 2 rates: rework %v close %v handle %v dispatch %v", r.ReworkRate, r.CloseRate, r.HandleOnTimeRate, r.DispatchOnTimeRate)
	}
	// Departments: everything before dispatch counts for the routed depA.
	dep := evaluation(t, ts, tok["viewer"], "by=department&"+period)
	check("depA", dep[depA], counts{8, 7, 1, 4, 4, 3, 2, 1, 0, 2, 1}, 33.3, "E")
	check("depB", dep[depB], counts{0, 0, 0, 2, 1, 2, 1, 1, 1, 1, 1}, 50, "D")
	if dep[depA].Name != "东城区环卫中心" || len(dep) != 2 {
		t.Errorf("departments: %+v", dep)
	}
	// The management grid DHM-01 holds A and B (grids 001 and 002) and E.
	mg := evaluation(t, ts, tok["viewer"], "by=mgmt&"+period)
	check("DHM-01", mg["DHM-01"], counts{3, 3, 0, 3, 3, 2, 2, 1, 0, 2, 1}, 50, "D")
	// An area filter and a period with nothing due.
	one := evaluation(t, ts, tok["viewer"], "by=grid&area=110101001001&"+period)
	if len(one) != 3 || one["110101001001001"].Reported != 2 || one["110101001001003"].Due != 1 {
		t.Errorf("grids of community 1: %+v", one)
	}
	past := evaluation(t, ts, tok["viewer"], "by=district&from=2020-01-01&to=2020-02-01")
	if len(past) != 0 {
		t.Errorf("2020: %+v", past)
	}

	// Every grouping against a formulation of its own.
	for _, by := range []string{"grid", "community", "street", "district", "mgmt", "department"} {
		got := evaluation(t, ts, tok["viewer"], "by="+by+"&"+period)
		want := independentEvaluation(t, st.Pool(), by, fromT, toT)
		if len(got) != len(want) {
			t.Errorf("by %s: %d rows, want %d", by, len(got), len(want))
		}
		for code, w := range want {
			g := got[code]
			gc := counts{g.Reported, g.Filed, g.Rejected, g.Dispatched, g.DispatchedOnTime, g.Due, g.Handled, g.HandledOnTime, g.Reworked, g.Closed, g.ClosedOnTime}
			if gc != w.counts {
				t.Errorf("by %s %s: %+v, want %+v", by, code, gc, w.counts)
			}
			for stage, m := range map[string]*float64{"file": g.MedianFileH, "dispatch": g.MedianDispatchH, "handle": g.MedianHandleH, "verify": g.MedianVerifyH, "close": g.MedianCloseH} {
				wm, ok := w.medians[stage]
				if ok != (m != nil) || ok && math.Abs(*m-wm) > medianBound(wm) {
					t.Errorf("by %s %s: median %s %v h, want %v (%v)", by, code, stage, m, wm, ok)
				}
			}
			if !near(g.OnTimeCloseRate, float64(w.counts.cloOn)/float64(w.counts.due)) && w.counts.due > 0 {
				t.Errorf("by %s %s: on-time close rate %v", by, code, g.OnTimeCloseRate)
			}
		}
	}

	// The rollup the trigger kept is what rebuilding it from the log gives,
	// and a period that starts within a day (answered by the single
	// statement) agrees with the rollup's answer for the same cases.
	checkRollup(t, st.Pool())
	mid := "from=" + url.QueryEscape(fromT.Add(time.Second).Format(time.RFC3339)) + "&to=" + to
	for _, by := range []string{"grid", "community", "department"} {
		got, direct := evaluation(t, ts, tok["viewer"], "by="+by+"&"+period), evaluation(t, ts, tok["viewer"], "by="+by+"&"+mid)
		for code, g := range got {
			d := direct[code]
			if len(got) != len(direct) || g.Reported != d.Reported || g.Due != d.Due || g.ClosedOnTime != d.ClosedOnTime ||
				(g.MedianHandleH == nil) != (d.MedianHandleH == nil) || g.MedianHandleH != nil && math.Abs(*g.MedianHandleH-*d.MedianHandleH) > medianBound(*d.MedianHandleH) {
				t.Errorf("by %s %s: rollup %+v, single statement %+v", by, code, g, d)
			}
		}
	}

	// CSV for Excel: a byte order mark, a header, a row a group, the same
	// figures; in Chinese on request; Accept: text/csv works too.
	status, hdr, body := request(t, "GET", ts.URL+"/v1/evaluation?by=community&format=csv&header=zh&"+period, tok["viewer"], "")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, "\ufeff") {
		t.Fatalf("csv: %d %s %.100q", status, hdr.Get("Content-Type"), body)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "代码" || recs[0][17] != "按期结案率" || recs[1][0] != "110101001001" ||
		recs[1][17] != "0.3333" || recs[1][len(recs[1])-1] != "E" || recs[1][len(recs[1])-3] != "" {
		t.Errorf("csv: %v %q", err, recs)
	}
	status, hdr, body = requestAccept(t, ts.URL+"/v1/evaluation?by=district&"+period, tok["viewer"], "text/csv")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(body, "\r\n110101,东城区,8,7,1,6,5,5,") {
		t.Errorf("Accept: text/csv: %d %s %q", status, hdr.Get("Content-Type"), body)
	}
}

// medianBound: how far a median read from the evaluation's rollup may be
// from the exact one (postgis.MedianRelBound, MedianAbsBound seconds).
func medianBound(exact float64) float64 {
	return math.Max(postgis.MedianRelBound*math.Abs(exact), postgis.MedianAbsBound/3600) + 1e-9
}

// checkRollup compares the evaluation's rollup (migration 0019) as the
// trigger kept it with the rollup rebuilt from the log, summed over the
// stripes (migration 0022).
func checkRollup(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	const snapshot = `SELECT coalesce(string_agg(r, E'\n' ORDER BY r), '') FROM (
		SELECT format('flow %s %s %s %s %s %s %s', lvl, day, grp, step, sum(n), sum(late), sum(satisfied)) r FROM case_eval_flow
			GROUP BY lvl, day, grp, step HAVING sum(n) <> 0
		UNION ALL
		SELECT format('hours %s %s %s %s %s %s', lvl, day, grp, stage, b, sum(c)) FROM case_eval_hours, unnest(buckets, counts) u(b, c)
			GROUP BY lvl, day, grp, stage, b HAVING sum(c) <> 0
		UNION ALL
		SELECT format('cohort %s %s %s %s %s %s', lvl, day, grp, measure, at_day, sum(n)) FROM case_eval_cohort
			GROUP BY lvl, day, grp, measure, at_day HAVING sum(n) <> 0) x`
	var kept, rebuilt string
	if err := pool.QueryRow(ctx, snapshot).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT gridd_evaluation_rebuild()`); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, snapshot).Scan(&rebuilt); err != nil {
		t.Fatal(err)
	}
	if kept != rebuilt || kept == "" {
		t.Errorf("the rollup kept by the trigger:\n%s\nrebuilt from the log:\n%s", kept, rebuilt)
	}
}

func near(v *float64, want float64) bool { return v != nil && math.Abs(*v-want) < 1e-9 }

func requestAccept(t *testing.T, u, tok, accept string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

type independent struct {
	counts struct{ rep, fil, rej, dis, disOn, due, han, hanOn, rew, clo, cloOn int }
	// medians of stage durations (hours) by stage
	medians map[string]float64
}

// independentEvaluation computes the measures another way: cases with
// their whole logs as arrays, stage durations from the event that moved the
// case into the state the step leaves (found by to_state, not by the
// recorded stage start), medians in Go.
func independentEvaluation(t *testing.T, pool *pgxpool.Pool, by string, from, to time.Time) map[string]*independent {
	t.Helper()
	ctx := context.Background()
	keyOf := map[string]string{"grid": "ARRAY[c.grid_code]", "community": "ARRAY[c.community_code]", "street": "ARRAY[c.street_code]",
		"district": "ARRAY[c.district_code]", "mgmt": "c.mgmt_codes"}
	out := map[string]*independent{}
	get := func(k string) *independent {
		if out[k] == nil {
			out[k] = &independent{medians: map[string]float64{}}
		}
		return out[k]
	}
	// Steps, one row each, with the state the case was in and when it got
	// there (the latest earlier event into that state that was not a resume
	// or an extension).
	stepKey := "coalesce(e.department_code, c.routed_department, '')"
	if k, ok := keyOf[by]; ok {
		stepKey = "unnest(" + k + ")"
	}
	rows, err := pool.Query(ctx, `SELECT `+stepKey+`, e.step, e.at > e.deadline,
			extract(epoch FROM e.at - (SELECT p.at FROM case_events p WHERE p.case_id = e.case_id AND p.id < e.id
				AND p.to_state = e.from_state AND p.step NOT IN ('resume', 'extend') ORDER BY p.id DESC LIMIT 1)) / 3600
		FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE e.at BETWEEN $1 AND $2 AND e.at <> $2`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	durations := map[string]map[string][]float64{}
	var key, stepName string
	var isLate *bool
	var hours *float64
	_, err = pgx.ForEachRow(rows, []any{&key, &stepName, &isLate, &hours}, func() error {
		r := get(key)
		switch stepName {
		case "report":
			r.counts.rep++
		case "file":
			r.counts.fil++
		case "reject":
			r.counts.rej++
		case "dispatch":
			r.counts.dis++
			if isLate == nil || !*isLate {
				r.counts.disOn++
			}
		}
		stage := map[string]string{"file": "file", "reject": "file", "dispatch": "dispatch", "handle": "handle",
			"verify": "verify", "rework": "verify", "close": "close"}[stepName]
		if stage != "" && hours != nil {
			if durations[key] == nil {
				durations[key] = map[string][]float64{}
			}
			durations[key][stage] = append(durations[key][stage], *hours)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, m := range durations {
		for stage, ds := range m {
			sort.Float64s(ds)
			med := ds[len(ds)/2]
			if len(ds)%2 == 0 {
				med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
			}
			get(k).medians[stage] = med
		}
	}
	// Cases: each whole log as arrays; its handling deadline is its first
	// handle's, or its current one while it is dispatched and never handled.
	caseKey := "coalesce(coalesce(l.handlers[1], CASE WHEN c.state = 'dispatched' THEN c.department_code END), '')"
	if k, ok := keyOf[by]; ok {
		caseKey = "unnest(" + k + ")"
	}
	rows, err = pool.Query(ctx, `WITH logs AS (
			SELECT case_id,
				array_agg(deadline ORDER BY id) FILTER (WHERE step = 'handle') AS handle_deadlines,
				array_agg(at ORDER BY id) FILTER (WHERE step = 'handle') AS handle_times,
				array_agg(department_code ORDER BY id) FILTER (WHERE step = 'handle') AS handlers,
				array_agg(step ORDER BY id) FILTER (WHERE at < $1) AS steps,
				array_agg(step ORDER BY id) FILTER (WHERE at < $1 AND at > deadline
					AND step NOT IN ('suspend', 'resume', 'extend')) AS late_steps
			FROM case_events GROUP BY case_id)
		SELECT `+caseKey+`, coalesce(l.handle_deadlines[1], CASE WHEN c.state = 'dispatched' THEN c.deadline END),
			l.handle_times[1], l.steps, coalesce(l.late_steps, '{}')
		FROM cases c JOIN logs l ON l.case_id = c.id`, to)
	if err != nil {
		t.Fatal(err)
	}
	var due, handledAt *time.Time
	var steps, lateSteps []string
	_, err = pgx.ForEachRow(rows, []any{&key, &due, &handledAt, &steps, &lateSteps}, func() error {
		if due == nil || due.Before(from) || !due.Before(to) {
			return nil
		}
		r := get(key)
		r.counts.due++
		has := func(s string) bool {
			for _, x := range steps {
				if x == s {
					return true
				}
			}
			return false
		}
		if has("handle") {
			r.counts.han++
		}
		if handledAt != nil && !handledAt.After(*due) {
			r.counts.hanOn++
		}
		if has("rework") {
			r.counts.rew++
		}
		if has("close") {
			r.counts.clo++
			if len(lateSteps) == 0 {
				r.counts.cloOn++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Bad input is refused with the parameter named; evaluation needs a token.
func TestEvaluationBadInput(t *testing.T) {
	ts, _, tok, _ := evalServer(t)
	for _, tc := range []struct{ query, param string }{
		{"from=2025-01-01&to=2026-01-01", "by"},
		{"by=province&from=2025-01-01&to=2026-01-01", "by"},
		{"by=community&to=2026-01-01", "from"},
		{"by=community&from=2025-13-01&to=2026-01-01", "from"},
		{"by=community&from=2025-01-01&to=yesterday", "to"},
		{"by=community&from=2026-01-01&to=2026-01-01", "to"},
		{"by=community&from=2026-01-01&to=2025-01-01", "to"},
		{"by=community&from=2025-01-01&to=2026-01-01&area=12345", "area"},
		{"by=community&from=2025-01-01&to=2026-01-01&format=xlsx", "format"},
		{"by=community&from=2025-01-01&to=2026-01-01&header=fr", "header"},
	} {
		status, _, b := request(t, "GET", ts.URL+"/v1/evaluation?"+tc.query, tok["viewer"], "")
		if status != 400 || !strings.Contains(b, tc.param+":") {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.query, status, b, tc.param)
		}
	}
	ok := "/v1/evaluation?by=community&from=" + url.QueryEscape("2025-01-01T00:00:00+08:00") + "&to=2026-01-01"
	if status, _, b := request(t, "GET", ts.URL+ok, tok["viewer"], ""); status != 200 || !strings.Contains(b, `"rows":[]`) {
		t.Errorf("RFC 3339 from: %d %s", status, b)
	}
	if status, _, _ := request(t, "GET", ts.URL+ok, "", ""); status != 401 {
		t.Errorf("no token: %d, want 401", status)
	}
}

// Cases filed under a grid that is split afterwards count under the grid
// that now covers their point, as PostGIS's ST_Covers finds it; the grid
// they were reported in stays on the case and in the new grid's
// filed_under. A case moved to another community moves in the rollup too.
func TestEvaluationLineage(t *testing.T) {
	ts, st, tok, _ := evalServer(t)
	ctx := context.Background()
	const old = "110101001001001" // 116.400-116.401 E, 39.900-39.901 N
	w1 := openCase(t, ts, tok["reporter"], `{"lon":116.4002,"lat":39.9003,"class":"06010"}`).ID
	w2 := openCase(t, ts, tok["reporter"], `{"lon":116.4001,"lat":39.9007,"class":"06010"}`).ID
	e1 := openCase(t, ts, tok["reporter"], `{"lon":116.4007,"lat":39.9005,"class":"06010"}`).ID
	for _, s := range [][2]string{{"dispatcher", `{"step":"file"}`}, {"dispatcher", `{"step":"dispatch"}`}, {"depA", `{"step":"handle","note":"已清理"}`}} {
		step(t, ts, tok[s[0]], w1, s[1], 200)
	}
	step(t, ts, tok["dispatcher"], e1, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], e1, `{"step":"dispatch"}`, 200)

	// Split the grid north-south at 116.4004: the larger, eastern part keeps
	// the code, the western part gets a new one.
	g, err := json.Marshal(map[string]any{"type": "LineString", "coordinates": [][2]float64{{116.4004, 39.8995}, {116.4004, 39.9015}}})
	if err != nil {
		t.Fatal(err)
	}
	var line geojson.Geometry
	if err := json.Unmarshal(g, &line); err != nil {
		t.Fatal(err)
	}
	cs, err := st.ApplyChangeset(ctx, "token:editor", grids.ChangesetRequest{Message: "split along the new lane",
		Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{{Code: old, Version: 1}}, Line: &line}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Result.Created) != 1 {
		t.Fatalf("split created %+v", cs.Result.Created)
	}
	west := string(cs.Result.Created[0].Code)

	// PostGIS: the current grid covering each case's point.
	covering := map[int64]string{}
	for _, id := range []int64{w1, w2, e1} {
		var code string
		if err := st.Pool().QueryRow(ctx, `SELECT u.code FROM cases c JOIN unit_grids u ON u.valid_to IS NULL AND ST_Covers(u.geom, c.geom)
			WHERE c.id = $1 ORDER BY u.code LIMIT 1`, id).Scan(&code); err != nil {
			t.Fatal(err)
		}
		covering[id] = code
	}
	if covering[w1] != west || covering[w2] != west || covering[e1] != old {
		t.Fatalf("covering grids %v, want the west ones in %s and the east one in %s", covering, west, old)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	period := "from=" + today.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + today.AddDate(0, 0, 30).Format("2006-01-02")
	byGrid := evaluation(t, ts, tok["viewer"], "by=grid&area=110101001001&"+period)
	if r := byGrid[west]; r.Reported != 2 || r.Filed != 1 || r.Dispatched != 1 || r.Due != 1 || r.Handled != 1 ||
		len(r.FiledUnder) != 1 || r.FiledUnder[0] != old {
		t.Errorf("grid %s: %+v, want W1 and W2 (reported 2, filed, dispatched, due and handled 1) filed under %s", west, r, old)
	}
	if r := byGrid[old]; r.Reported != 1 || r.Filed != 1 || r.Dispatched != 1 || r.Due != 1 || r.Handled != 0 || len(r.FiledUnder) != 0 {
		t.Errorf("grid %s: %+v, want E1 alone", old, r)
	}
	if len(byGrid) != 2 {
		t.Errorf("grids: %+v", byGrid)
	}
	if one := evaluation(t, ts, tok["viewer"], "by=grid&area="+west+"&"+period); one[west].Reported != 2 || len(one) != 1 {
		t.Errorf("area %s: %+v", west, one)
	}
	// The case keeps the grid it was reported in.
	var c grids.Case
	_, _, b := request(t, "GET", ts.URL+"/v1/cases/"+strconv.FormatInt(w1, 10), tok["viewer"], "")
	if err := json.Unmarshal([]byte(b), &c); err != nil || c.Grid != old {
		t.Errorf("case W1: grid %s (%v), want %s as reported", c.Grid, err, old)
	}
	com := evaluation(t, ts, tok["viewer"], "by=community&"+period)
	if com["110101001001"].Reported != 3 || com["110101001001"].Due != 2 {
		t.Errorf("community: %+v", com)
	}
	checkRollup(t, st.Pool())

	// A case moved to a grid of the other community (as a rebuild across
	// the boundary would) moves in the rollup with all its steps.
	if _, err := st.Pool().Exec(ctx, `SELECT gridd_eval_move_case($1, '110101001002001', 1)`, w1); err != nil {
		t.Fatal(err)
	}
	com = evaluation(t, ts, tok["viewer"], "by=community&"+period)
	if a, b := com["110101001001"], com["110101001002"]; a.Reported != 2 || a.Due != 1 || b.Reported != 1 || b.Handled != 1 || b.Due != 1 {
		t.Errorf("after the move: %+v", com)
	}
	checkRollup(t, st.Pool())
}
