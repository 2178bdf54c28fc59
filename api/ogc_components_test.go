package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// newOGCComponentServer serves the six editable grids of community
// 110101001007 with the components collection open to Part 4 edits, as
// gridd serve wires it.
func newOGCComponentServer(t *testing.T) (*httptest.Server, *postgis.Store) {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	ts := httptest.NewServer(api.New(api.Config{Divisions: st, Editor: st, Tokens: st, Features: st,
		Classes: st, Components: st,
		FeatureEditors: api.ComponentFeatureEditors(st)}).Handler())
	t.Cleanup(ts.Close)
	return ts, st
}

// componentRow is what the database holds for one component code.
type componentRow struct {
	Name, Status, Grid string
	Version            int
	Lon, Lat           float64
	Retired            bool
	Actions            []string // history actions, oldest first
	Actors             []string
}

func readComponentRow(t *testing.T, st *postgis.Store, code string) (componentRow, bool) {
	t.Helper()
	ctx := context.Background()
	var r componentRow
	err := st.Pool().QueryRow(ctx, `SELECT name, status, coalesce(grid_code, ''), version, ST_X(geom), ST_Y(geom), valid_to IS NOT NULL
		FROM components WHERE code = $1`, code).Scan(&r.Name, &r.Status, &r.Grid, &r.Version, &r.Lon, &r.Lat, &r.Retired)
	if err != nil {
		return r, false
	}
	rows, err := st.Pool().Query(ctx, `SELECT action, actor FROM history WHERE entity = 'component' AND code = $1 ORDER BY id`, code)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		r.Actions, r.Actors = append(r.Actions, a), append(r.Actors, b)
	}
	return r, true
}

func componentCount(t *testing.T, st *postgis.Store) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM components`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A Part 4 create, replace, update and delete round trip on components over
// plain HTTP, with bodies as QGIS sends them (a GeoJSON Feature, no
// If-Match), checking the database after each step; and the rejections
// that leave it unchanged.
func TestOGCPart4Components(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCComponentServer(t)
	tok, err := st.CreateToken(ctx, "qgis-bob", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	viewer, _ := st.CreateToken(ctx, "looker", grids.RoleViewer)
	c := client{t: t, base: ts.URL, token: tok}
	const items = "/ogc/collections/components/items"

	_, hdr, _ := c.do("OPTIONS", items, "")
	if !strings.Contains(hdr.Get("Allow"), "POST") {
		t.Errorf("OPTIONS items: Allow %q lacks POST", hdr.Get("Allow"))
	}
	_, hdr, _ = c.do("OPTIONS", items+"/11010101037000001", "")
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if !strings.Contains(hdr.Get("Allow"), m) {
			t.Errorf("OPTIONS item: Allow %q lacks %s", hdr.Get("Allow"), m)
		}
	}

	// Create: a street lamp in grid 004 (south-west); QGIS sends every
	// field of the layer, unset ones as null.
	lon, lat := eLon0+eDLon*0.5, eLat0+eDLat*0.5
	create := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},
		"properties":{"code":null,"class_code":"01037","class_name":null,"grid_code":null,"name":"路灯 A","status":"intact","version":null,"note":null}}`, lon, lat)
	if status, _, _ := (client{t: t, base: ts.URL}).do("POST", items, create); status != 401 {
		t.Errorf("anonymous create: %d, want 401", status)
	}
	if status, _, _ := (client{t: t, base: ts.URL, token: viewer}).do("POST", items, create); status != 403 {
		t.Errorf("viewer create: %d, want 403", status)
	}
	if n := componentCount(t, st); n != 0 {
		t.Fatalf("refused creates wrote %d components", n)
	}
	status, hdr, body := c.do("POST", items, create)
	const code = "11010101037000001"
	if status != 201 || hdr.Get("Location") != ts.URL+items+"/"+code {
		t.Fatalf("create: %d %q %s", status, hdr.Get("Location"), body)
	}
	row, ok := readComponentRow(t, st, code)
	if !ok || row.Name != "路灯 A" || row.Grid != "110101001007004" || row.Version != 1 || row.Retired ||
		strings.Join(row.Actions, ",") != "create" || row.Actors[0] != "token:qgis-bob" {
		t.Fatalf("after create the database holds %+v (found %v)", row, ok)
	}

	// The item reads back; QGIS edits it and sends it whole with PUT.
	status, _, body = c.do("GET", items+"/"+code, "")
	if status != 200 {
		t.Fatalf("get: %d %s", status, body)
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	props := f["properties"].(map[string]any)
	if props["grid_code"] != "110101001007004" || props["class_name"] == nil {
		t.Errorf("item properties: %v", props)
	}
	props["name"] = "路灯 B"
	lon2 := eLon0 + eDLon*2.5 // grid 006
	f["geometry"] = map[string]any{"type": "Point", "coordinates": []float64{lon2, lat}}
	put, _ := json.Marshal(f)
	if status, _, body := c.do("PUT", items+"/"+code, string(put)); status != 204 {
		t.Fatalf("replace: %d %s", status, body)
	}
	row, _ = readComponentRow(t, st, code)
	if row.Name != "路灯 B" || row.Grid != "110101001007006" || row.Version != 2 || row.Lon != lon2 ||
		strings.Join(row.Actions, ",") != "create,update" || row.Actors[1] != "token:qgis-bob" {
		t.Fatalf("after replace the database holds %+v", row)
	}

	// Update: only the status; the rest stays.
	if status, _, body := c.do("PATCH", items+"/"+code, `{"type":"Feature","properties":{"status":"damaged"}}`); status != 204 {
		t.Fatalf("update: %d %s", status, body)
	}
	row, _ = readComponentRow(t, st, code)
	if row.Status != "damaged" || row.Name != "路灯 B" || row.Grid != "110101001007006" || row.Lon != lon2 || row.Version != 3 {
		t.Fatalf("after update the database holds %+v", row)
	}

	// Rejections leave the component as it was: a code that is not the
	// URL's, an unknown status, a point far outside every grid, a class
	// change that contradicts the code.
	before := row
	for _, tc := range []struct{ method, body string }{
		{"PUT", strings.Replace(string(put), `"code":"`+code+`"`, `"code":"11010101037000009"`, 1)},
		{"PATCH", `{"type":"Feature","properties":{"status":"stolen"}}`},
		{"PATCH", `{"type":"Feature","geometry":{"type":"Point","coordinates":[117.5,40.5]}}`},
		{"PATCH", `{"type":"Feature","properties":{"class_code":"01001"}}`},
		{"PUT", `not json`},
	} {
		status, _, body := c.do(tc.method, items+"/"+code, tc.body)
		if status < 400 || status >= 500 {
			t.Errorf("%s %.80s: %d, want a 4xx: %s", tc.method, tc.body, status, body)
		}
		if !strings.Contains(body, "message") {
			t.Errorf("%s %.80s: no message: %s", tc.method, tc.body, body)
		}
		if row, _ := readComponentRow(t, st, code); fmt.Sprint(row) != fmt.Sprint(before) {
			t.Errorf("%s %.80s changed the component: %+v, was %+v", tc.method, tc.body, row, before)
		}
	}
	if status, _, body := c.do("POST", items, strings.Replace(create, fmt.Sprint(lon), "117.5", 1)); status != 422 && status != 400 {
		t.Errorf("create outside every grid: %d %s", status, body)
	}
	if status, _, _ := c.do("PUT", items+"/11010101037000077", string(put)); status != 404 && status != 422 && status != 400 {
		t.Errorf("replace of a component that does not exist: %d", status)
	}
	if n := componentCount(t, st); n != 1 {
		t.Errorf("rejections wrote components: %d rows", n)
	}

	// The collection lists it, with bbox and paging.
	for _, tc := range []struct{ path, want string }{
		{items, `"numberMatched":1`},
		{items + fmt.Sprintf("?bbox=%v,%v,%v,%v", lon2-1e-4, lat-1e-4, lon2+1e-4, lat+1e-4), code},
		{items + fmt.Sprintf("?bbox=%v,%v,%v,%v", lon-1e-4, lat-1e-4, lon+1e-4, lat+1e-4), `"numberMatched":0`},
	} {
		if _, _, body := c.do("GET", tc.path, ""); !strings.Contains(body, tc.want) {
			t.Errorf("%s lacks %s: %.300s", tc.path, tc.want, body)
		}
	}

	// Delete: the component retires; its code is not reused.
	if status, _, body := c.do("DELETE", items+"/"+code, ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	row, _ = readComponentRow(t, st, code)
	if !row.Retired || strings.Join(row.Actions, ",") != "create,update,update,retire" || row.Actors[3] != "token:qgis-bob" {
		t.Fatalf("after delete the database holds %+v", row)
	}
	if status, _, _ := c.do("GET", items+"/"+code, ""); status != 404 {
		t.Errorf("deleted component still served: %d", status)
	}
	if status, _, _ := c.do("DELETE", items+"/"+code, ""); status != 404 {
		t.Errorf("second delete: %d, want 404", status)
	}
	status, hdr, body = c.do("POST", items, create)
	if status != 201 || !strings.HasSuffix(hdr.Get("Location"), "/11010101037000002") {
		t.Errorf("create after delete: %d %q %s (the retired code must not be reused)", status, hdr.Get("Location"), body)
	}
}

// GDAL's OGC API Features driver lists the components collection and reads
// its items.
// The collections by kind of geometry serve and take only their kind: a
// point added to components_point is a component like any other, a line
// sent there is refused naming the collection that takes it, and a line
// added to components_line is served there and not with the points.
func TestOGCComponentsByKind(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCComponentServer(t)
	tok, err := st.CreateToken(ctx, "qgis-kim", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	c := client{t: t, base: ts.URL, token: tok}
	lon, lat := eLon0+eDLon*0.5, eLat0+eDLat*0.5
	point := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"class_code":"01037"}}`, lon, lat)
	line := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[%v,%v],[%v,%v]]},"properties":{"class_code":"01037"}}`,
		lon, lat, lon+0.0002, lat)
	if status, _, body := c.do("POST", "/ogc/collections/components_point/items", line); status != 400 ||
		!strings.Contains(body, "use the collection components_line") {
		t.Errorf("a line sent to components_point: %d %s", status, body)
	}
	if n := componentCount(t, st); n != 0 {
		t.Fatalf("the refused line wrote %d components", n)
	}
	status, hdr, body := c.do("POST", "/ogc/collections/components_point/items", point)
	if status != 201 {
		t.Fatalf("a point to components_point: %d %s", status, body)
	}
	pointCode := hdr.Get("Location")[strings.LastIndex(hdr.Get("Location"), "/")+1:]
	status, hdr, body = c.do("POST", "/ogc/collections/components_line/items", line)
	if status != 201 {
		t.Fatalf("a line to components_line: %d %s", status, body)
	}
	lineCode := hdr.Get("Location")[strings.LastIndex(hdr.Get("Location"), "/")+1:]
	for _, tc := range []struct {
		coll string
		want []string
	}{
		{"components", []string{pointCode, lineCode}},
		{"components_point", []string{pointCode}},
		{"components_line", []string{lineCode}},
		{"components_polygon", nil},
	} {
		status, _, body := c.do("GET", "/ogc/collections/"+tc.coll+"/items", "")
		var fc struct {
			Features []struct {
				ID string `json:"id"`
			} `json:"features"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &fc) != nil {
			t.Fatalf("%s items: %d %.300s", tc.coll, status, body)
		}
		var got []string
		for _, f := range fc.Features {
			got = append(got, f.ID)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s serves %v, want %v", tc.coll, got, tc.want)
		}
	}
	// Moving the point into a line through its own collection is refused.
	if status, _, body := c.do("PATCH", "/ogc/collections/components_point/items/"+pointCode,
		`{"geometry":{"type":"LineString","coordinates":[[116.4,39.9],[116.401,39.9]]}}`, "Content-Type", "application/merge-patch+json"); status != 400 {
		t.Errorf("a point patched into a line through components_point: %d %s", status, body)
	}
}

func TestOGCComponentsWithGDAL(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and ogrinfo is missing: install gdal-bin (make test-deps)")
		}
		t.Skip("ogrinfo not installed (apt-get install gdal-bin)")
	}
	ctx := context.Background()
	ts, st := newOGCComponentServer(t)
	var feats []grids.ComponentFeature
	for i := 0; i < 5; i++ {
		f, err := grids.ComponentFromGeoJSON(i, []byte(fmt.Sprintf(
			`{"type":"Feature","properties":{"class_code":"01001","name":"井盖 %d"},"geometry":{"type":"Point","coordinates":[%v,%v]}}`,
			i, eLon0+eDLon*(0.3+0.5*float64(i)), eLat0+eDLat*0.5)), geo.WGS84)
		if err != nil {
			t.Fatal(err)
		}
		feats = append(feats, f)
	}
	if _, err := st.ImportComponents(ctx, feats, grids.ComponentImport{Mode: grids.AllOrNothing, Actor: "test", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		out, err := exec.Command("ogrinfo", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("-ro", "OAPIF:"+ts.URL+"/ogc"); !strings.Contains(out, "components") {
		t.Errorf("ogrinfo does not list components:\n%s", out)
	}
	out := run("-ro", "-al", "-oo", "PAGE_SIZE=2", "OAPIF:"+ts.URL+"/ogc", "components")
	for i := 1; i <= 5; i++ {
		if !strings.Contains(out, fmt.Sprintf("1101010100100000%d", i)) {
			t.Errorf("component %d missing from ogrinfo's output:\n%.3000s", i, out)
		}
	}
	for _, w := range []string{"POINT (116.40", "井盖 4", "110101001007004"} {
		if !strings.Contains(out, w) {
			t.Errorf("ogrinfo's output lacks %q:\n%.3000s", w, out)
		}
	}
}
