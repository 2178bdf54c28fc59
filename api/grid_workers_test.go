package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// POST /v1/route and GET /v1/lookup name the grid workers on duty at the
// point's management grids, and say so when there is none. Who is on duty
// is held in memory (grids.Duties, as gridd serve has it) and follows
// assignments and ended duties through the change log.
func TestRouteNamesGridWorkers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	loc := runningLocator(t, st)
	duties := runningDuties(t, st)
	ts := httptest.NewServer(api.New(api.Config{Lookup: loc, Tokens: st, Workers: duties,
		Router: &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog, Workers: duties}}).Handler())
	t.Cleanup(ts.Close)
	tok, err := st.CreateToken(ctx, "tester", grids.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tokens[ts.URL] = tok

	w, err := st.AddWorker(ctx, grids.GridWorker{Name: "王芳", Phone: "13800000001"}, "tester", "hired")
	if err != nil {
		t.Fatal(err)
	}
	duty, err := st.AssignDuty(ctx, grids.Duty{WorkerID: w.ID, MgmtGrid: "DHM-01", Starts: time.Now().Add(-time.Hour)}, "tester", "rota")
	if err != nil {
		t.Fatal(err)
	}

	type answer struct {
		Grid        struct{ Code string }
		GridWorkers *[]struct {
			MgmtGrid struct{ Code, Name, Kind string } `json:"mgmt_grid"`
			WorkerID int64                             `json:"worker_id"`
			Name     string
			Phone    string
			Role     string
		} `json:"grid_workers"`
		Note string `json:"grid_workers_note"`
	}
	decode := func(status int, b string) (answer, string) {
		t.Helper()
		if status != 200 {
			t.Fatalf("%d %s", status, b)
		}
		var a answer
		if err := json.Unmarshal([]byte(b), &a); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return a, b
	}
	post := func(ts *httptest.Server, body string) (answer, string) {
		t.Helper()
		return decode(send(t, "POST", ts.URL+"/v1/route", body))
	}
	// lookup is the GET /v1/lookup answer once it has n workers on duty
	// (the duty change reached the book), or after 5 s.
	lookup := func(ts *httptest.Server, lonLat string, n int) (answer, string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			a, raw := decode(send(t, "GET", ts.URL+"/v1/lookup?"+lonLat, ""))
			if a.GridWorkers != nil && len(*a.GridWorkers) == n || time.Now().After(deadline) {
				return a, raw
			}
		}
	}
	const inMgmt = `{"lon":116.4005,"lat":39.9005,"class":"06010"}` // grid 001, in DHM-01
	const plain = `{"lon":116.4095,"lat":39.9045,"class":"06010"}`  // grid 050, in none

	a, raw := lookup(ts, "lon=116.4005&lat=39.9005", 1)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 1 || a.Note != "" || a.Grid.Code == "" {
		t.Fatalf("lookup, on duty: %s", raw)
	}
	if got := (*a.GridWorkers)[0]; got.Name != "王芳" || got.MgmtGrid.Code != "DHM-01" {
		t.Errorf("lookup, worker on duty: %s", raw)
	}
	// Without a token, where lookups are open, nobody's name or number.
	if status, raw := do(t, "", "GET", ts.URL+"/v1/lookup?lon=116.4005&lat=39.9005", ""); status != 200 ||
		strings.Contains(raw, "grid_workers") || strings.Contains(raw, "王芳") || !strings.Contains(raw, "DHM-01") {
		t.Errorf("anonymous lookup: %d %s", status, raw)
	}
	a, raw = post(ts, inMgmt)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 1 || a.Note != "" {
		t.Fatalf("on duty: %s", raw)
	}
	got := (*a.GridWorkers)[0]
	if got.Name != "王芳" || got.Phone != "13800000001" || got.Role != "grid_worker" || got.WorkerID != w.ID ||
		got.MgmtGrid.Code != "DHM-01" || got.MgmtGrid.Name != "东华门一网格" {
		t.Errorf("worker on duty: %s", raw)
	}

	a, raw = post(ts, plain)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 0 || !strings.Contains(a.Note, "no grid worker on duty") ||
		!strings.Contains(a.Note, "in no management grid") || !strings.Contains(raw, `"grid_workers":[]`) {
		t.Errorf("grid in no management grid: %s", raw)
	}

	a, raw = lookup(ts, "lon=116.4095&lat=39.9045", 0)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 0 || !strings.Contains(a.Note, "in no management grid") {
		t.Errorf("lookup, grid in no management grid: %s", raw)
	}

	if _, err := st.EndDuty(ctx, duty.ID, time.Now().Add(-time.Minute), "tester", "left"); err != nil {
		t.Fatal(err)
	}
	a, raw = lookup(ts, "lon=116.4005&lat=39.9005", 0)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 0 || !strings.Contains(a.Note, "DHM-01 东华门一网格") {
		t.Errorf("lookup, duty ended: %s", raw)
	}
	a, raw = post(ts, inMgmt)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 0 || !strings.Contains(a.Note, "no grid worker on duty") ||
		!strings.Contains(a.Note, "DHM-01 东华门一网格") {
		t.Errorf("duty ended: %s", raw)
	}

	// A router without a worker directory names nobody and says nothing.
	bare := httptest.NewServer(api.New(api.Config{Lookup: loc, Tokens: st,
		Router: &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog}}).Handler())
	t.Cleanup(bare.Close)
	tokens[bare.URL] = tok
	a, raw = post(bare, inMgmt)
	if a.GridWorkers != nil || a.Note != "" {
		t.Errorf("no worker directory: %s", raw)
	}
	if a, raw = decode(send(t, "GET", bare.URL+"/v1/lookup?lon=116.4005&lat=39.9005", "")); a.GridWorkers != nil || a.Grid.Code == "" {
		t.Errorf("lookup without a worker directory: %s", raw)
	}
}

// A case answers with the grid workers on duty now where it lies: when it
// is filed, and when it is read after the duty ended.
func TestCaseNamesGridWorkers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	duties := runningDuties(t, st)
	ts, tok := serveCases(t, st, func(cfg *api.Config) {
		cfg.Workers = duties
		cfg.Router = &grids.Router{Locator: cfg.Lookup.(*grids.Locator), Store: st, Components: st, Catalog: grids.DefaultCatalog, Workers: duties}
	})
	w, err := st.AddWorker(ctx, grids.GridWorker{Name: "王芳", Phone: "13800000001"}, "tester", "hired")
	if err != nil {
		t.Fatal(err)
	}
	duty, err := st.AssignDuty(ctx, grids.Duty{WorkerID: w.ID, MgmtGrid: "DHM-01", Starts: time.Now().Add(-time.Hour)}, "tester", "rota")
	if err != nil {
		t.Fatal(err)
	}
	// The case is filed once the book holds the duty.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b := duties.Book(); b != nil && len(b.Roster([]geo.Named{{Code: "DHM-01"}}, time.Now()).Workers) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the duty did not reach the duty book in 5 s")
		}
	}
	type answer struct {
		ID          int64
		GridWorkers *[]struct {
			MgmtGrid struct{ Code, Name string } `json:"mgmt_grid"`
			Name     string
		} `json:"grid_workers"`
		Note string `json:"grid_workers_note"`
	}
	// read is the case (or files one) once it names n workers, or after 5 s.
	read := func(method, path, body string, n int) (answer, string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			status, raw := do(t, tok["reporter"], method, ts.URL+path, body)
			if status != 200 && status != 201 {
				t.Fatalf("%s %s: %d %s", method, path, status, raw)
			}
			var a answer
			if err := json.Unmarshal([]byte(raw), &a); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if a.GridWorkers != nil && len(*a.GridWorkers) == n || time.Now().After(deadline) {
				return a, raw
			}
		}
	}
	a, raw := read("POST", "/v1/cases", `{"lon":116.4005,"lat":39.9005,"class":"06010","description":"井盖破损"}`, 1)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 1 || (*a.GridWorkers)[0].Name != "王芳" ||
		(*a.GridWorkers)[0].MgmtGrid.Name != "东华门一网格" || a.Note != "" {
		t.Fatalf("case filed: %s", raw)
	}
	if _, err := st.EndDuty(ctx, duty.ID, time.Now().Add(-time.Minute), "tester", "left"); err != nil {
		t.Fatal(err)
	}
	a, raw = read("GET", "/v1/cases/"+strconv.FormatInt(a.ID, 10), "", 0)
	if a.GridWorkers == nil || len(*a.GridWorkers) != 0 || !strings.Contains(a.Note, "DHM-01 东华门一网格") {
		t.Errorf("case read after the duty ended: %s", raw)
	}
}

// runningDuties is the duty book of st, read and following st's change
// log: it returns once a change to the workers has reached the book
// through the log (its periodic refresh is off), so that later changes
// must come that way too.
func runningDuties(t *testing.T, st *postgis.Store) *grids.Duties {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := grids.NewDuties(st, slog.New(slog.DiscardHandler))
	d.Refresh = time.Hour
	go d.Run(ctx) //nolint:errcheck // ends with ctx
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		n := d.Loads()
		if n == 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if _, err := st.AddWorker(ctx, grids.GridWorker{Name: "值班测试"}, "tester", "the log reaches the duty book"); err != nil {
			t.Fatal(err)
		}
		for wait := time.Now().Add(time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
			if d.Loads() > n {
				return d
			}
		}
	}
	t.Fatal("no change to the workers reached the duty book through the change log in 10 s")
	return nil
}

// /v1/grid-workers: a dispatcher adds workers, puts them on duty and ends
// duties; a worker who leaves has their running duty ended and their later
// one cancelled; viewers read, other roles cannot change; bad input is a
// 400 naming the field, nothing stored.
func TestGridWorkerEndpoints(t *testing.T) {
	ctx := context.Background()
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	if _, err := pool.Exec(ctx, `INSERT INTO mgmt_grids (code, name, street_code) VALUES ('DHM-02', '东华门二网格', '110101001')`); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api.New(api.Config{Tokens: st, WorkerStore: st}).Handler())
	t.Cleanup(ts.Close)
	tok := map[string]string{}
	for name, role := range map[string]grids.Role{"supervisor": grids.RoleSupervisor, "viewer": grids.RoleViewer,
		"editor": grids.RoleEditor, "dispatcher": grids.RoleDispatcher} {
		var err error
		if tok[name], err = st.CreateToken(ctx, name, role); err != nil {
			t.Fatal(err)
		}
	}
	call := func(who, method, path, body string, want int) string {
		t.Helper()
		status, raw := do(t, tok[who], method, ts.URL+path, body)
		if status != want {
			t.Fatalf("%s %s %s as %s: %d %s, want %d", method, path, body, who, status, raw, want)
		}
		return raw
	}
	var w struct{ ID int64 }
	json.Unmarshal([]byte(call("dispatcher", "POST", "/v1/grid-workers", `{"name":"王芳","phone":"13800000001","reason":"hired"}`, 201)), &w) //nolint:errcheck
	if w.ID == 0 {
		t.Fatal("no worker id")
	}
	id := strconv.FormatInt(w.ID, 10)
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	var running, later struct{ ID int64 }
	json.Unmarshal([]byte(call("dispatcher", "POST", "/v1/grid-workers/"+id+"/duties", //nolint:errcheck
		`{"mgmt_grid":"DHM-01","from":"`+at(-48*time.Hour)+`"}`, 201)), &running)
	json.Unmarshal([]byte(call("dispatcher", "POST", "/v1/grid-workers/"+id+"/duties", //nolint:errcheck
		`{"mgmt_grid":"DHM-02","from":"`+at(72*time.Hour)+`","to":"`+at(96*time.Hour)+`"}`, 201)), &later)

	for _, c := range []struct{ who, method, path, body, has string }{
		{"dispatcher", "POST", "/v1/grid-workers", `{"name":"","phone":"1"}`, "name"},
		{"dispatcher", "POST", "/v1/grid-workers", `{"name":"李强","phone":"call me"}`, "not a telephone number"},
		{"dispatcher", "POST", "/v1/grid-workers/" + id + "/duties", `{"mgmt_grid":"nowhere","from":"` + at(0) + `"}`, "no current management grid nowhere"},
		{"dispatcher", "POST", "/v1/grid-workers/" + id + "/duties", `{"mgmt_grid":"DHM-01","from":"` + at(-time.Hour) + `"}`, "already has duty"},
		{"dispatcher", "POST", "/v1/grid-workers/" + id + "/duties", `{"mgmt_grid":"DHM-01"}`, "from"},
		{"dispatcher", "POST", "/v1/grid-workers/x/duties", `{"mgmt_grid":"DHM-01","from":"` + at(0) + `"}`, "not a grid worker id"},
	} {
		if raw := call(c.who, c.method, c.path, c.body, 400); !strings.Contains(raw, c.has) {
			t.Errorf("%s %s: %s; want it to name %q", c.path, c.body, raw, c.has)
		}
	}
	for _, who := range []string{"viewer", "supervisor"} {
		call(who, "POST", "/v1/grid-workers", `{"name":"赵敏"}`, 403)
		call(who, "POST", "/v1/grid-workers/"+id+"/leave", `{}`, 403)
	}
	status, _ := do(t, "", "GET", ts.URL+"/v1/grid-workers", "")
	if status != 401 {
		t.Errorf("anonymous list: %d, want 401", status)
	}
	if raw := call("viewer", "GET", "/v1/grid-workers?mgmt_grid=DHM-01", "", 200); !strings.Contains(raw, "王芳") || !strings.Contains(raw, "13800000001") {
		t.Errorf("workers of DHM-01: %s", raw)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM grid_workers`).Scan(&n) //nolint:errcheck
	if n != 1 {
		t.Errorf("%d workers stored, want 1: refused requests stored some", n)
	}

	// She leaves now: the running duty ends now, the later one is cancelled.
	call("dispatcher", "POST", "/v1/grid-workers/"+id+"/leave", `{"reason":"moved away"}`, 200)
	var ends *time.Time
	pool.QueryRow(ctx, `SELECT ends FROM grid_worker_duties WHERE id = $1`, running.ID).Scan(&ends) //nolint:errcheck
	if ends == nil || ends.Sub(now) > time.Minute || ends.Before(now) {
		t.Errorf("the running duty ends at %v, want now", ends)
	}
	var left int
	pool.QueryRow(ctx, `SELECT count(*) FROM grid_worker_duties WHERE id = $1`, later.ID).Scan(&left) //nolint:errcheck
	if left != 0 {
		t.Error("the later duty was not cancelled")
	}
	var hist string
	pool.QueryRow(ctx, `SELECT string_agg(entity || ':' || action || ':' || reason, ',' ORDER BY id) FROM history
		WHERE entity LIKE 'grid_worker%' AND reason = 'moved away'`).Scan(&hist) //nolint:errcheck
	if hist != "grid_worker:retire:moved away,grid_worker_duty:update:moved away,grid_worker_duty:retire:moved away" {
		t.Errorf("history of the leave: %q", hist)
	}
	if raw := call("viewer", "GET", "/v1/grid-workers", "", 200); strings.Contains(raw, "王芳") {
		t.Errorf("a worker who left is listed: %s", raw)
	}
	call("dispatcher", "POST", "/v1/grid-workers/"+id+"/leave", `{}`, 409)
	call("dispatcher", "POST", "/v1/grid-worker-duties/"+strconv.FormatInt(running.ID, 10)+"/end", `{}`, 409)
	if raw := call("viewer", "GET", "/v1/grid-workers/"+id+"/duties", "", 200); !strings.Contains(raw, "DHM-01") || strings.Contains(raw, "DHM-02") {
		t.Errorf("duties after leaving: %s", raw)
	}
}
