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
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

func newOGCServer(t *testing.T) (*httptest.Server, *postgis.Store) {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	ts := httptest.NewServer(api.New(api.Config{Divisions: st, Editor: st, Tokens: st, Features: st}).Handler())
	t.Cleanup(ts.Close)
	return ts, st
}

func TestOGCFeaturesRead(t *testing.T) {
	ts, _ := newOGCServer(t)
	c := client{t: t, base: ts.URL}
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/ogc", 200, []string{`"rel":"data"`, `"rel":"conformance"`}},
		{"/ogc/conformance", 200, []string{"ogcapi-features-1/1.0/conf/core", "ogcapi-features-4/1.0/conf/create-replace-delete"}},
		{"/ogc/collections", 200, []string{`"id":"divisions"`, `"id":"grids"`, `"id":"mgmt_grids"`}},
		{"/ogc/collections/grids/items?limit=4", 200, []string{`"numberMatched":6`, `"numberReturned":4`, `"rel":"next"`, "offset=4"}},
		{"/ogc/collections/grids/items?limit=4&offset=4", 200, []string{`"numberReturned":2`, `"rel":"prev"`}},
		{"/ogc/collections/grids/items?bbox=116.4,39.9,116.4011,39.9008", 200, []string{`"numberMatched":1`, `"110101001007004"`}},
		{"/ogc/collections/grids/items/110101001007002", 200, []string{`"type":"Feature"`, `"version":1`}},
		{"/ogc/collections/divisions/items?f=json", 200, []string{`"numberMatched":3`, `"南池子社区"`}},
		{"/ogc/collections/nothing/items", 404, []string{"no collection nothing"}},
		{"/ogc/collections/grids/items?bbox=1,2,3", 400, []string{"bbox"}},
		{"/ogc/collections/grids/items?f=html", 400, []string{"only f=json"}},
	} {
		status, _, body := c.do("GET", tc.path, "")
		if status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.path, status, tc.status, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s: %.400s", tc.path, w, body)
			}
		}
	}
}

// HEAD on the items answers as GET does, without the body, as the Allow of
// their OPTIONS says.
func TestOGCItemsHead(t *testing.T) {
	ts, _ := newOGCServer(t)
	c := client{t: t, base: ts.URL}
	_, hdr, _ := c.do("OPTIONS", "/ogc/collections/grids/items", "")
	if !strings.Contains(hdr.Get("Allow"), "HEAD") {
		t.Errorf("OPTIONS items: Allow %q lacks HEAD", hdr.Get("Allow"))
	}
	status, hdr, body := c.do("HEAD", "/ogc/collections/grids/items?limit=2", "")
	if status != 200 || body != "" || !strings.Contains(hdr.Get("Content-Type"), "json") {
		t.Errorf("HEAD items: %d %q %q, want 200 with the GET's headers and no body", status, hdr.Get("Content-Type"), body)
	}
}

// GDAL's OGC API Features driver (ogrinfo, ogr2ogr and the programs built on
// GDAL; QGIS has its own provider, see qgis_test.go) lists the collections
// and reads the grids from an in-process server.
func TestOGCWithGDAL(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and ogrinfo is missing: install gdal-bin (make test-deps)")
		}
		t.Skip("ogrinfo not installed (apt-get install gdal-bin)")
	}
	ts, _ := newOGCServer(t)
	run := func(args ...string) string {
		out, err := exec.Command("ogrinfo", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("-ro", "OAPIF:"+ts.URL+"/ogc")
	for _, w := range []string{"divisions", "grids", "mgmt_grids"} {
		if !strings.Contains(out, w) {
			t.Errorf("ogrinfo does not list %s:\n%s", w, out)
		}
	}
	out = run("-ro", "-al", "-oo", "PAGE_SIZE=4", "OAPIF:"+ts.URL+"/ogc", "grids")
	if !strings.Contains(out, "Feature Count: 6") && strings.Count(out, "OGRFeature(grids)") != 6 {
		t.Errorf("ogrinfo does not read the 6 grids:\n%s", out)
	}
	for i := 1; i <= 6; i++ {
		if !strings.Contains(out, fmt.Sprintf("110101001007%03d", i)) {
			t.Errorf("grid %03d missing from ogrinfo's output", i)
		}
	}
	if !strings.Contains(out, "POLYGON ((116.4") {
		t.Errorf("ogrinfo shows no grid geometry:\n%.2000s", out)
	}
}

// Part 4 over plain HTTP on the grids collection: OPTIONS advertises the
// methods; create carves a grid out of its neighbours, replace redraws, and
// delete dissolves, each leaving the partition exact.
func TestOGCPart4Grids(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCServer(t)
	tok, _ := st.CreateToken(ctx, "qgis-alice", grids.RoleEditor)
	c := client{t: t, base: ts.URL, token: tok}

	_, hdr, _ := c.do("OPTIONS", "/ogc/collections/grids/items", "")
	if !strings.Contains(hdr.Get("Allow"), "POST") {
		t.Errorf("OPTIONS items: Allow %q lacks POST", hdr.Get("Allow"))
	}
	_, hdr, _ = c.do("OPTIONS", "/ogc/collections/grids/items/110101001007001", "")
	if !strings.Contains(hdr.Get("Allow"), "PUT") || !strings.Contains(hdr.Get("Allow"), "DELETE") {
		t.Errorf("OPTIONS item: Allow %q", hdr.Get("Allow"))
	}
	_, hdr, _ = c.do("OPTIONS", "/ogc/collections/divisions/items", "")
	if strings.Contains(hdr.Get("Allow"), "POST") {
		t.Errorf("divisions are not editable here, but Allow is %q", hdr.Get("Allow"))
	}

	partitionOK := func(step string) {
		var problem *string
		if err := st.Pool().QueryRow(ctx, `SELECT gridd_partition_problem('110101001007')`).Scan(&problem); err != nil || problem != nil {
			t.Fatalf("%s: partition %v %v", step, problem, err)
		}
	}
	// Create: a 60 m × 60 m square straddling the edge of 004 and 005 (the
	// southern row), carved out of both.
	x0, y0 := eLon0+eDLon*0.7, eLat0+eDLat*0.2
	sq := fmt.Sprintf(`{"type":"Feature","properties":{"message":"new square"},"geometry":{"type":"Polygon","coordinates":[[[%v,%v],[%v,%v],[%v,%v],[%v,%v],[%v,%v]]]}}`,
		x0, y0, x0+eDLon*0.6, y0, x0+eDLon*0.6, y0+eDLat*0.6, x0, y0+eDLat*0.6, x0, y0)
	status, hdr, body := c.do("POST", "/ogc/collections/grids/items", sq)
	if status != 201 || !strings.HasSuffix(hdr.Get("Location"), "/ogc/collections/grids/items/110101001007007") {
		t.Fatalf("create: %d %s %s", status, hdr.Get("Location"), body)
	}
	partitionOK("create")
	// Without a token: 401.
	if status, _, _ := (client{t: t, base: ts.URL}).do("POST", "/ogc/collections/grids/items", sq); status != 401 {
		t.Errorf("anonymous create: %d, want 401", status)
	}
	// Replace (no If-Match, as QGIS sends it): 007 a little larger.
	sq2 := strings.Replace(sq, fmt.Sprint(x0+eDLon*0.6), fmt.Sprint(x0+eDLon*0.7), -1)
	status, _, body = c.do("PUT", "/ogc/collections/grids/items/110101001007007", sq2)
	if status != 200 {
		t.Fatalf("replace: %d %s", status, body)
	}
	partitionOK("replace")
	var cs grids.Changeset
	json.Unmarshal([]byte(body), &cs)
	if cs.Actor != "token:qgis-alice" {
		t.Errorf("replace recorded actor %q", cs.Actor)
	}
	// A stale If-Match is still refused.
	if status, _, _ := c.do("PUT", "/ogc/collections/grids/items/110101001007007", sq, "If-Match", `"v1"`); status != 412 {
		t.Errorf("stale replace: %d, want 412", status)
	}
	// Delete: 007 dissolves into a neighbour; the code is retired.
	if status, _, body := c.do("DELETE", "/ogc/collections/grids/items/110101001007007", ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	partitionOK("delete")
	if status, _, _ := c.do("GET", "/ogc/collections/grids/items/110101001007007", ""); status != 404 {
		t.Errorf("deleted grid still served: %d", status)
	}
	if status, _, _ := c.do("DELETE", "/ogc/collections/divisions/items/110101", ""); status != 405 {
		t.Errorf("delete on a read-only collection: %d, want 405", status)
	}
}
