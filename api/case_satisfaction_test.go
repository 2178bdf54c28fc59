package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gridd/grids"
)

// Satisfaction: once a case is closed its reporter rates it, once, or a
// supervisor does for them; other reporters and roles are refused (403),
// cases not closed and second ratings too (409), unknown ratings (400).
// The rating is a 'rate' event of the case, and the evaluation's
// satisfaction is the share satisfied or basically satisfied, in JSON and
// CSV, from the rollup and from the single statement alike.
func TestCaseSatisfaction(t *testing.T) {
	ts, st, tok, _ := evalServer(t)
	ctx := context.Background()
	other, err := st.CreateToken(ctx, "reporter2", grids.RoleReporter)
	if err != nil {
		t.Fatal(err)
	}
	closed := func(lon, lat float64) int64 {
		t.Helper()
		id := openCase(t, ts, tok["reporter"], fmt.Sprintf(`{"lon":%g,"lat":%g,"class":"06010"}`, lon, lat)).ID
		for _, s := range [][2]string{{"dispatcher", `{"step":"file"}`}, {"dispatcher", `{"step":"dispatch"}`},
			{"depA", `{"step":"handle","note":"已清理"}`}, {"supervisor", `{"step":"verify"}`}, {"dispatcher", `{"step":"close"}`}} {
			step(t, ts, tok[s[0]], id, s[1], 200)
		}
		return id
	}
	rate := func(tk string, id int64, body string, want int) string {
		t.Helper()
		status, _, b := request(t, "POST", fmt.Sprintf("%s/v1/cases/%d/satisfaction", ts.URL, id), tk, body)
		if status != want {
			t.Fatalf("rate case %d %s: %d %s, want %d", id, body, status, b, want)
		}
		return b
	}
	a, b, c := closed(116.4005, 39.9005), closed(116.4015, 39.9005), closed(116.4005, 39.9075)
	open := openCase(t, ts, tok["reporter"], `{"lon":116.4025,"lat":39.9075,"class":"06010"}`).ID

	// Refusals, before any rating.
	for _, tc := range []struct {
		tok, body string
		id        int64
		want      int
		says      string
	}{
		{tok["reporter"], `{"rating":"satisfied"}`, open, 409, "closed"},
		{other, `{"rating":"satisfied"}`, a, 403, "another reporter"},
		{tok["dispatcher"], `{"rating":"satisfied"}`, a, 403, "role dispatcher"},
		{tok["depA"], `{"rating":"satisfied"}`, a, 403, "role department"},
		{tok["viewer"], `{"rating":"satisfied"}`, a, 403, ""},
		{"", `{"rating":"satisfied"}`, a, 401, ""},
		{tok["reporter"], `{"rating":"very_satisfied"}`, a, 400, "rating:"},
		{tok["reporter"], `{}`, a, 400, "rating:"},
		{tok["reporter"], `{"rating":"satisfied","stars":5}`, a, 400, "stars"},
		{tok["reporter"], `{"rating":"satisfied"}`, 999999, 404, ""},
	} {
		if got := rate(tc.tok, tc.id, tc.body, tc.want); !strings.Contains(got, tc.says) {
			t.Errorf("%s on case %d: %s, want it to say %q", tc.body, tc.id, got, tc.says)
		}
	}

	// The reporter rates A; a supervisor rates B on the reporter's behalf.
	var sa, sb grids.Satisfaction
	if err := json.Unmarshal([]byte(rate(tok["reporter"], a, `{"rating":"basically_satisfied","comment":"处理及时"}`, 201)), &sa); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(rate(tok["supervisor"], b, `{"rating":"dissatisfied","comment":"回访：仍有垃圾"}`, 201)), &sb); err != nil {
		t.Fatal(err)
	}
	if sa.Rating != "basically_satisfied" || sa.OnBehalf || sa.Actor != "token:reporter" || sa.Department != depA || sa.EventID == 0 ||
		sb.Rating != "dissatisfied" || !sb.OnBehalf || sb.Role != "supervisor" {
		t.Errorf("ratings: %+v %+v", sa, sb)
	}
	// Once per case, whoever asks, even two at once.
	if got := rate(tok["supervisor"], a, `{"rating":"satisfied"}`, 409); !strings.Contains(got, "rated already") {
		t.Errorf("second rating: %s", got)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, tk := range []string{tok["reporter"], tok["supervisor"]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = request(t, "POST", fmt.Sprintf("%s/v1/cases/%d/satisfaction", ts.URL, c), tk, `{"rating":"satisfied"}`)
		}()
	}
	wg.Wait()
	if !(statuses[0] == 201 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 201) {
		t.Errorf("two ratings at once: %v, want one 201 and one 409", statuses)
	}
	// The case's log ends with the rating.
	var cj struct {
		Version int
		Events  []struct{ Step, Actor, Note string }
	}
	_, _, body := request(t, "GET", fmt.Sprintf("%s/v1/cases/%d", ts.URL, a), tok["viewer"], "")
	if err := json.Unmarshal([]byte(body), &cj); err != nil {
		t.Fatal(err)
	}
	if last := cj.Events[len(cj.Events)-1]; last.Step != "rate" || last.Actor != "token:reporter" || last.Note != "处理及时" {
		t.Errorf("case A's last event: %+v", last)
	}

	// Evaluation: community 1 has A (basically satisfied) and B
	// (dissatisfied): 1 of 2; community 2 has C (satisfied): 1 of 1.
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	period := "from=" + today.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + today.AddDate(0, 0, 1).Format("2006-01-02")
	midday := "from=" + url.QueryEscape(today.Add(-24*time.Hour).Format(time.RFC3339)) + "&to=" + today.AddDate(0, 0, 1).Format("2006-01-02")
	for _, p := range []string{period, midday} { // the rollup, and the single statement
		com := evaluation(t, ts, tok["viewer"], "by=community&"+p)
		if r := com["110101001001"]; r.Satisfaction == nil || *r.Satisfaction != 0.5 {
			t.Errorf("%s: community 1 satisfaction %v, want 0.5", p, r.Satisfaction)
		}
		if r := com["110101001002"]; r.Satisfaction == nil || *r.Satisfaction != 1 {
			t.Errorf("%s: community 2 satisfaction %v, want 1", p, r.Satisfaction)
		}
		dep := evaluation(t, ts, tok["viewer"], "by=department&"+p)
		if r := dep[depA]; r.Satisfaction == nil || !near(r.Satisfaction, 2.0/3) {
			t.Errorf("%s: depA satisfaction %v, want 2/3", p, r.Satisfaction)
		}
		grid := evaluation(t, ts, tok["viewer"], "by=grid&"+p)
		if r := grid["110101001001002"]; r.Satisfaction == nil || *r.Satisfaction != 0 {
			t.Errorf("%s: grid 002 satisfaction %v, want 0", p, r.Satisfaction)
		}
	}
	status, _, csvBody := request(t, "GET", ts.URL+"/v1/evaluation?by=district&format=csv&"+period, tok["viewer"], "")
	lines := strings.Split(strings.TrimPrefix(csvBody, "\ufeff"), "\r\n")
	if status != 200 || len(lines) < 2 || !strings.Contains(lines[0], ",rated,satisfied,satisfaction,") ||
		!strings.Contains(lines[1], ",3,2,0.6667,") {
		t.Errorf("csv: %d %q", status, lines)
	}
	checkRollup(t, st.Pool())
}
