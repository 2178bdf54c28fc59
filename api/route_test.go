package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
)

// routeServer serves lookups, routing and routing management on lookupDB.
func routeServer(t *testing.T) (*httptest.Server, *pgxpool.Pool) {
	t.Helper()
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	loc := runningLocator(t, st)
	srv := api.New(api.Config{Lookup: loc, RoutingAdmin: st, Tokens: st,
		Router: &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog}})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tok, err := st.CreateToken(context.Background(), "tester", grids.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tokens[ts.URL] = tok
	return ts, pool
}

// tokens holds each test server's admin token, which send uses.
var tokens = map[string]string{}

func send(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	tok := ""
	for base, bt := range tokens {
		if strings.HasPrefix(url, base) {
			tok = bt
		}
	}
	status, _, b := request(t, method, url, tok, body)
	return status, b
}

type routed struct {
	ReportID   int64 `json:"report_id"`
	Grid       struct{ Code string }
	Department *struct{ Code, Name string }
	DecidedBy  string `json:"decided_by"`
	Rule       *struct{ ID int64 }
	Reason     string
}

func route(t *testing.T, ts *httptest.Server, body string) routed {
	t.Helper()
	status, b := send(t, "POST", ts.URL+"/v1/route", body)
	if status != 200 {
		t.Fatalf("route %s: %d %s", body, status, b)
	}
	var r routed
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

const (
	depEverywhere = "111101010000000001"
	depExact      = "111101010000000002"
	depPriority   = "111101010000000003"
	depDistrict   = "111101010000000004"
	depStreet     = "111101010000000005"
	depCommunity  = "111101010000000006"
	depMgmt       = "111101010000000007"
	depGrid       = "111101010000000008"
	depStreetOff  = "111101010000000009"
	depCommOff    = "11110101000000001A"
	depWater      = "12110101MB1234567X"
	depLegacy     = "11110101000000002B"
)

func putDept(t *testing.T, ts *httptest.Server, code, name, territory string) {
	t.Helper()
	status, b := send(t, "PUT", ts.URL+"/v1/departments/"+code, fmt.Sprintf(`{"name":%q,"territory_code":%q}`, name, territory))
	if status != 201 && status != 200 {
		t.Fatalf("put department %s: %d %s", code, status, b)
	}
}

func addRule(t *testing.T, ts *httptest.Server, body string) int64 {
	t.Helper()
	status, b := send(t, "POST", ts.URL+"/v1/routing/rules", body)
	if status != 201 {
		t.Fatalf("add rule %s: %d %s", body, status, b)
	}
	var r struct{ ID int64 }
	json.Unmarshal([]byte(b), &r) //nolint:errcheck
	return r.ID
}

func TestRoutePrecedence(t *testing.T) {
	ts, pool := routeServer(t)
	for code, name := range map[string]string{depEverywhere: "全区通用", depExact: "环卫中心", depPriority: "城管执法局",
		depDistrict: "区市政市容委", depStreet: "街道城管科", depCommunity: "社区工作站", depMgmt: "网格一站", depGrid: "网格专班"} {
		putDept(t, ts, code, name, "")
	}
	// Grid 001 is in management grid DHM-01; grid 050 is not.
	const inMgmt = `{"lon":116.4005,"lat":39.9005,"class":"06010"}`
	const plain = `{"lon":116.4095,"lat":39.9045,"class":"06010"}`
	check := func(step, body, wantDep, wantBy, reasonHas string) routed {
		t.Helper()
		r := route(t, ts, body)
		got := ""
		if r.Department != nil {
			got = r.Department.Code
		}
		if got != wantDep || r.DecidedBy != wantBy || !strings.Contains(r.Reason, reasonHas) {
			t.Errorf("%s: department %q decided by %s (%s); want %q by %s, reason containing %q", step, got, r.DecidedBy, r.Reason, wantDep, wantBy, reasonHas)
		}
		return r
	}

	r := check("no rule, no office", inMgmt, "", grids.DecidedByNone, "NO DEPARTMENT")
	putDept(t, ts, depStreetOff, "东华门街道办事处", "110101001")
	check("street office", inMgmt, depStreetOff, grids.DecidedByTerritorial, "street 110101001")
	putDept(t, ts, depCommOff, "多福巷社区居委会", "110101001001")
	check("community office before street office", inMgmt, depCommOff, grids.DecidedByTerritorial, "community 110101001001")

	addRule(t, ts, `{"class":"06","kind":"matter","scope":"*","department":"`+depEverywhere+`"}`)
	check("major wildcard everywhere", inMgmt, depEverywhere, grids.DecidedByRule, "the only matching rule")
	addRule(t, ts, `{"class":"06010","kind":"matter","scope":"*","department":"`+depExact+`"}`)
	check("exact class over major", inMgmt, depExact, grids.DecidedByRule, "exact class beats the major-class wildcard")
	addRule(t, ts, `{"class":"06","kind":"matter","scope":"*","department":"`+depPriority+`","priority":5}`)
	check("priority over exactness", inMgmt, depPriority, grids.DecidedByRule, "higher priority (5 over 0)")
	addRule(t, ts, `{"class":"06","kind":"matter","scope":"110101","department":"`+depDistrict+`"}`)
	check("district over everywhere", inMgmt, depDistrict, grids.DecidedByRule, "more specific")
	addRule(t, ts, `{"class":"06010","kind":"matter","scope":"110101001","department":"`+depStreet+`"}`)
	check("street over district", inMgmt, depStreet, grids.DecidedByRule, "(street) is more specific than the next matching rule's (district")
	addRule(t, ts, `{"class":"06010","kind":"matter","scope":"110101001001","department":"`+depCommunity+`"}`)
	check("community over street", inMgmt, depCommunity, grids.DecidedByRule, "(community)")
	addRule(t, ts, `{"class":"06","kind":"matter","scope":"mgmt:DHM-01","department":"`+depMgmt+`"}`)
	check("management grid over community", inMgmt, depMgmt, grids.DecidedByRule, "management grid DHM-01")
	check("outside the management grid the community rule holds", plain, depCommunity, grids.DecidedByRule, "(community)")
	gridRule := addRule(t, ts, `{"class":"06010","kind":"matter","scope":"110101001001001","department":"`+depGrid+`"}`)
	r = check("grid over management grid", inMgmt, depGrid, grids.DecidedByRule, "grid 110101001001001")
	if r.Rule == nil || r.Rule.ID != gridRule {
		t.Errorf("rule in the answer: %+v, want id %d", r.Rule, gridRule)
	}
	// Another class is untouched by these rules: territorial fallback.
	check("other class falls back", `{"lon":116.4005,"lat":39.9005,"class":"07001"}`, depCommOff, grids.DecidedByTerritorial, "no rule for 07001")

	if status, b := send(t, "DELETE", fmt.Sprintf("%s/v1/routing/rules/%d?reason=test", ts.URL, gridRule), ""); status != 204 {
		t.Fatalf("retire rule: %d %s", status, b)
	}
	check("retired grid rule", inMgmt, depMgmt, grids.DecidedByRule, "management grid DHM-01")

	if status, b := get(t, ts.URL+"/v1/routing/rules"); status != 200 || strings.Count(b, `"id":`) != 7 || !strings.Contains(b, `"level":"mgmt","code":"DHM-01"`) {
		t.Errorf("rule list (7 current rules): %d %s", status, b)
	}
	if status, b := get(t, ts.URL+"/v1/departments"); status != 200 || !strings.Contains(b, `"territory_code":"110101001"`) || !strings.Contains(b, "网格一站") {
		t.Errorf("department list: %d %s", status, b)
	}
	if status, b := send(t, "DELETE", ts.URL+"/v1/departments/"+depMgmt, ""); status != 409 || !strings.Contains(b, "routing rule") {
		t.Errorf("retiring a department rules still use: %d %s", status, b)
	}
	if status, b := send(t, "PUT", ts.URL+"/v1/departments/12345", `{"name":"x"}`); status != 400 || !strings.Contains(b, "unified social credit code") {
		t.Errorf("bad department code: %d %s", status, b)
	}
	if status, b := send(t, "PUT", ts.URL+"/v1/departments/"+depGrid, `{"name":"x","territory_code":"110101009"}`); status != 400 || !strings.Contains(b, "territory_code") {
		t.Errorf("unknown territory: %d %s", status, b)
	}

	// The report is stored with the decision and the versions it was made on.
	var by, dep, grid string
	var gridVersion int
	var ruleID *int64
	var mapVersion int64
	err := pool.QueryRow(context.Background(), `SELECT decided_by, coalesce(department_code, ''), grid_code, grid_version, rule_id, map_version
		FROM reports WHERE id = $1`, r.ReportID).Scan(&by, &dep, &grid, &gridVersion, &ruleID, &mapVersion)
	if err != nil {
		t.Fatal(err)
	}
	if by != "rule" || dep != depGrid || grid != "110101001001001" || gridVersion != 1 || ruleID == nil || *ruleID != gridRule || mapVersion <= 0 {
		t.Errorf("stored report: %s %s %s v%d rule %v map %d", by, dep, grid, gridVersion, ruleID, mapVersion)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM history WHERE entity IN ('routing_rule', 'department') AND actor = 'token:tester'`).Scan(&n); err != nil || n != 19 {
		t.Errorf("history rows for departments and rules: %d (%v), want 19 (10 departments, 8 rules, 1 retirement)", n, err)
	}
}

func TestRouteClassesAndComponents(t *testing.T) {
	ts, pool := routeServer(t)
	// Routing stores a report: it needs a reporter token; management needs
	// an admin one.
	reporter, err := postgis.NewStore(pool).CreateToken(context.Background(), "field", grids.RoleReporter)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, token, body string
		status                    int
	}{
		{"POST", "/v1/route", "", `{"lon":116.4005,"lat":39.9005,"class":"06010"}`, 401},
		{"PUT", "/v1/departments/" + depWater, reporter, `{"name":"x"}`, 403},
		{"POST", "/v1/routing/rules", reporter, `{}`, 403},
		{"GET", "/v1/lookup?lon=116.4005&lat=39.9005", "", "", 200},
		{"GET", "/v1/routing/rules", "", "", 200},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s (with a token: %v): %d, want %d", c.method, c.path, c.token != "", resp.StatusCode, c.status)
		}
	}

	putDept(t, ts, depCommOff, "多福巷社区居委会", "110101001001")
	putDept(t, ts, depWater, "北京市自来水集团东城分公司", "")
	putDept(t, ts, depLegacy, "老系统对接组", "")

	// Legacy classes need their kind; rules for them are kept apart from the
	// new scheme's.
	addRule(t, ts, `{"class":"0102","kind":"event","scope":"*","department":"`+depLegacy+`"}`)
	r := route(t, ts, `{"lon":116.4005,"lat":39.9005,"class":"0102","kind":"event"}`)
	if r.Department == nil || r.Department.Code != depLegacy || !strings.Contains(r.Reason, "legacy matter 0102") {
		t.Errorf("legacy event 0102: %+v", r)
	}
	r = route(t, ts, `{"lon":116.4005,"lat":39.9005,"class":"0102","kind":"component"}`)
	if r.DecidedBy != grids.DecidedByTerritorial {
		t.Errorf("legacy component 0102 must not match the event rule: %+v", r)
	}
	r = route(t, ts, `{"lon":116.4005,"lat":39.9005,"class":"06010"}`)
	if r.DecidedBy != grids.DecidedByTerritorial {
		t.Errorf("new class 06010 (暴露垃圾) must not match the legacy rule for 0102: %+v", r)
	}

	for _, c := range []struct{ body, want string }{
		{`{"lon":116.4005,"lat":39.9005,"class":"0101"}`, "both component"},
		{`{"lon":116.4005,"lat":39.9005,"class":"06999"}`, "nearest valid: 06"},
		{`{"lon":116.4005,"lat":39.9005,"class":"0699","kind":"event"}`, "unknown legacy matter class"},
		{`{"lon":116.4005,"lat":39.9005,"class":"06"}`, "major class"},
		{`{"lon":116.4005,"lat":39.9005,"class":"6010x"}`, "only digits"},
		{`{"lon":39.9005,"lat":116.4005,"class":"06010"}`, "swapped"},
		{`{"lon":116.4005,"lat":39.9005,"class":"06010","crs":"mars"}`, "crs"},
	} {
		status, b := send(t, "POST", ts.URL+"/v1/route", c.body)
		if status != 400 || !strings.Contains(b, c.want) {
			t.Errorf("%s: %d %s (want 400 with %q)", c.body, status, b, c.want)
		}
	}
	if status, b := send(t, "POST", ts.URL+"/v1/route", `{"lon":116.30,"lat":39.9005,"class":"06010"}`); status != 404 || !strings.Contains(b, "outside") {
		t.Errorf("outside: %d %s", status, b)
	}
	if status, b := send(t, "POST", ts.URL+"/v1/routing/rules", `{"class":"01999","kind":"component","scope":"*","department":"`+depWater+`"}`); status != 400 || !strings.Contains(b, "nearest valid") {
		t.Errorf("rule with unknown class: %d %s", status, b)
	}
	if status, b := send(t, "POST", ts.URL+"/v1/routing/rules", `{"class":"01","kind":"component","scope":"110101009","department":"`+depWater+`"}`); status != 400 || !strings.Contains(b, "no current street") {
		t.Errorf("rule with unknown scope: %d %s", status, b)
	}

	// Component override: the census names the component's competent
	// department.
	_, err = pool.Exec(context.Background(), `INSERT INTO components (code, district_code, class_code, seq, competent_dept_code, geom)
		VALUES ('11010101001000123', '110101', '01001', 123, $1, ST_SetSRID(ST_MakePoint(116.4005, 39.9005), 4326)),
		       ('11010101001000124', '110101', '01001', 124, NULL, ST_SetSRID(ST_MakePoint(116.4005, 39.9005), 4326))`, depWater)
	if err != nil {
		t.Fatal(err)
	}
	addRule(t, ts, `{"class":"01001","kind":"component","scope":"110101001001001","department":"`+depLegacy+`"}`)
	r = route(t, ts, `{"lon":116.4005,"lat":39.9005,"class":"01001","component":"11010101001000123"}`)
	if r.DecidedBy != grids.DecidedByComponent || r.Department == nil || r.Department.Code != depWater {
		t.Errorf("component override: %+v", r)
	}
	r = route(t, ts, `{"lon":116.4005,"lat":39.9005,"class":"01001","component":"11010101001000124"}`)
	if r.DecidedBy != grids.DecidedByRule || r.Department == nil || r.Department.Code != depLegacy || !strings.Contains(r.Reason, "no competent department") {
		t.Errorf("component without a department falls to the rules: %+v", r)
	}
}
