package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// newComponentServer serves a database holding smallHierarchy and two unit
// grids of community 110101001007, written with plain SQL.
func newComponentServer(t *testing.T) *httptest.Server {
	ts, _ := newComponentServerToken(t)
	return ts
}

// newComponentServerToken also returns an editor token, whose name the
// history records as token:tester.
func newComponentServerToken(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	feats, rejected, err := grids.ParseDivisions([]byte(smallHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	ctx := context.Background()
	if _, err := st.ImportDivisions(ctx, feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(g::geography) FROM (VALUES
		  ('110101001007001', ST_MakeEnvelope(116.40, 39.90, 116.41, 39.92, 4326)),
		  ('110101001007002', ST_MakeEnvelope(116.41, 39.90, 116.42, 39.92, 4326))) AS v(code, g)`)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(ctx, "tester", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Divisions: st, Classes: st, Components: st, Tokens: st, Version: "test"})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, tok
}

func do(t *testing.T, tok, method, url, body string) (int, string) {
	t.Helper()
	status, _, b := request(t, method, url, tok, body)
	return status, b
}

func TestServerClasses(t *testing.T) {
	ts := newComponentServer(t)
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"component class", "/v1/classes/01001", 200, []string{`"name":"供水井盖"`, `"kind":"component"`}},
		{"matter class", "/v1/classes/06010?kind=matter", 200, []string{`"name":"暴露垃圾"`}},
		{"legacy component with crosswalk", "/v1/classes/0101", 200, []string{`"name":"上水井盖"`, `"new_code":"01001"`, `"how":"renamed"`, `"name":"供水井盖"`}},
		{"legacy event is another class", "/v1/classes/0102?kind=event", 200, []string{`"name":"暴露垃圾"`, `"new_code":"06010"`}},
		{"major filter", "/v1/classes?kind=component&major=03", 200, []string{`"code":"03005"`, `"name":"垃圾箱"`}},
		{"unknown", "/v1/classes/01016", 404, []string{`"not_found"`}},
		{"bad code", "/v1/classes/1", 400, []string{`"invalid"`}},
		{"bad kind", "/v1/classes?kind=thing", 400, []string{"unknown class kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, ts.URL+tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s: %.400s", w, body)
				}
			}
		})
	}
	_, body := get(t, ts.URL+"/v1/classes?kind=component&major=03")
	var out struct{ Classes []struct{ Code string } }
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Classes) != 16 {
		t.Errorf("major 03 has %d component classes, want 16 (%v)", len(out.Classes), err)
	}
}

func TestServerComponents(t *testing.T) {
	ts, tok := newComponentServerToken(t)
	lamp := `{"type":"Feature","properties":{"class_code":"01037","name":"路灯","status":"intact"},"geometry":{"type":"Point","coordinates":[116.405,39.91]}}`
	status, body := do(t, tok, "POST", ts.URL+"/v1/components", lamp)
	if status != 201 || !strings.Contains(body, `"code":"11010101037000001"`) || !strings.Contains(body, `"grid_code":"110101001007001"`) ||
		!strings.Contains(body, `"community_name":"南池子社区"`) {
		t.Fatalf("create: %d %s", status, body)
	}
	// On the shared edge the smaller code owns it.
	status, body = do(t, tok, "POST", ts.URL+"/v1/components", strings.Replace(lamp, "116.405", "116.41", 1))
	if status != 201 || !strings.Contains(body, `"grid_code":"110101001007001"`) {
		t.Fatalf("create on the edge: %d %s", status, body)
	}
	// GCJ-02 input is converted: GCJ-02 116.4145 is WGS-84 116.4083, in the
	// west grid, where the raw number would fall in the east one.
	status, body = do(t, tok, "POST", ts.URL+"/v1/components?crs=gcj02", strings.Replace(lamp, "116.405", "116.4145", 1))
	if status != 201 || !strings.Contains(body, `"grid_code":"110101001007001"`) {
		t.Fatalf("create in gcj02: %d %s", status, body)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"get", "GET", "/v1/components/11010101037000001", "", 200, []string{`"type":"Feature"`, `"class_name":"路灯"`}},
		{"missing", "GET", "/v1/components/11010101037000099", "", 404, []string{"not_found"}},
		{"search by prefix", "GET", "/v1/components?code=11010101037&limit=2", "", 200, []string{`"count":2`, `"next":"11010101037000002"`}},
		{"search page 2", "GET", "/v1/components?code=11010101037&limit=2&after=11010101037000002", "", 200, []string{`"count":1`, `"next":""`}},
		{"search by grid", "GET", "/v1/components?grid=110101001007001", "", 200, []string{`"count":3`, `11010101037000003`}},
		{"search in another grid", "GET", "/v1/components?grid=110101001007002", "", 200, []string{`"count":0`}},
		{"search by community and bbox", "GET", "/v1/components?community=110101001007&bbox=116.40,39.90,116.406,39.92", "", 200, []string{`"count":1`, `11010101037000001`}},
		{"bad bbox", "GET", "/v1/components?bbox=1,2,3", "", 400, []string{"bbox"}},
		{"outside", "POST", "/v1/components", strings.Replace(lamp, "116.405", "116.5", 1), 422, []string{"outside every unit grid"}},
		{"unknown class", "POST", "/v1/components", strings.Replace(lamp, "01037", "01016", 1), 422, []string{"unknown component class 01016"}},
		{"exists", "POST", "/v1/components", strings.Replace(lamp, `"class_code"`, `"code":"11010101037000001","class_code"`, 1), 409, []string{"already exists"}},
		{"replace without If-Match", "PUT", "/v1/components/11010101037000001", strings.Replace(lamp, "intact", "damaged", 1), 428, []string{"precondition_required", "If-Match"}},
		{"replace", "PUT", "/v1/components/11010101037000001", strings.Replace(lamp, "intact", "damaged", 1), 200, []string{`"status":"damaged"`, `"version":2`}},
		{"replace missing", "PUT", "/v1/components/11010101037000077", lamp, 404, []string{"not_found"}},
		{"replace other code", "PUT", "/v1/components/11010101037000001", strings.Replace(lamp, `"class_code"`, `"code":"11010101037000002","class_code"`, 1), 400, []string{"never changes"}},
		{"history", "GET", "/v1/components/11010101037000001/history", "", 200, []string{`"action":"create"`, `"action":"update"`, `"actor":"token:tester"`, `"status":"damaged"`}},
		{"delete", "DELETE", "/v1/components/11010101037000002?reason=removed", "", 204, nil},
		{"deleted is gone", "GET", "/v1/components/11010101037000002", "", 404, nil},
		{"deleted history", "GET", "/v1/components/11010101037000002/history", "", 200, []string{`"action":"retire"`, `"reason":"removed"`}},
		{"deleted code never returns", "POST", "/v1/components", strings.Replace(lamp, `"class_code"`, `"code":"11010101037000002","class_code"`, 1), 422, []string{"deleted codes are never used again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// PUTs name the version they replace (v1), unless the
			// case is about leaving it out.
			var hdr []string
			if tt.method == "PUT" && !strings.Contains(tt.name, "without If-Match") {
				hdr = []string{"If-Match", `"v1"`}
			}
			status, _, body := client{t: t, base: ts.URL, token: tok}.do(tt.method, tt.path, tt.body, hdr...)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s: %.600s", w, body)
				}
			}
		})
	}
	// Writes need an editor token.
	if status, body := do(t, "", "DELETE", ts.URL+"/v1/components/11010101037000001", ""); status != 401 {
		t.Fatalf("delete without a token: %d %s", status, body)
	}
	// The same class at exactly the same place is the same component.
	status, body = do(t, tok, "POST", ts.URL+"/v1/components", lamp)
	if status != 409 || !strings.Contains(body, "11010101037000001 already exists") {
		t.Fatalf("create a duplicate: %d %s", status, body)
	}
	// A new component after the delete gets a fresh number.
	status, body = do(t, tok, "POST", ts.URL+"/v1/components", strings.Replace(lamp, "39.91", "39.911", 1))
	if status != 201 || !strings.Contains(body, `"code":"11010101037000004"`) {
		t.Fatalf("create after delete: %d %s", status, body)
	}
}
