package api_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

// seen is one request a test server answered.
type seen struct {
	method, path, query, auth string
	status                    int
}

// requestLog records the requests a handler answers.
type requestLog struct {
	mu   sync.Mutex
	reqs []seen
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		l.mu.Lock()
		l.reqs = append(l.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), sw.status})
		l.mu.Unlock()
	})
}

// matching lists the recorded requests whose path starts with prefix.
func (l *requestLog) matching(prefix string) []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []seen
	for _, r := range l.reqs {
		if strings.HasPrefix(r.path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// basemapPNG is one plain 256 × 256 raster tile.
func basemapPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0xe8, 0xe4, 0xdc, 0xff
	}
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The map page with private reads: it asks for a token, and once a viewer's
// token is entered MapLibre loads the style, TileJSON, tiles and glyphs
// with it and draws the grids, the code search works, a third-party basemap
// never sees the token, and the editor page finds the same token.
func TestMapPageWithPrivateReadsInBrowser(t *testing.T) {
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	feats, rejected, err := grids.ParseDivisions([]byte(tileHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, insertGrids); err != nil {
		t.Fatal(err)
	}
	// A basemap on another origin, as a third-party one would be.
	tilePNG := basemapPNG(t)
	var baseLog requestLog
	basemap := httptest.NewServer(baseLog.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(tilePNG) //nolint:errcheck
	})))
	defer basemap.Close()
	var log requestLog
	srv := api.New(api.Config{Divisions: st, Editor: st, Tokens: st, Tiles: tiles.NewService(st, 64<<20, 0),
		Places: st, Lookup: runningLocator(t, st), PrivateReads: true, Basemap: basemap.URL + "/{z}/{x}/{y}.png"})
	ts := httptest.NewServer(log.wrap(srv.Handler()))
	defer ts.Close()
	if r := fetch(t, ts.URL+"/map/assets/map.js", nil); r.status != http.StatusOK {
		if os.Getenv("CI") != "" {
			t.Fatal("the map bundle is not built into this test binary: make web (make test runs it)")
		}
		t.Skip("the map bundle is not built: run make web")
	}
	tok, err := st.CreateToken(ctx, "map-viewer", grids.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, 1280, 800)
	bctx := b.ctx
	b.open(t, ts.URL+"/map?center=116.41,39.91&zoom=15&layers=communities,grids")

	// Without a token: the page asks for one and draws nothing.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`!document.getElementById('auth').hidden`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("status")))
		t.Fatalf("the map page did not ask for a token: %v (status %q)", err, msg)
	}
	ask, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("auth-msg")))
	if !strings.Contains(ask, "needs an API token") {
		t.Errorf("token prompt says %q, want the server's reason (needs an API token)", ask)
	}
	if styles := log.matching("/styles/"); len(styles) != 1 || styles[0].status != http.StatusUnauthorized || styles[0].auth != "" {
		t.Errorf("style requests before a token: %+v, want one 401 without a token", styles)
	}
	if n := len(log.matching("/tiles/")) + len(baseLog.matching("/")); n > 0 {
		t.Errorf("%d tile requests before a token was entered", n)
	}
	if errs, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.griddErrors`)); len(errs) > 0 {
		t.Errorf("map errors before the token: %v", errs)
	}
	if png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(filepath.Join(artifactDir(t), "map-private-token.png"), png, 0o644) //nolint:errcheck
	}

	// A viewer's token: the map starts and draws the grids.
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("token"), tok),
		chromedp.Click(chromedp.CSS("#auth button")),
	); err != nil {
		t.Fatal(err)
	}
	settle := func(what string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`window.griddReady === true && !griddMap.isMoving() && griddMap.areTilesLoaded()`,
			chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("%s: the map did not settle: %v (status %q)", what, err, msg)
		}
		if errs, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.griddErrors`)); len(errs) > 0 {
			t.Fatalf("%s: map errors: %v", what, errs)
		}
	}
	settle("after entering the token")
	if hidden, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById('auth').hidden`)); !hidden {
		t.Error("the token field is still shown after a valid token")
	}
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
		`[...new Set(griddMap.queryRenderedFeatures({layers: ['grids-fill']}).map(f => f.properties.code))].sort()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(drawn) < 4 {
		t.Fatalf("MapLibre drew %d grids with the token: %v", len(drawn), drawn)
	}
	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err == nil {
		shot := filepath.Join(artifactDir(t), "map-private.png")
		if err := os.WriteFile(shot, png, 0o644); err == nil {
			t.Logf("screenshot: %s", shot)
		}
	}

	// Every request to gridd after the prompt carried the token and was
	// answered: style, TileJSON, tiles and glyphs.
	want := "Bearer " + tok
	for _, prefix := range []string{"/styles/", "/tiles/", "/fonts/"} {
		reqs := log.matching(prefix)
		if prefix == "/styles/" {
			reqs = reqs[1:] // the first, without a token, was the 401 above
		}
		if len(reqs) == 0 && prefix != "/fonts/" {
			t.Errorf("no %s request after the token", prefix)
		}
		var tilesOK int
		for _, r := range reqs {
			if r.auth != want || (r.status != http.StatusOK && r.status != http.StatusNotModified) {
				t.Errorf("%s %s: status %d, Authorization %q; want 200 with the viewer's token", r.method, r.path, r.status, r.auth)
			}
			if strings.HasSuffix(r.path, ".mvt") && r.status == http.StatusOK {
				tilesOK++
			}
		}
		if prefix == "/tiles/" && tilesOK == 0 {
			t.Error("no vector tile answered 200")
		}
		t.Logf("%s: %d requests with the token", prefix, len(reqs))
	}
	// The basemap on the other origin drew, and never saw the token (nor a
	// CORS preflight, which a token header would have caused).
	based := baseLog.matching("/")
	if len(based) == 0 {
		t.Error("the basemap was never requested")
	}
	for _, r := range based {
		if r.auth != "" || r.method != http.MethodGet {
			t.Errorf("basemap request %s %s with Authorization %q: the token left gridd's origin", r.method, r.path, r.auth)
		}
	}

	// The code search sends the token too.
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("code"), "110101001008016"),
		chromedp.Click(chromedp.CSS("#search button")),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById('status').textContent.includes('grid 110101001008016')`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("status")))
		t.Errorf("search with the token: status %q: %v", msg, err)
	}
	if s := log.matching("/v1/search"); len(s) != 1 || s[0].status != http.StatusOK || s[0].auth != want {
		t.Errorf("search requests: %+v, want one 200 with the token", s)
	}

	// The token is entered once per tab: a reload draws without asking, and
	// the editor page offers the same token.
	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/map?center=116.41,39.91&zoom=15&layers=grids")); err != nil {
		t.Fatal(err)
	}
	settle("after a reload")
	if hidden, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById('auth').hidden`)); !hidden {
		t.Error("the reloaded page asks for the token again")
	}
	// The map page reported no error but the refused style load.
	for _, c := range b.consoleErrors() {
		if !(strings.Contains(c, "401") && strings.Contains(c, "/styles/gridd.json")) {
			t.Errorf("console error: %s", c)
		}
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/edit")); err != nil {
		t.Fatal(err)
	}
	if v, _ := chromedp.Run(bctx, chromedp.Value(chromedp.ID("token"))); v != tok {
		t.Errorf("the editor page's token field holds %q, want the token entered on the map page", v)
	}
}
