package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/grids/postgis"
)

// A settable clock for the case time limits.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var shanghai = time.FixedZone("CST", 8*3600)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

type clockJSON struct {
	State      string
	TimeLimit  string     `json:"time_limit"`
	Deadline   *time.Time `json:"deadline"`
	Overdue    bool       `json:"overdue"`
	RemainingS *float64   `json:"remaining_s"`
}

func caseClock(t *testing.T, ts string, tok string, id int64) clockJSON {
	t.Helper()
	status, _, b := request(t, "GET", fmt.Sprintf("%s/v1/cases/%d", ts, id), tok, "")
	if status != 200 {
		t.Fatalf("get case %d: %d %s", id, status, b)
	}
	var c clockJSON
	if err := json.Unmarshal([]byte(b), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// Time limits on the work clock (08:00-12:00 and 14:00-18:00 on working
// days, the State Council's 2025 holidays: 1-8 October off, Saturday 11
// October worked), every deadline below worked out by hand: the defaults
// for every class, a class's own limit, an extension, a suspension that
// stops the clock, urgent cases on continuous hours, and overdue cases
// flagged once on the change feed.
func TestCaseTimeLimits(t *testing.T) {
	ts, st, tok := caseServer(t)
	clk := &testClock{}
	st.SetCaseClock(clk.now)
	ctx := context.Background()
	deadline := func(id int64, wantLimit, want string) {
		t.Helper()
		c := caseClock(t, ts.URL, tok["viewer"], id)
		if c.TimeLimit != wantLimit || c.Deadline == nil || !c.Deadline.Equal(at(want)) {
			t.Errorf("case %d (%s): limit %q deadline %v; want %s until %s", id, c.State, c.TimeLimit, c.Deadline, wantLimit, want)
		}
	}

	// Reported Tuesday 30 September 16:00: filing within 1 work hour.
	clk.set(at("2025-09-30 16:00"))
	id := openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"06010"}`).ID
	deadline(id, "1wh", "2025-09-30 17:00")
	// Filed at 17:30: dispatching within 1 work hour, 30 minutes that day
	// and 30 after the holiday week.
	clk.set(at("2025-09-30 17:30"))
	step(t, ts, tok["dispatcher"], id, `{"step":"file"}`, 200)
	deadline(id, "1wh", "2025-10-09 08:30")
	// Dispatched Thursday 9 October 09:00: handling within 1 work day (8
	// work hours): 3 h to noon, 4 h in the afternoon, 1 h on Friday.
	clk.set(at("2025-10-09 09:00"))
	step(t, ts, tok["dispatcher"], id, `{"step":"dispatch"}`, 200)
	deadline(id, "1wd", "2025-10-10 09:00")
	c := caseClock(t, ts.URL, tok["viewer"], id)
	if c.Overdue || c.RemainingS == nil || *c.RemainingS != 8*3600 {
		t.Errorf("just dispatched: overdue %v, remaining %v s; want 28800", c.Overdue, c.RemainingS)
	}
	// Suspended at 10:00 with 7 work hours left; resumed Friday 16:00: 2 h
	// that day, 5 on Saturday 11 October (a working day: 调休).
	clk.set(at("2025-10-09 10:00"))
	step(t, ts, tok["dispatcher"], id, `{"step":"suspend","reason":"等待产权单位"}`, 200)
	clk.set(at("2025-10-10 16:00"))
	if c := caseClock(t, ts.URL, tok["viewer"], id); c.Overdue || c.RemainingS == nil || *c.RemainingS != 7*3600 {
		t.Errorf("suspended: overdue %v, remaining %v s; want 25200 (the clock stands still)", c.Overdue, c.RemainingS)
	}
	step(t, ts, tok["dispatcher"], id, `{"step":"resume"}`, 200)
	deadline(id, "1wd", "2025-10-11 15:00")
	// Extended by 2 work hours: to 17:00.
	step(t, ts, tok["dispatcher"], id, `{"step":"extend","reason":"配件","hours":2}`, 200)
	deadline(id, "1wd", "2025-10-11 17:00")

	// Overdue: a minute past the deadline it says so, and the next round
	// of flagging announces it once on the change feed.
	conn, err := pgx.Connect(ctx, st.Pool().Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN gridd_changes"); err != nil {
		t.Fatal(err)
	}
	clk.set(at("2025-10-11 17:01"))
	c = caseClock(t, ts.URL, tok["viewer"], id)
	if !c.Overdue || c.RemainingS == nil || *c.RemainingS != -60 {
		t.Errorf("a minute late: overdue %v, remaining %v s; want -60", c.Overdue, c.RemainingS)
	}
	ids, err := st.FlagOverdue(ctx)
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("flag overdue: %v %v, want [%d]", ids, err, id)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(wctx)
	if err != nil {
		t.Fatalf("no notification of the overdue case: %v", err)
	}
	var msg struct {
		Table, Op string
		ID        int64
	}
	if err := json.Unmarshal([]byte(n.Payload), &msg); err != nil || msg.Table != "cases" || msg.Op != "OVERDUE" || msg.ID != id {
		t.Errorf("notification %s (%v)", n.Payload, err)
	}
	if ids, err := st.FlagOverdue(ctx); err != nil || len(ids) != 0 {
		t.Errorf("flagged again: %v %v", ids, err)
	}
	// Handled late, Saturday 17:45: the on-site check has 0.5 work hours,
	// 15 minutes that day and 15 on Monday (Sunday 12 October is off).
	clk.set(at("2025-10-11 17:45"))
	step(t, ts, tok["depA"], id, `{"step":"handle","note":"已处置"}`, 200)
	deadline(id, "0.5wh", "2025-10-13 08:15")
	if c := caseClock(t, ts.URL, tok["viewer"], id); c.Overdue {
		t.Errorf("a new stage is not overdue")
	}

	// Urgent: 4 continuous hours to handle, holiday or not.
	clk.set(at("2025-10-01 10:00"))
	u := openCase(t, ts, tok["reporter"], `{"lon":116.4035,"lat":39.9035,"class":"06010","urgency":"urgent"}`).ID
	deadline(u, "30m", "2025-10-01 10:30")
	step(t, ts, tok["dispatcher"], u, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], u, `{"step":"dispatch"}`, 200)
	deadline(u, "4h", "2025-10-01 14:00")

	// A class's own limit beats its major class's, which beats the default.
	setLimit(t, st, "06", "4wd")
	setLimit(t, st, "06010", "4wh")
	clk.set(at("2025-10-09 09:00"))
	k := openCase(t, ts, tok["reporter"], `{"lon":116.4065,"lat":39.9065,"class":"06010"}`).ID
	step(t, ts, tok["dispatcher"], k, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], k, `{"step":"dispatch"}`, 200)
	deadline(k, "4wh", "2025-10-09 15:00")
	m := openCase(t, ts, tok["reporter"], `{"lon":116.4065,"lat":39.9065,"class":"06011"}`).ID
	step(t, ts, tok["dispatcher"], m, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], m, `{"step":"dispatch","department":"`+depA+`","reason":"同类"}`, 200)
	deadline(m, "4wd", "2025-10-14 09:00") // 32 work hours: Thu 7, Fri 8, Sat 8, Mon 8, Tue 1
}

func setLimit(t *testing.T, st *postgis.Store, class, limit string) {
	t.Helper()
	_, err := st.Pool().Exec(context.Background(), `INSERT INTO case_time_limits (scheme, kind, class, urgency, stage, time_limit)
		VALUES ('gb2026', 'matter', $1, 'normal', 'handle', $2)`, class, limit)
	if err != nil {
		t.Fatal(err)
	}
}

// A year's calendar imported into the database replaces the one gridd
// carries for that year, all or nothing, and the work clock counts it.
func TestWorkCalendarImport(t *testing.T) {
	_, st, _ := caseServer(t)
	ctx := context.Background()
	// 2027 is not built in: weekends only. Friday 1 January 2027 works.
	cal, err := st.WorkCalendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newYear := at("2027-01-01 10:00")
	if cal.Covers(2027) || !cal.IsWorkingDay(newYear) {
		t.Fatalf("2027 before the import: covered %v, 1 January working %v", cal.Covers(2027), cal.IsWorkingDay(newYear))
	}
	bad := "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-04,workday,x\n" // a Monday cannot be an adjusted working day
	if _, _, err := st.ImportWorkCalendar(ctx, strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad calendar: %v, want the line named", err)
	}
	if cal, _ := st.WorkCalendar(ctx); cal.Covers(2027) {
		t.Error("a refused calendar was stored")
	}
	good := "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n"
	year, n, err := st.ImportWorkCalendar(ctx, strings.NewReader(good))
	if err != nil || year != 2027 || n != 3 {
		t.Fatalf("import: %d %d %v", year, n, err)
	}
	cal, err = st.WorkCalendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cal.Covers(2027) || cal.IsWorkingDay(newYear) {
		t.Errorf("after the import: covered %v, 1 January working %v", cal.Covers(2027), cal.IsWorkingDay(newYear))
	}
	// 2025 as built in is untouched.
	if cal.IsWorkingDay(at("2025-10-03 10:00")) || !cal.IsWorkingDay(at("2025-10-11 10:00")) {
		t.Error("the built-in 2025 calendar changed")
	}
}
