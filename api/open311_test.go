package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gridd/grids"
	"gridd/grids/catalog"
)

// open311Dir holds the npm Open311 client (make test-deps runs npm ci
// there) and the script that drives it.
const open311Dir = "../testdata/open311"

// open311Client finds node and the installed client, or skips the test;
// under CI it fails instead.
func open311Client(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(open311Dir, "node_modules", "open311", "open311.js")); err != nil {
			missing = "the npm Open311 client is not installed in testdata/open311 (npm ci --no-audit --no-fund there)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s (make test-deps installs it)", missing)
		}
		t.Skipf("%s (make test-deps installs it)", missing)
	}
	return node
}

// open311Result is what the client's callback got for one operation.
type open311Result struct {
	Op   string
	Err  json.RawMessage
	Data json.RawMessage
}

// failed reports whether the client called back with an error (false and
// null are success).
func (r open311Result) failed() bool {
	e := strings.TrimSpace(string(r.Err))
	return e != "" && e != "null" && e != "false"
}

// drive runs the client's operations against base, one after another, and
// returns its results.
func drive(t *testing.T, node, base, apiKey string, ops ...map[string]any) []open311Result {
	t.Helper()
	js, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "drive.js", base, apiKey, string(js))
	cmd.Dir = open311Dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node drive.js: %v\n%s", err, stderr.String())
	}
	var res []open311Result
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(ops) {
		t.Fatalf("node drive.js printed %d results for %d operations (%v):\n%s\n%s", len(res), len(ops), err, out, stderr.String())
	}
	return res
}

// open311Svc and open311Req are the client's data as it hands them over.
type open311Svc struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string
	Metadata    *bool
	Type        string
	Keywords    string
	Group       string
}

type open311Req struct {
	ServiceRequestID  string `json:"service_request_id"`
	Status            string
	StatusNotes       string `json:"status_notes"`
	ServiceName       string `json:"service_name"`
	ServiceCode       string `json:"service_code"`
	Description       string
	AgencyResponsible string `json:"agency_responsible"`
	ServiceNotice     string `json:"service_notice"`
	RequestedDatetime string `json:"requested_datetime"`
	UpdatedDatetime   string `json:"updated_datetime"`
	Address           string
	AddressID         string `json:"address_id"`
	Lat, Long         float64
}

func decodeAs[T any](t *testing.T, r open311Result) T {
	t.Helper()
	var v T
	if r.failed() {
		t.Fatalf("%s failed: %s %s", r.Op, r.Err, r.Data)
	}
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("%s: %v: %s", r.Op, err, r.Data)
	}
	return v
}

// The npm Open311 client (open311@0.0.12, as 311 apps use it) against a
// gridd server on PostGIS: it lists the catalogue as services, posts a
// request that becomes a case at the right grid with the routed
// department, reads it back open, and after the loop (file, dispatch,
// handle, verify, close through the native API) closed with the closing
// note; a bad api_key and a point outside every grid fail through the
// client with Open311's errors, and nothing is stored for them.
func TestOpen311Client(t *testing.T) {
	node := open311Client(t)
	ts, st, tok := caseServer(t)
	ctx := context.Background()
	pool := st.Pool()
	const code = "gb2026-matter-06010"
	report := map[string]any{"service_code": code, "lat": 39.9005, "long": 116.4005, "description": "井盖缺失",
		"address_string": "东华门大街1号", "email": "someone@example.com", "first_name": "Zhang", "last_name": "San",
		"phone": "13800000000", "media_url": "http://example.com/p.jpg", "attributes": map[string]any{"depth": 3}}
	with := func(m map[string]any, k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	res := drive(t, node, ts.URL, tok["reporter"],
		map[string]any{"op": "serviceList"},
		map[string]any{"op": "serviceDefinition", "code": code},
		map[string]any{"op": "serviceDefinition", "code": "06010"},
		map[string]any{"op": "submitRequest", "data": report},
		map[string]any{"op": "submitRequest", "data": report, "apiKey": "not-a-gridd-token"},
		map[string]any{"op": "submitRequest", "data": report, "apiKey": tok["viewer"]},
		map[string]any{"op": "submitRequest", "data": with(with(report, "lat", 39.5), "long", 116.0)},
		map[string]any{"op": "submitRequest", "data": with(report, "lat", nil)},
		map[string]any{"op": "submitRequest", "data": with(report, "service_code", "gb2026-matter-99999")},
		map[string]any{"op": "token", "id": "abc"},
	)

	// The services are the catalogue's full classes, each once.
	svcs := decodeAs[[]open311Svc](t, res[0])
	if want := len(catalog.Classes()) + len(catalog.LegacyClasses()); len(svcs) != want {
		t.Errorf("%d services, want %d (every full class of both directories)", len(svcs), want)
	}
	seen := map[string]bool{}
	for _, s := range svcs {
		if seen[s.ServiceCode] {
			t.Errorf("service %s listed twice", s.ServiceCode)
		}
		seen[s.ServiceCode] = true
		if s.Type != "realtime" || s.Metadata == nil || *s.Metadata || s.ServiceName == "" || s.Group == "" {
			t.Errorf("service %+v", s)
		}
	}
	ci, _ := grids.DefaultCatalog.Lookup(grids.Class{Scheme: grids.SchemeGB2026, Kind: grids.KindMatter, Code: "06010"})
	i := slices.IndexFunc(svcs, func(s open311Svc) bool { return s.ServiceCode == code })
	if i < 0 || svcs[i].ServiceName != ci.Name || svcs[i].Group != ci.MajorName {
		t.Errorf("service %s: %+v, want name %q group %q", code, svcs, ci.Name, ci.MajorName)
	}
	if !seen["gb2026-component-01001"] || !seen["legacy-matter-0101"] || !seen["legacy-component-0101"] || seen["gb2026-matter-06"] {
		t.Error("services miss a component or legacy class, or list a major class")
	}
	def := decodeAs[struct {
		ServiceCode string `json:"service_code"`
		Attributes  []any
	}](t, res[1])
	if def.ServiceCode != code || def.Attributes == nil || len(def.Attributes) != 0 {
		t.Errorf("definition: %s", res[1].Data)
	}
	if !res[2].failed() || !strings.Contains(string(res[2].Data), "404") {
		t.Errorf("definition of an unknown code: %s %s, want the client's 404 error", res[2].Err, res[2].Data)
	}

	// The request is a case at the right grid, routed to depA, reported by
	// the api_key's token; nothing personal is kept.
	posted := decodeAs[[]struct {
		ID        string `json:"service_request_id"`
		Notice    string `json:"service_notice"`
		AccountID any    `json:"account_id"`
		Token     any    `json:"token"`
	}](t, res[3])
	if len(posted) != 1 || posted[0].ID == "" || posted[0].Notice == "" || posted[0].Token != nil || posted[0].AccountID != nil {
		t.Fatalf("submitRequest answered %s", res[3].Data)
	}
	id := posted[0].ID
	var grid, routed, state, scheme, kind, class, desc, reporter string
	err := pool.QueryRow(ctx, `SELECT grid_code, coalesce(routed_department, ''), state, scheme, kind, class, description, reporter
		FROM cases WHERE id = $1`, id).Scan(&grid, &routed, &state, &scheme, &kind, &class, &desc, &reporter)
	if err != nil {
		t.Fatalf("case %s in PostGIS: %v", id, err)
	}
	if grid != "110101001001001" || routed != depA || state != "reported" || scheme+" "+kind+" "+class != "gb2026 matter 06010" ||
		desc != "井盖缺失" || reporter != "token:reporter" {
		t.Errorf("case %s: grid %s routed %s state %s class %s %s %s description %q reporter %s", id, grid, routed, state, scheme, kind, class, desc, reporter)
	}
	var personal int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cases c WHERE c::text ~ 'example.com|Zhang|13800000000|东华门大街')
			+ (SELECT count(*) FROM reports r WHERE r::text ~ 'example.com|Zhang|13800000000|东华门大街')
			+ (SELECT count(*) FROM case_events e WHERE e::text ~ 'example.com|Zhang|13800000000|东华门大街')`).Scan(&personal); err != nil || personal != 0 {
		t.Errorf("rows keeping the reporter's personal fields: %d %v", personal, err)
	}

	// The refused requests fail through the client with Open311's errors
	// and their statuses, and open nothing.
	for _, c := range []struct {
		i      int
		status int
		words  string
	}{{4, 403, "invalid api_key"}, {5, 403, "reporter"}, {6, 404, "no unit grid"}, {7, 400, "lat"}, {8, 400, "service_code"}} {
		r := res[c.i]
		if string(r.Err) != fmt.Sprint(c.status) {
			t.Errorf("%s #%d: err %s, want %d", r.Op, c.i, r.Err, c.status)
		}
		var data string
		_ = json.Unmarshal(r.Data, &data)
		_, body, _ := strings.Cut(data, "; ")
		var errs []struct {
			Code        int
			Description string
		}
		if err := json.Unmarshal([]byte(body), &errs); err != nil || len(errs) != 1 || errs[0].Code != c.status || !strings.Contains(errs[0].Description, c.words) {
			t.Errorf("%s #%d: %q, want an Open311 error %d about %q", r.Op, c.i, data, c.status, c.words)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d cases (%v), want only the accepted request's", n, err)
	}
	if !res[9].failed() || !strings.Contains(string(res[9].Data), "404") {
		t.Errorf("token: %s %s, want the client's 404", res[9].Err, res[9].Data)
	}

	// Read back through the client: open, with the routed department.
	readBack := func(wantStatus string) open311Req {
		t.Helper()
		res := drive(t, node, ts.URL, tok["reporter"],
			map[string]any{"op": "serviceRequest", "id": id},
			map[string]any{"op": "serviceRequests", "ids": []string{id, "999999"}},
			map[string]any{"op": "serviceRequests", "filter": map[string]any{"service_code": code, "status": wantStatus,
				"start_date": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "end_date": ""}},
			map[string]any{"op": "serviceRequests", "filter": map[string]any{"status": map[string]string{"open": "closed", "closed": "open"}[wantStatus]}},
		)
		one := decodeAs[[]open311Req](t, res[0])
		if len(one) != 1 {
			t.Fatalf("serviceRequest(%s): %s", id, res[0].Data)
		}
		for _, r := range res[:3] {
			if strings.Contains(string(r.Data), "token:") || strings.Contains(string(r.Data), "reporter") {
				t.Errorf("%s names a token or reporter: %s", r.Op, r.Data)
			}
		}
		if byIDs := decodeAs[[]open311Req](t, res[1]); len(byIDs) != 1 || byIDs[0].ServiceRequestID != id {
			t.Errorf("serviceRequests([%s, 999999]): %s", id, res[1].Data)
		}
		if filtered := decodeAs[[]open311Req](t, res[2]); len(filtered) != 1 || filtered[0].ServiceRequestID != id {
			t.Errorf("serviceRequests(status %s, service_code, start_date): %s", wantStatus, res[2].Data)
		}
		if other := decodeAs[[]open311Req](t, res[3]); slices.ContainsFunc(other, func(r open311Req) bool { return r.ServiceRequestID == id }) {
			t.Errorf("serviceRequests(the other status) lists %s: %s", id, res[3].Data)
		}
		return one[0]
	}
	r := readBack("open")
	if r.Status != "open" || r.AgencyResponsible != "东城区环卫中心" || r.ServiceCode != code || r.ServiceName != ci.Name ||
		r.Description != "井盖缺失" || r.AddressID != "110101001001001" || !strings.HasSuffix(r.Address, "多福巷社区") ||
		r.Lat != 39.9005 || r.Long != 116.4005 || r.RequestedDatetime == "" || r.UpdatedDatetime == "" {
		t.Errorf("read back open: %+v", r)
	}

	// The loop through the native API, each step by its role.
	var cid int64
	fmt.Sscan(id, &cid)
	step(t, ts, tok["dispatcher"], cid, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], cid, `{"step":"dispatch"}`, 200)
	step(t, ts, tok["depA"], cid, `{"step":"handle","note":"已加盖"}`, 200)
	step(t, ts, tok["supervisor"], cid, `{"step":"verify"}`, 200)
	step(t, ts, tok["dispatcher"], cid, `{"step":"close","note":"核查通过，井盖已复位"}`, 200)
	r = readBack("closed")
	if r.Status != "closed" || r.StatusNotes != "核查通过，井盖已复位" || r.AgencyResponsible != "东城区环卫中心" || r.UpdatedDatetime < r.RequestedDatetime {
		t.Errorf("read back closed: %+v", r)
	}

	// A rejected request is closed, with why.
	other := openCase(t, ts, tok["reporter"], `{"lon":116.4035,"lat":39.9035,"class":"06010","description":"院内垃圾"}`)
	step(t, ts, tok["dispatcher"], other.ID, `{"step":"reject","reject_kind":"out_of_scope","reason":"私人院落"}`, 200)
	res = drive(t, node, ts.URL, tok["reporter"], map[string]any{"op": "serviceRequest", "id": fmt.Sprint(other.ID)})
	if rj := decodeAs[[]open311Req](t, res[0]); len(rj) != 1 || rj[0].Status != "closed" || !strings.Contains(rj[0].StatusNotes, "私人院落") {
		t.Errorf("rejected request: %s", res[0].Data)
	}
}

// Open311's answers outside the client's view: the POST's error bodies are
// Open311's array with the status (the reads' are gridd's, with Open311's
// statuses); the api_key may also come as the Authorization header;
// services.xml; empty parameters are absent; bad filters are 400.
func TestOpen311HTTP(t *testing.T) {
	ts, _, tok := caseServer(t)
	base := ts.URL + "/open311/v2/"
	form := func(key string, v url.Values, header string) (int, string) {
		t.Helper()
		if key != "" {
			v.Set("api_key", key)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"requests.json", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set("Authorization", "Bearer "+header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	ok := url.Values{"service_code": {"gb2026-matter-06010"}, "lat": {"39.9005"}, "long": {"116.4005"}}
	if status, body := form("", ok, ""); status != 401 || !strings.HasPrefix(body, `[{"code":401,"description":"api_key is required`) {
		t.Errorf("no api_key: %d %s", status, body)
	}
	if status, body := form("", ok, tok["supervisor"]); status != 201 || !strings.Contains(body, `"service_request_id"`) {
		t.Errorf("token in the Authorization header: %d %s", status, body)
	}
	if status, body := form(tok["reporter"], url.Values{"lat": {"x"}, "long": {"1"}, "service_code": {"gb2026-matter-06010"}}, ""); status != 400 || !strings.HasPrefix(body, `[{"code":400,`) {
		t.Errorf("lat not a number: %d %s", status, body)
	}
	if status, body := form(tok["reporter"], url.Values{"lat": {"95"}, "long": {"116.4"}, "service_code": {"gb2026-matter-06010"}}, ""); status != 400 {
		t.Errorf("lat out of range: %d %s", status, body)
	}
	for path, want := range map[string]string{
		"services/06010.json":                  `{"error":{"code":"not_found","message":"no service \"06010\"`,
		"services/gb2026-matter-06.json":       `{"error":{"code":"not_found",`,
		"requests/999999.json":                 `{"error":{"code":"not_found","message":"no request 999999"`,
		"requests/x.json":                      `{"error":{"code":"not_found",`,
		"tokens/abc.json":                      `{"error":{"code":"not_found","message":"gridd issues no tokens`,
		"requests.json?status=pending":         `{"error":{"code":"invalid",`,
		"requests.json?service_code=06010":     `{"error":{"code":"invalid",`,
		"requests.json?start_date=yesterday":   `{"error":{"code":"invalid",`,
		"requests.json?service_request_id=1,x": `{"error":{"code":"invalid",`,
		"requests.json?start_date=&end_date=&service_code=&status=&service_request_id=": `[{"service_request_id":`,
		"services.xml": `<?xml version="1.0" encoding="UTF-8"?>` + "\n<services><service><service_code>gb2026-component-01001</service_code>",
	} {
		status, _, body := request(t, http.MethodGet, base+path, "", "")
		if !strings.HasPrefix(body, want) {
			t.Errorf("GET %s: %d %.300s, want it to begin %s", path, status, body, want)
		}
	}
}
