package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gridd/api"
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
	duties := grids.NewDuties(st, slog.New(slog.DiscardHandler))
	go duties.Run(ctx) //nolint:errcheck // ends with ctx
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
