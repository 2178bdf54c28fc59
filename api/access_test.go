package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

// fullConfig wires every part of the API over one database, as gridd serve
// does.
func fullConfig(t *testing.T) (api.Config, *postgis.Store) {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	feats, rejected, err := grids.ParseDivisions([]byte(smallHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(context.Background(), feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	return configOn(t, st), st
}

// configOn is a server with every part on the store.
func configOn(t *testing.T, st *postgis.Store) api.Config {
	loc := runningLocator(t, st)
	return api.Config{
		Ready: st.Ready, Divisions: st, Editor: st, Features: st, Tokens: st,
		Classes: st, Components: st, Builder: st, History: st, MgmtGrids: st, WorkerStore: st, Workers: st,
		FeatureEditors: api.ComponentFeatureEditors(st),
		Lookup:         loc, RoutingAdmin: st, Cases: st, CasePhotos: st, Evaluation: st, Hotspots: st,
		CaseFeed: func(ctx context.Context, fn func(grids.Change)) error { return st.Listen(ctx, time.Second, fn) },
		Router:   &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog},
		Tiles:    tiles.NewService(st, 16<<20, 0), Places: st, Version: "test",
	}
}

// routeParam is a value for each route parameter, to call every route.
var routeParam = map[string]string{
	"layers": "grids", "z": "10", "x": "843", "y": "388",
	"stack": "Open%20Sans%20Regular", "range": "0-255", "file": "map.js",
	"code": "110101001007001", "id": "1", "coll": "grids",
	"hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}

var paramRe = regexp.MustCompile(`\{([a-z]+)\}`)

// concrete fills a route pattern's parameters.
func concrete(t *testing.T, pattern string) string {
	return paramRe.ReplaceAllStringFunc(pattern, func(p string) string {
		v, ok := routeParam[p[1:len(p)-1]]
		if !ok {
			t.Fatalf("no sample value for %s in %s", p, pattern)
		}
		return v
	})
}

// walkRoutes lists the router's routes as "METHOD pattern".
func walkRoutes(t *testing.T, h http.Handler) []string {
	t.Helper()
	var routes []string
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// Private reads mean private: every route the router has is in the access
// table, and with no token and with a viewer token, public and private
// reads, public and private metrics, each answers as the rules say. The
// expected answers are written out here, not read from the table.
func TestAccessEveryRoute(t *testing.T) {
	base, st := fullConfig(t)
	viewer, err := st.CreateToken(context.Background(), "watcher", grids.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	// Open whatever the configuration: health, readiness, the static code
	// of the browser pages, the API's description, CORS preflights.
	alwaysOpen := func(method, pattern string) bool {
		switch method + " " + pattern {
		case "GET /healthz", "GET /readyz", "GET /map", "GET /map/assets/{file}", "GET /edit", "GET /dashboard",
			"GET /openapi.json", "GET /docs":
			return true
		}
		return method == http.MethodOptions && !strings.HasPrefix(pattern, "/ogc")
	}
	isWrite := func(method, pattern string) bool {
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return false
		}
		return method+" "+pattern != "POST /v1/lookup"
	}

	for _, c := range []struct{ privateReads, privateMetrics bool }{{false, false}, {true, true}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("private_reads=%v,private_metrics=%v", c.privateReads, c.privateMetrics), func(t *testing.T) {
			cfg := base
			cfg.PrivateReads, cfg.PrivateMetrics = c.privateReads, c.privateMetrics
			h := api.New(cfg).Handler()
			routes := walkRoutes(t, h)
			// A route mounted without a rule in the table is refused to
			// everyone, whatever the configuration.
			ran := false
			h.(*chi.Mux).Get("/v1/unlisted", func(http.ResponseWriter, *http.Request) { ran = true })
			ts := httptest.NewServer(h)
			defer ts.Close()

			table := api.AccessRoutes()
			for _, r := range routes {
				if !slices.Contains(table, r) {
					t.Errorf("route %s is not in the access table (api/access.go)", r)
				}
			}
			for _, r := range table {
				if !slices.Contains(routes, r) {
					t.Errorf("the access table names %s, which the router does not have", r)
				}
			}

			refused := 0
			for _, r := range routes {
				method, pattern, _ := strings.Cut(r, " ")
				url := ts.URL + concrete(t, pattern)
				body := ""
				if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
					body = "{}" // never a valid write: nothing is changed
				}
				// What the token-less and the viewer's request must get:
				// 0 (not refused), 401 or 403.
				var anon, view int
				switch {
				case alwaysOpen(method, pattern):
				case r == "GET /metrics":
					if c.privateMetrics {
						anon = 401
					}
				case isWrite(method, pattern):
					anon, view = 401, 403
				case strings.HasPrefix(pattern, "/v1/photos/"):
					anon = 401 // photos of cases: a token always, as cases
				case pattern == "/v1/lookup":
					if c.privateReads {
						anon, view = 401, 403
					}
				case strings.HasPrefix(pattern, "/v1/cases"), pattern == "/v1/evaluation":
					anon = 401 // cases name reporters: a token always
				case strings.HasPrefix(pattern, "/v1/grid-worker"):
					anon = 401 // names and telephone numbers: a token always
				default:
					if c.privateReads {
						anon = 401
					}
				}
				for _, who := range []struct {
					name, token string
					want        int
				}{{"no token", "", anon}, {"viewer", viewer, view}} {
					var status int
					var got string
					if pattern == "/v1/cases/feed" {
						status = streamStatus(t, url, who.token) // a stream never ends
					} else {
						status, _, got = request(t, method, url, who.token, body)
					}
					switch {
					case who.want == 0 && (status == 401 || status == 403):
						t.Errorf("%s %s, %s: %d %.200q, want it answered", method, url, who.name, status, got)
					case who.want != 0 && status != who.want:
						t.Errorf("%s %s, %s: %d %.200q, want %d", method, url, who.name, status, got, who.want)
					case who.want != 0:
						refused++
					}
				}
			}
			if len(routes) < 60 || refused == 0 {
				t.Fatalf("%d routes, %d refusals: the server is not fully mounted", len(routes), refused)
			}
			t.Logf("%d routes, %d refused requests", len(routes), refused)

			for _, token := range []string{"", viewer} {
				if status, _, body := request(t, http.MethodGet, ts.URL+"/v1/unlisted", token, ""); status != 403 || !strings.Contains(body, "no access rule") {
					t.Errorf("a route missing from the table, token %q: %d %s, want 403", token, status, body)
				}
			}
			if ran {
				t.Error("the handler of a route missing from the table ran")
			}
		})
	}
}

// The leaks the probe found: with private reads, tiles, TileJSON, the
// style, glyphs, the code search and /metrics need a token, and a viewer's
// token opens them.
func TestPrivateReadsCoverTheMap(t *testing.T) {
	cfg, st := fullConfig(t)
	viewer, err := st.CreateToken(context.Background(), "watcher", grids.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PrivateReads, cfg.PrivateMetrics = true, true
	h := api.New(cfg).Handler()
	ts := httptest.NewServer(h)
	defer ts.Close()
	// Mounted under another router, the rules are the same.
	parent := chi.NewRouter()
	parent.Mount("/gridd", h)
	mounted := httptest.NewServer(parent)
	defer mounted.Close()
	for _, path := range []string{"/styles/gridd.json", "/tiles/grids/10/843/388.mvt"} {
		if status, _, body := request(t, http.MethodGet, mounted.URL+"/gridd"+path, "", ""); status != 401 {
			t.Errorf("GET /gridd%s, mounted, without a token: %d %.200q, want 401", path, status, body)
		}
		if status, _, body := request(t, http.MethodGet, mounted.URL+"/gridd"+path, viewer, ""); status != 200 {
			t.Errorf("GET /gridd%s, mounted, with a viewer token: %d %.200q, want 200", path, status, body)
		}
	}
	for _, path := range []string{
		"/tiles/grids,communities/10/843/388.mvt", "/tiles/grids.json", "/styles/gridd.json",
		"/fonts/Open%20Sans%20Regular/0-255.pbf", "/v1/search?code=110101001007", "/metrics",
		"/v1/divisions", "/ogc/collections/grids/items",
	} {
		if status, hdr, body := request(t, http.MethodGet, ts.URL+path, "", ""); status != 401 || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a token: %d %.200q, want 401 with WWW-Authenticate", path, status, body)
		}
		status, hdr, body := request(t, http.MethodGet, ts.URL+path, viewer, "")
		if status != 200 {
			t.Errorf("GET %s with a viewer token: %d %.200q, want 200", path, status, body)
		}
		// No shared cache may keep what a token was needed for.
		if cc := hdr.Get("Cache-Control"); strings.Contains(cc, "public") {
			t.Errorf("GET %s with private reads: Cache-Control %q lets shared caches keep it", path, cc)
		}
	}
	// A dashboard on another site may send its token with tile requests.
	if status, hdr, _ := request(t, http.MethodOptions, ts.URL+"/tiles/grids/10/843/388.mvt", "", ""); status != 204 ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("CORS preflight of a tile: %d, Access-Control-Allow-Headers %q, want 204 allowing Authorization",
			status, hdr.Get("Access-Control-Allow-Headers"))
	}
	// The map page's code loads without a token; what it draws does not.
	for _, path := range []string{"/map", "/edit", "/healthz"} {
		if status, _, body := request(t, http.MethodGet, ts.URL+path, "", ""); status != 200 {
			t.Errorf("GET %s without a token: %d %.200q, want 200", path, status, body)
		}
	}
	// Clients with only a Basic setting (QGIS before 3.30) give the token
	// as the password; a wrong or missing password is refused, not ignored.
	for _, tc := range []struct {
		user, pass string
		status     int
	}{{"gridd", viewer, 200}, {"", viewer, 200}, {"gridd", viewer + "x", 401}, {"gridd", "", 401}} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ogc/collections/grids/items", nil)
		req.SetBasicAuth(tc.user, tc.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET /ogc/collections/grids/items with Basic %q and password %q: %d %.200q, want %d", tc.user, tc.pass, resp.StatusCode, b, tc.status)
		}
	}
}

// streamStatus is the status of a GET whose answer is a stream: read once
// the headers are in, the stream then closed.
func streamStatus(t *testing.T, url, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
