package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestMapComponentsInBrowser loads /map with the components layer in
// headless Chromium: at zoom 13 MapLibre draws cluster circles whose counts
// add up to the components in view, at zoom 17 single components, the code
// search flies to a component, and no console error is raised. Screenshots
// go to the artifacts directory.
func TestMapComponentsInBrowser(t *testing.T) {
	e := newTileEnv(t, 0)
	if r := fetch(t, e.ts.URL+"/map/assets/map.js", nil); r.status != http.StatusOK {
		if os.Getenv("CI") != "" {
			t.Fatal("the map bundle is not built into this test binary: make web (make test runs it)")
		}
		t.Skip("the map bundle is not built: run make web")
	}
	e.addComponents(t, 2000, 1)
	b := newBrowser(t, 1024, 768)
	ctx := b.ctx
	b.open(t, e.ts.URL+"/map?center=116.42,39.91&zoom=13&layers=components,grids")
	idle := func(what string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.griddReady === true && !griddMap.isMoving() && griddMap.areTilesLoaded()`,
			chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			t.Fatalf("%s: the map did not settle: %v", what, err)
		}
		if errs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.griddErrors || []`)); len(errs) > 0 {
			t.Fatalf("%s: map errors: %v", what, errs)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(artifactDir(t), name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	idle("zoom 13")
	// The whole test area is in view at zoom 13: the drawn clusters count
	// every current component.
	var want int
	if err := e.st.Pool().QueryRow(e.ctx, `SELECT count(*) FROM components WHERE valid_to IS NULL`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const seen = new Map();
		for (const f of griddMap.queryRenderedFeatures({layers: ['components-cluster']})) seen.set(f.id, f.properties.point_count);
		return [...seen.values()].reduce((a, b) => a + b, 0);
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if int(drawn) != want {
		t.Errorf("zoom 13: the drawn clusters count %v components, PostGIS holds %d", drawn, want)
	}
	labels, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`griddMap.queryRenderedFeatures({layers: ['components-cluster-count']}).length`))
	if labels == 0 {
		t.Error("zoom 13: no cluster count drawn")
	}
	shot("map-components-z13.png")

	// The search flies to a component; at zoom 17 it is drawn by itself.
	var code string
	if err := e.st.Pool().QueryRow(e.ctx, `SELECT code FROM components WHERE GeometryType(geom) = 'POINT' ORDER BY id LIMIT 1`).Scan(&code); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.CSS("#search button"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`griddMap.getZoom() > 16 && !griddMap.isMoving()`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("search for component %s did not fly to it: %v", code, err)
	}
	idle("after the search")
	found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`griddMap.queryRenderedFeatures({layers: ['components-point']}).some(f => f.properties.code === '`+code+`')`))
	if err != nil || !found {
		t.Errorf("component %s not drawn after searching it: %v", code, err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	if !strings.Contains(status, "component "+code) {
		t.Errorf("search status %q", status)
	}
	shot("map-components-z17.png")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
