package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
)

// caseServer serves routing, cases, their photos and the evaluation on
// lookupDB (serveCases).
func caseServer(t *testing.T) (*httptest.Server, *postgis.Store, map[string]string) {
	t.Helper()
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	ts, tok := serveCases(t, st, nil)
	return ts, st, tok
}

// serveCases serves routing, cases, their photos, feed and hot spots, and the evaluation of st
// (and what extra adds to the configuration), with a token of every role:
// two departments (routing sends class 06010 to depA), a reporter, a
// supervisor, a dispatcher, an editor, a viewer and an admin.
func serveCases(t *testing.T, st *postgis.Store, extra func(*api.Config)) (*httptest.Server, map[string]string) {
	t.Helper()
	loc := runningLocator(t, st)
	cfg := api.Config{Lookup: loc, RoutingAdmin: st, Tokens: st, Cases: st, CasePhotos: st, Evaluation: st,
		Router:   &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog},
		Hotspots: st,
		CaseFeed: func(ctx context.Context, fn func(grids.Change)) error { return st.Listen(ctx, time.Second, fn) }}
	if extra != nil {
		extra(&cfg)
	}
	ts := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(ts.Close)
	ctx := context.Background()
	tok := map[string]string{}
	var err error
	for name, role := range map[string]grids.Role{"reporter": grids.RoleReporter, "supervisor": grids.RoleSupervisor,
		"dispatcher": grids.RoleDispatcher, "editor": grids.RoleEditor, "admin": grids.RoleAdmin, "viewer": grids.RoleViewer} {
		if tok[name], err = st.CreateToken(ctx, name, role); err != nil {
			t.Fatal(err)
		}
	}
	tokens[ts.URL] = tok["admin"]
	putDept(t, ts, depA, "东城区环卫中心", "")
	putDept(t, ts, depB, "东城区城管执法局", "")
	addRule(t, ts, `{"class":"06010","kind":"matter","scope":"*","department":"`+depA+`"}`)
	if tok["depA"], err = st.CreateDepartmentToken(ctx, "depA", depA); err != nil {
		t.Fatal(err)
	}
	if tok["depB"], err = st.CreateDepartmentToken(ctx, "depB", depB); err != nil {
		t.Fatal(err)
	}
	return ts, tok
}

const (
	depA = "12110101MB0000001A"
	depB = "12110101MB0000002B"
)

type caseJSON struct {
	ID         int64
	State      string
	Version    int
	Grid       string
	Community  string
	Reports    []int64
	Reworks    int
	Department *struct{ Code, Name string }
	Routed     *struct{ Code string } `json:"routed_department"`
	Duplicates []struct {
		ID        int64
		DistanceM float64 `json:"distance_m"`
	} `json:"possible_duplicates"`
	Events []struct {
		Actor, Role, Step, From, To, Reason, Note string
	}
	ExtendedHours float64 `json:"extended_hours"`
	DuplicateOf   int64   `json:"duplicate_of"`
}

func decodeCase(t *testing.T, b string) caseJSON {
	t.Helper()
	var c caseJSON
	if err := json.Unmarshal([]byte(b), &c); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return c
}

func openCase(t *testing.T, ts *httptest.Server, tok, body string) caseJSON {
	t.Helper()
	status, h, b := request(t, "POST", ts.URL+"/v1/cases", tok, body)
	if status != 201 {
		t.Fatalf("open case %s: %d %s", body, status, b)
	}
	c := decodeCase(t, b)
	if h.Get("Location") != fmt.Sprintf("/v1/cases/%d", c.ID) {
		t.Errorf("Location %q for case %d", h.Get("Location"), c.ID)
	}
	return c
}

func step(t *testing.T, ts *httptest.Server, tok string, id int64, body string, wantStatus int) caseJSON {
	t.Helper()
	status, _, b := request(t, "POST", fmt.Sprintf("%s/v1/cases/%d/steps", ts.URL, id), tok, body)
	if status != wantStatus {
		t.Fatalf("case %d step %s: %d %s, want %d", id, body, status, b, wantStatus)
	}
	if status != 200 {
		return caseJSON{}
	}
	return decodeCase(t, b)
}

// A case through the whole loop, with a failed check (rework), a
// suspension and an extension, each step by its role; the log in PostGIS
// holds every step in order.
func TestCaseLoop(t *testing.T) {
	ts, st, tok := caseServer(t)
	c := openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"06010","description":"井盖缺失","urgency":"urgent"}`)
	if c.State != "reported" || c.Grid != "110101001001001" || c.Routed == nil || c.Routed.Code != depA || c.Department != nil || len(c.Reports) != 1 {
		t.Fatalf("opened case: %+v", c)
	}
	id := c.ID
	// Refused by role before anything happens.
	step(t, ts, tok["reporter"], id, `{"step":"file"}`, 403)
	step(t, ts, tok["viewer"], id, `{"step":"file"}`, 403)
	step(t, ts, tok["editor"], id, `{"step":"file"}`, 403)
	step(t, ts, tok["supervisor"], id, `{"step":"file"}`, 403)
	step(t, ts, "", id, `{"step":"file"}`, 401)
	// Refused by state.
	step(t, ts, tok["dispatcher"], id, `{"step":"dispatch"}`, 409)

	c = step(t, ts, tok["dispatcher"], id, `{"step":"file","version":1}`, 200)
	step(t, ts, tok["dispatcher"], id, `{"step":"suspend","version":1,"reason":"x"}`, 409) // stale version
	c = step(t, ts, tok["dispatcher"], id, `{"step":"suspend","reason":"等待产权单位确认"}`, 200)
	if c.State != "suspended" {
		t.Fatalf("suspended: %+v", c)
	}
	c = step(t, ts, tok["dispatcher"], id, `{"step":"resume"}`, 200)
	if c.State != "filed" {
		t.Fatalf("resumed: %+v", c)
	}
	step(t, ts, tok["dispatcher"], id, `{"step":"dispatch","department":"`+depB+`"}`, 400) // another department needs a reason
	c = step(t, ts, tok["dispatcher"], id, `{"step":"dispatch","department":"`+depB+`","reason":"执法局负责"}`, 200)
	if c.Department == nil || c.Department.Code != depB {
		t.Fatalf("dispatched to B: %+v", c)
	}
	step(t, ts, tok["depA"], id, `{"step":"return","reason":"x"}`, 403) // not with A
	c = step(t, ts, tok["depB"], id, `{"step":"return","reason":"井盖属环卫"}`, 200)
	if c.State != "filed" || c.Department != nil {
		t.Fatalf("returned: %+v", c)
	}
	c = step(t, ts, tok["dispatcher"], id, `{"step":"dispatch"}`, 200)
	if c.State != "dispatched" || c.Department == nil || c.Department.Code != depA || c.Department.Name != "东城区环卫中心" {
		t.Fatalf("dispatched: %+v", c)
	}
	step(t, ts, tok["depB"], id, `{"step":"handle","note":"done"}`, 403) // not its case
	step(t, ts, tok["depA"], id, `{"step":"handle"}`, 400)               // what was done?
	c = step(t, ts, tok["dispatcher"], id, `{"step":"extend","reason":"配件采购","hours":8}`, 200)
	if c.ExtendedHours != 8 || c.State != "dispatched" {
		t.Fatalf("extended: %+v", c)
	}
	step(t, ts, tok["depA"], id, `{"step":"handle","note":"已加盖"}`, 200)
	step(t, ts, tok["dispatcher"], id, `{"step":"verify"}`, 403)
	c = step(t, ts, tok["supervisor"], id, `{"step":"rework","reason":"井盖未固定"}`, 200)
	if c.State != "dispatched" || c.Reworks != 1 {
		t.Fatalf("rework: %+v", c)
	}
	step(t, ts, tok["depA"], id, `{"step":"handle","note":"已固定"}`, 200)
	step(t, ts, tok["supervisor"], id, `{"step":"verify"}`, 200)
	c = step(t, ts, tok["dispatcher"], id, `{"step":"close"}`, 200)
	if c.State != "closed" || c.Version != 13 {
		t.Fatalf("closed: %+v", c)
	}
	step(t, ts, tok["admin"], id, `{"step":"file"}`, 409) // closed is final

	status, _, b := request(t, "GET", fmt.Sprintf("%s/v1/cases/%d", ts.URL, id), tok["viewer"], "")
	if status != 200 {
		t.Fatalf("get case: %d %s", status, b)
	}
	c = decodeCase(t, b)
	var steps []string
	for _, e := range c.Events {
		steps = append(steps, e.Step+":"+e.To)
	}
	want := "report:reported file:filed suspend:suspended resume:filed dispatch:dispatched return:filed dispatch:dispatched extend:dispatched handle:handled rework:dispatched handle:handled verify:verified close:closed"
	if strings.Join(steps, " ") != want {
		t.Errorf("event log:\n got %s\nwant %s", strings.Join(steps, " "), want)
	}
	if e := c.Events[9]; e.Actor != "token:supervisor" || e.Role != "supervisor" || e.Reason != "井盖未固定" || e.From != "handled" {
		t.Errorf("rework event: %+v", e)
	}
	if e := c.Events[0]; e.Actor != "token:reporter" || e.Note != "井盖缺失" {
		t.Errorf("report event: %+v", e)
	}
	// The log in PostGIS agrees, and refuses to be rewritten.
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM case_events WHERE case_id = $1`, id).Scan(&n); err != nil || n != 13 {
		t.Errorf("case_events rows: %d %v", n, err)
	}
	if _, err := st.Pool().Exec(context.Background(), `UPDATE case_events SET reason = 'x' WHERE case_id = $1`, id); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("updating the log: %v", err)
	}
	if _, err := st.Pool().Exec(context.Background(), `DELETE FROM case_events WHERE case_id = $1`, id); err == nil {
		t.Error("deleting the log was allowed")
	}
	// Listing by state and area.
	status, _, b = request(t, "GET", ts.URL+"/v1/cases?state=closed&area=110101001001", tok["viewer"], "")
	if status != 200 || !strings.Contains(b, fmt.Sprintf(`"id":%d`, id)) {
		t.Errorf("list closed cases in the community: %d %s", status, b)
	}
	status, _, b = request(t, "GET", ts.URL+"/v1/cases?state=open", tok["viewer"], "")
	if status != 400 || !strings.Contains(b, "unknown state") {
		t.Errorf("list by an unknown state: %d %s", status, b)
	}
	if status, _, b = request(t, "GET", ts.URL+"/v1/cases", "", ""); status != 401 {
		t.Errorf("cases without a token: %d %s", status, b)
	}
}

// A second report of the same problem nearby is offered as a duplicate of
// the open case, and rejecting it as one adds its report to that case.
func TestCaseDuplicates(t *testing.T) {
	ts, _, tok := caseServer(t)
	first := openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"06010","description":"井盖缺失"}`)
	second := openCase(t, ts, tok["supervisor"], `{"lon":116.40055,"lat":39.90052,"class":"06010","description":"井盖不见了"}`)
	if len(second.Duplicates) != 1 || second.Duplicates[0].ID != first.ID || second.Duplicates[0].DistanceM > 10 {
		t.Fatalf("possible duplicates of the second report: %+v", second.Duplicates)
	}
	other := openCase(t, ts, tok["reporter"], `{"lon":116.40055,"lat":39.90052,"class":"07001"}`)
	far := openCase(t, ts, tok["reporter"], `{"lon":116.4085,"lat":39.9085,"class":"06010"}`)
	if len(other.Duplicates) != 0 || len(far.Duplicates) != 0 {
		t.Errorf("another class or a place 1 km away offered as duplicates: %+v %+v", other.Duplicates, far.Duplicates)
	}
	step(t, ts, tok["dispatcher"], second.ID, fmt.Sprintf(`{"step":"reject","reject_kind":"duplicate","duplicate_of":%d}`, second.ID+1000), 400)
	c := step(t, ts, tok["dispatcher"], second.ID, fmt.Sprintf(`{"step":"reject","reject_kind":"duplicate","duplicate_of":%d}`, first.ID), 200)
	if c.State != "rejected" || c.DuplicateOf != first.ID {
		t.Fatalf("rejected as a duplicate: %+v", c)
	}
	status, _, b := request(t, "GET", fmt.Sprintf("%s/v1/cases/%d", ts.URL, first.ID), tok["viewer"], "")
	if status != 200 || len(decodeCase(t, b).Reports) != 2 {
		t.Errorf("the first case's reports after the merge: %d %s", status, b)
	}
}

// Two steps on one case at once: one wins, the other is refused with 409,
// and the log holds one of them.
func TestCaseConcurrentSteps(t *testing.T) {
	ts, st, tok := caseServer(t)
	for round := 0; round < 5; round++ {
		c := openCase(t, ts, tok["reporter"], `{"lon":116.4035,"lat":39.9035,"class":"06010"}`)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, body := range []string{`{"step":"file"}`, `{"step":"reject","reject_kind":"out_of_scope","reason":"私人院落"}`} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _, _ = request(t, "POST", fmt.Sprintf("%s/v1/cases/%d/steps", ts.URL, c.ID), tok["dispatcher"], body)
			}()
		}
		wg.Wait()
		if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
			t.Errorf("round %d: statuses %v, want one 200 and one 409", round, statuses)
		}
		var n int
		if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM case_events WHERE case_id = $1 AND step <> 'report'`, c.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("round %d: %d steps logged (%v), want 1", round, n, err)
		}
	}
}

// Department tokens name a current department; the token CLI's checks are
// the store's.
func TestDepartmentTokens(t *testing.T) {
	_, st, _ := caseServer(t)
	ctx := context.Background()
	if _, err := st.CreateDepartmentToken(ctx, "ghost", "12110101MB0000009X"); err == nil || !strings.Contains(err.Error(), "no current department") {
		t.Errorf("token for an unknown department: %v", err)
	}
	if _, err := st.CreateToken(ctx, "nodep", grids.RoleDepartment); err == nil {
		t.Error("a department token without its department was created")
	}
	tokens, err := st.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tk := range tokens {
		found = found || (tk.Name == "depB" && tk.Role == grids.RoleDepartment && tk.Department == depB)
	}
	if !found {
		t.Errorf("depB's token not listed with its department: %+v", tokens)
	}
}
