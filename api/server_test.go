package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

const smallHierarchy = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"110101","name":"东城区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001007","name":"南池子社区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}}
]}`

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	feats, rejected, err := grids.ParseDivisions([]byte(smallHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(context.Background(), feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Ready: st.Ready, Divisions: st, Version: "test"})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	status, _, b := request(t, http.MethodGet, url, "", "")
	return status, b
}

func TestServerDivisions(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"ready", "/readyz", 200, []string{`"ready"`}},
		{"health", "/healthz", 200, []string{`"ok"`}},
		{"community with its parents", "/v1/divisions/110101001007", 200,
			[]string{`"type":"Feature"`, `"name":"南池子社区"`, `"code":"110101"`, `"code":"110101001"`, `"MultiPolygon"`}},
		{"children", "/v1/divisions?parent=110101001", 200, []string{`"code":"110101001007"`}},
		{"districts", "/v1/divisions", 200, []string{`"code":"110101"`}},
		{"unknown code", "/v1/divisions/110101001099", 404, []string{`{"error":{"code":"not_found"`}},
		{"bad code", "/v1/divisions/12345", 400, []string{`"code":"invalid"`, "5 digits"}},
		{"no such endpoint", "/v2/nothing", 404, []string{`"code":"not_found"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, ts.URL+tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s: %s", w, body)
				}
			}
		})
	}
	// Errors have one shape.
	_, body := get(t, ts.URL+"/v1/divisions/110101001099")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Errorf("error body %q: %v", body, err)
	}
	// Requests are counted by route pattern.
	_, metrics := get(t, ts.URL+"/metrics")
	if !strings.Contains(metrics, `gridd_http_requests_total{method="GET",route="/v1/divisions/{code}",status="OK"}`) {
		t.Errorf("metrics lack the route count:\n%s", metrics[:min(len(metrics), 2000)])
	}
}

// lockedBuffer collects log output written from server goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixedView struct{ v *geo.View }

func (f fixedView) Index() *geo.View { return f.v }

// Every request is logged at info, except successful requests on the
// high-volume routes, which are logged at debug.
func TestRequestLogLevels(t *testing.T) {
	lat := synth.Lattice{Origin: orb.Point{116.0, 39.5}, NX: 4, NY: 4, Cell: 0.0009, District: "110101", Street: "001", PerCommunity: 999}
	ix, err := geo.NewIndex(geo.IndexInput{Grids: lat.Grids(1)})
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var logs lockedBuffer
		srv := api.New(api.Config{Lookup: fixedView{geo.NewView(ix)}, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))})
		ts := httptest.NewServer(srv.Handler())
		for _, c := range []struct {
			path   string
			status int
		}{{"/v1/lookup?lon=116.001&lat=39.501", 200}, {"/v1/lookup?lon=116.001", 400}, {"/healthz", 200}} {
			if status, body := get(t, ts.URL+c.path); status != c.status {
				t.Fatalf("%s: %d %s", c.path, status, body)
			}
		}
		ts.Close()
		out := logs.String()
		for _, want := range []string{"route=/v1/lookup status=400", "route=/healthz status=200"} {
			if !strings.Contains(out, "level=INFO msg=request method=GET "+want) {
				t.Errorf("%v: no info line with %q in\n%s", level, want, out)
			}
		}
		ok := strings.Contains(out, "level=DEBUG msg=request method=GET route=/v1/lookup status=200")
		if ok != (level == slog.LevelDebug) || strings.Contains(out, "level=INFO msg=request method=GET route=/v1/lookup status=200") {
			t.Errorf("%v: the successful lookup is logged wrongly:\n%s", level, out)
		}
	}
}
