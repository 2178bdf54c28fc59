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
