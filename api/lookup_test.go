package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

const lookupHierarchy = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"110101","name":"东城区"},"geometry":{"type":"Polygon","coordinates":[[[116.39,39.89],[116.52,39.89],[116.52,39.96],[116.39,39.96],[116.39,39.89]]]}},
{"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},"geometry":{"type":"Polygon","coordinates":[[[116.39,39.89],[116.52,39.89],[116.52,39.96],[116.39,39.96],[116.39,39.89]]]}},
{"type":"Feature","properties":{"code":"110101001001","name":"多福巷社区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91],[116.40,39.90]]]}}
]}`

// lookupDB is a database with divisions and a 10×10 lattice of 100 m grids
// (110101001001001..100) from 116.40,39.90 that exactly covers its
// community, plus one management grid.
func lookupDB(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := postgis.NewStore(pool)
	feats, rejected, err := grids.ParseDivisions([]byte(lookupHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(context.Background(), feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	lat := synth.Lattice{Origin: orb.Point{116.40, 39.90}, NX: 10, NY: 10, Cell: 0.001, District: "110101", Street: "001", PerCommunity: 999}
	if err := pgtest.CopyGrids(context.Background(), pool, lat.Grids(1)); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(context.Background(), `
		WITH m AS (INSERT INTO mgmt_grids (code, name, street_code) VALUES ('DHM-01', '东华门一网格', '110101001') RETURNING id)
		INSERT INTO mgmt_grid_members SELECT m.id, c FROM m, unnest(ARRAY['110101001001001', '110101001001002']) c`)
	if err != nil {
		t.Fatal(err)
	}
	return pool, url
}

// lookupServer starts an API server with its own store and index following
// the change feed, and waits for the first index.
func lookupServer(t *testing.T, url string) *httptest.Server {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := postgis.NewStore(pool)
	loc := runningLocator(t, st)
	ts := httptest.NewServer(api.New(api.Config{Lookup: loc}).Handler())
	t.Cleanup(ts.Close)
	return ts
}

func TestLookupAPI(t *testing.T) {
	_, url := lookupDB(t)
	ts := lookupServer(t, url)
	gcj := geo.WGS84ToGCJ02(orb.Point{116.4005, 39.9005})
	x0, y0, cell := 116.40, 39.90, 0.001 // the lattice vertex (1,1), computed as synth does
	vx := orb.Point{x0 + 1*cell, y0 + 1*cell}
	tests := []struct {
		name   string
		query  string
		status int
		want   []string
	}{
		{"inside", "lon=116.4005&lat=39.9005", 200, []string{`"code":"110101001001001"`, `"name":"多福巷社区"`, `"name":"东华门街道"`, `"name":"东城区"`, `"snapped":false`, `"code":"DHM-01"`}},
		{"gcj02 input", fmt.Sprintf("lon=%.9f&lat=%.9f&crs=gcj02", gcj[0], gcj[1]), 200, []string{`"code":"110101001001001"`}},
		{"shared vertex goes to the smallest code", fmt.Sprintf("lon=%.17g&lat=%.17g", vx[0], vx[1]), 200, []string{`"grid":{"code":"110101001001001"`}},
		{"snapped within 50 m", "lon=116.3998&lat=39.9005", 200, []string{`"snapped":true`, `"code":"110101001001001"`, `"distance_m":17.`}},
		{"outside beyond snapping", "lon=116.3990&lat=39.9005", 404, []string{`"code":"outside"`}},
		{"no snapping when max_snap_m=0", "lon=116.3998&lat=39.9005&max_snap_m=0", 404, []string{`"outside"`}},
		{"candidates within accuracy", "lon=116.4009&lat=39.9005&accuracy_m=20", 200, []string{`"candidates":[{"grid":"110101001001002","distance_m":8.`}},
		{"no candidates without accuracy", "lon=116.4009&lat=39.9005", 200, []string{`"candidates":[]`}},
		{"lat/lon swap", "lon=39.9005&lat=116.4005", 400, []string{`lat: 116.4005 is out of range`, `swapped`}},
		{"non-numeric lon", "lon=abc&lat=39.9", 400, []string{`lon: \"abc\" is not a number`}},
		{"missing lat", "lon=116.4", 400, []string{`lat: is required`}},
		{"lon out of range", "lon=190&lat=39.9", 400, []string{`lon: 190 is out of range`}},
		{"bad crs", "lon=116.4&lat=39.9&crs=utm", 400, []string{`crs: unknown crs`}},
		{"bad accuracy", "lon=116.4&lat=39.9&accuracy_m=-3", 400, []string{`accuracy_m`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, ts.URL+"/v1/lookup?"+tc.query)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s: %s", w, body)
				}
			}
			if status == 200 {
				var v map[string]any
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Errorf("not JSON: %v: %s", err, body)
				}
			}
		})
	}
}

func TestLookupBatch(t *testing.T) {
	_, url := lookupDB(t)
	ts := lookupServer(t, url)
	post := func(body string) (int, string) {
		resp, err := http.Post(ts.URL+"/v1/lookup", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(t, resp))
		return resp.StatusCode, b.String()
	}
	g1 := geo.WGS84ToGCJ02(orb.Point{116.4095, 39.9095})
	g2 := geo.WGS84ToGCJ02(orb.Point{116.4005, 39.9005})
	status, body := post(fmt.Sprintf(`{"crs":"gcj02","points":[[%.9f,%.9f],[120,30],[%.9f,%.9f]]}`, g1[0], g1[1], g2[0], g2[1]))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var res struct {
		Results []*grids.Location `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(res.Results) != 3 || res.Results[0] == nil || res.Results[1] != nil || res.Results[2] == nil {
		t.Fatalf("results: %s", body)
	}
	if res.Results[0].Grid.Code != "110101001001100" || res.Results[2].Grid.Code != "110101001001001" {
		t.Errorf("codes %s, %s: want 110101001001100 and 110101001001001 (input order)", res.Results[0].Grid.Code, res.Results[2].Grid.Code)
	}
	status, body = post(`{"points":[[116.4,39.9],[39.9,116.4]]}`)
	if status != 400 || !strings.Contains(body, "points[1][1] (lat)") || !strings.Contains(body, "swapped") {
		t.Errorf("swapped point: %d %s", status, body)
	}
	for _, c := range []struct{ body, want string }{
		{`{"points":[[116.4,39.9],[116.4]]}`, "points[1]: needs two numbers"},
		{`{"points":[[116.4,"x"]]}`, "points[0]: not a number"},
		{`{"points":[[116.4,39.9,1]]}`, "points[0]: needs exactly two numbers"},
		{`{"crs":"gcj02"}`, "points: is required"},
		{`{"points":{}}`, "points: must be an array"},
	} {
		if status, body := post(c.body); status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, status, body, c.want)
		}
	}
	if status, body := post(`{"points":[]}`); status != 200 || !strings.Contains(body, `{"results":[]}`) {
		t.Errorf("empty batch: %d %s", status, body)
	}
	// A batch large enough to be answered in parallel blocks keeps input
	// order, and every result is exactly the single lookup of its point,
	// snapped points and candidates included.
	var pts []string
	var single []string
	for i := 0; i < 5000; i++ {
		lon, lat := 116.3995+float64(i%71)*0.00015, 39.8995+float64(i%67)*0.00016
		pts = append(pts, fmt.Sprintf("[%.5f,%.5f]", lon, lat))
		status, body := get(t, fmt.Sprintf("%s/v1/lookup?lon=%.5f&lat=%.5f&accuracy_m=30", ts.URL, lon, lat))
		switch status {
		case 200:
			single = append(single, strings.TrimSpace(body))
		case 404:
			single = append(single, "null")
		default:
			t.Fatalf("single lookup %d: %d %s", i, status, body)
		}
	}
	status, body = post(`{"accuracy_m":30,"points":[` + strings.Join(pts, ",") + `]}`)
	if status != 200 {
		t.Fatalf("large batch: %d %.200s", status, body)
	}
	var raw struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Results) != len(single) {
		t.Fatalf("large batch: %d results for %d points", len(raw.Results), len(single))
	}
	kinds := map[string]int{}
	for i, r := range raw.Results {
		if string(r) != single[i] {
			t.Fatalf("large batch result %d:\n%s\nsingle lookup:\n%s", i, r, single[i])
		}
		switch {
		case string(r) == "null":
			kinds["outside"]++
		case strings.Contains(string(r), `"snapped":true`):
			kinds["snapped"]++
		case !strings.Contains(string(r), `"candidates":[]`):
			kinds["candidates"]++
		}
	}
	if kinds["outside"] == 0 || kinds["snapped"] == 0 || kinds["candidates"] == 0 {
		t.Errorf("the large batch should hold outside, snapped and candidate results: %v", kinds)
	}

	// The same for GCJ-02 points (as phones send them), which a large
	// batch converts in parallel.
	pts, single = nil, nil
	for i := 0; i < 3000; i++ {
		g := geo.WGS84ToGCJ02(orb.Point{116.3995 + float64(i%71)*0.00015, 39.8995 + float64(i%67)*0.00016})
		lon, lat := strconv.FormatFloat(g[0], 'f', -1, 64), strconv.FormatFloat(g[1], 'f', -1, 64)
		pts = append(pts, "["+lon+","+lat+"]")
		status, body := get(t, ts.URL+"/v1/lookup?crs=gcj02&lon="+lon+"&lat="+lat)
		if status == 200 {
			single = append(single, strings.TrimSpace(body))
		} else {
			single = append(single, "null")
		}
	}
	status, body = post(`{"crs":"gcj02","points":[` + strings.Join(pts, ",") + `]}`)
	raw.Results = nil
	if err := json.Unmarshal([]byte(body), &raw); status != 200 || err != nil || len(raw.Results) != len(single) {
		t.Fatalf("GCJ-02 batch: %d %v %.200s", status, err, body)
	}
	for i, r := range raw.Results {
		if string(r) != single[i] {
			t.Fatalf("GCJ-02 batch result %d:\n%s\nsingle lookup:\n%s", i, r, single[i])
		}
	}

	for _, c := range []struct{ body, want string }{
		{`[[116.4,39.9]]`, "body: malformed JSON at byte 0: want an object"},
		{`{"points":[[116.4,39.9]]`, "body: malformed JSON at byte 24: want ',' or '}'"},
		{`{"points":[[116.4,39.9]],"crs":5}`, "crs: must be a string"},
		{`{"points":[[116.4,39.9]],"accuracy_m":"far"}`, "accuracy_m: must be a float64"},
		{`{"points":[[116.4,39.9]],"crs":"mars"}`, "crs"},
		{`{"points":[[116.4,39.9]],"accuracy_m":-1}`, "accuracy_m: -1 is out of range"},
		{`{points:[]}`, "body: malformed JSON at byte 1: want a member name"},
		{`{"points":[[1e999,39.9]]}`, `points[0]: \"1e999\" is not a number`},
	} {
		if status, body := post(c.body); status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, status, body, c.want)
		}
	}

	big := `{"points":[` + strings.Repeat(`[116.4,39.9],`, api.MaxBatchPoints) + `[116.4,39.9]]}`
	if status, body = post(big); status != 400 || !strings.Contains(body, "at most 100000 per request") {
		t.Errorf("oversized batch: %d %.200s", status, body)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// Two servers, each with its own index, on one database: an edit committed
// through plain SQL is visible in both within one second.
func TestLookupFreshnessAcrossServers(t *testing.T) {
	pool, url := lookupDB(t)
	a, b := lookupServer(t, url), lookupServer(t, url)
	const far = "lon=116.5005&lat=39.9505"
	for _, ts := range []*httptest.Server{a, b} {
		if status, body := get(t, ts.URL+"/v1/lookup?"+far); status != 404 {
			t.Fatalf("before the edit: %d %s", status, body)
		}
	}
	waitBoth := func(what string, ok func(status int, body string) bool) {
		t.Helper()
		start := time.Now()
		seen := map[*httptest.Server]time.Duration{}
		for len(seen) < 2 && time.Since(start) < 5*time.Second {
			for _, ts := range []*httptest.Server{a, b} {
				if _, done := seen[ts]; done {
					continue
				}
				if status, body := get(t, ts.URL+"/v1/lookup?"+far); ok(status, body) {
					seen[ts] = time.Since(start)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: server A after %v, server B after %v", what, seen[a], seen[b])
		for name, ts := range map[string]*httptest.Server{"A": a, "B": b} {
			if d, done := seen[ts]; !done || d > time.Second {
				t.Errorf("%s: server %s saw it after %v (want within 1 s; 0 = not within 5 s)", what, name, d)
			}
		}
	}
	_, err := pool.Exec(context.Background(), `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		VALUES ('110101001002500', '110101001002', '110101001', '110101',
		        ST_GeomFromText('POLYGON((116.5 39.95, 116.501 39.95, 116.501 39.951, 116.5 39.951, 116.5 39.95))', 4326), 9000)`)
	if err != nil {
		t.Fatal(err)
	}
	waitBoth("new grid", func(status int, body string) bool {
		return status == 200 && strings.Contains(body, `"code":"110101001002500"`)
	})
	if _, err := pool.Exec(context.Background(), `UPDATE unit_grids SET valid_to = now() WHERE code = '110101001002500'`); err != nil {
		t.Fatal(err)
	}
	waitBoth("retired grid", func(status int, body string) bool { return status == 404 })
}
