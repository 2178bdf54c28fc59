package api_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"gridd/grids"
)

// The table of time limits through the API: read by a viewer, replaced
// whole by an admin only, a bad table refused with nothing changed, and a
// class's own limit setting the deadline of a stage started afterwards
// (worked out by hand on the work clock).
func TestCaseTimeLimitsTable(t *testing.T) {
	ts, st, tok := caseServer(t)
	read := func() []grids.TimeLimit {
		t.Helper()
		status, _, b := request(t, "GET", ts.URL+"/v1/case-time-limits", tok["viewer"], "")
		if status != 200 {
			t.Fatalf("GET limits: %d %s", status, b)
		}
		var body struct{ Limits []grids.TimeLimit }
		if err := json.Unmarshal([]byte(b), &body); err != nil {
			t.Fatal(err)
		}
		return body.Limits
	}
	if ls := read(); len(ls) != 10 || ls[0].Class != "" {
		t.Fatalf("the defaults: %+v, want 10 rows with no class", ls)
	}
	f, err := os.Open("../testdata/dongcheng/time_limits.csv")
	if err != nil {
		t.Fatal(err)
	}
	table, err := grids.ParseTimeLimitsCSV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"limits": table})
	if status, _, b := request(t, "PUT", ts.URL+"/v1/case-time-limits", tok["dispatcher"], string(body)); status != 403 {
		t.Errorf("a dispatcher replacing the limits: %d %s, want 403", status, b)
	}
	// No default for urgent handling: refused, the table as it was.
	var partial []grids.TimeLimit
	for _, l := range table {
		if !(l.Class == "" && l.Urgency == "urgent" && l.Stage == "handle") {
			partial = append(partial, l)
		}
	}
	bad, _ := json.Marshal(map[string]any{"limits": partial})
	if status, _, b := request(t, "PUT", ts.URL+"/v1/case-time-limits", tok["admin"], string(bad)); status != 400 || !strings.Contains(b, "no default for urgent cases' handle stage") {
		t.Errorf("a table without a default: %d %s, want 400 naming it", status, b)
	}
	if ls := read(); len(ls) != 10 {
		t.Errorf("after a refused table: %d limits, want the 10 defaults", len(ls))
	}
	if status, _, b := request(t, "PUT", ts.URL+"/v1/case-time-limits", tok["admin"], string(body)); status != 200 {
		t.Fatalf("PUT the demo's table: %d %s", status, b)
	}
	if ls := read(); len(ls) != len(table) {
		t.Errorf("after the demo's table: %d limits, want %d", len(ls), len(table))
	}

	// Dispatched Monday 2 March 2026 at 09:00: exposed rubbish (06010) is
	// handled within 2 work hours (11:00); a 07001 case takes the default
	// of 1 work day (Tuesday 09:00).
	clk := &testClock{}
	st.SetCaseClock(clk.now)
	clk.set(at("2026-03-02 09:00"))
	for _, c := range []struct{ class, limit, deadline string }{
		{"06010", "2wh", "2026-03-02 11:00"}, {"07001", "1wd", "2026-03-03 09:00"},
	} {
		id := openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"`+c.class+`"}`).ID
		step(t, ts, tok["dispatcher"], id, `{"step":"file"}`, 200)
		step(t, ts, tok["dispatcher"], id, `{"step":"dispatch","department":"`+depA+`","reason":"市容"}`, 200)
		got := caseClock(t, ts.URL, tok["viewer"], id)
		if got.TimeLimit != c.limit || got.Deadline == nil || !got.Deadline.Equal(at(c.deadline)) {
			t.Errorf("class %s dispatched at 09:00: limit %q deadline %v, want %s until %s", c.class, got.TimeLimit, got.Deadline, c.limit, c.deadline)
		}
	}
}
