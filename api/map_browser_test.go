package api_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gridd/grids"
	"gridd/tiles"
)

// artifactDir is where browser tests leave screenshots: GRIDD_ARTIFACTS, or
// .artifacts at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("GRIDD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMapPageInBrowser loads /map in headless Chromium from an in-process
// server over a test database: MapLibre must draw the grids with no console
// error; the social grids' toggle must draw their choropleth with its legend;
// a code search must fly to the grid, and a click must show the grid and the
// social grid under the pointer (households, residents, target, load) and
// the lookup's answer.
func TestMapPageInBrowser(t *testing.T) {
	e := newTileEnv(t, 0)
	e.addSocialGrids(t)
	if r := fetch(t, e.ts.URL+"/map/assets/map.js", nil); r.status != http.StatusOK {
		if os.Getenv("CI") != "" {
			t.Fatal("the map bundle is not built into this test binary: make web (make test runs it)")
		}
		t.Skip("the map bundle is not built: run make web")
	}
	b := newBrowser(t, 1280, 800)
	ctx := b.ctx
	b.open(t, e.ts.URL+"/map?center=116.41,39.91&zoom=15&layers=communities,grids")
	ready := false
	deadline := time.Now().Add(60 * time.Second)
	for !ready {
		var err error
		if ready, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.griddReady === true`)); err != nil {
			t.Fatal(err)
		}
		pageErrors, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.griddErrors || []`))
		if err != nil {
			t.Fatal(err)
		}
		if len(pageErrors) > 0 {
			t.Fatalf("map errors: %v", pageErrors)
		}
		if time.Now().After(deadline) {
			t.Fatal("the map did not become idle within 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// MapLibre drew the grids: the rendered features are the current grids.
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...new Set(griddMap.queryRenderedFeatures({layers: ['grids-fill']}).map(f => f.properties.code))].sort()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(drawn) < 4 {
		t.Fatalf("MapLibre drew %d grids: %v", len(drawn), drawn)
	}
	// With public reads the page never asks for a token.
	if asks, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('auth').hidden`)); asks {
		t.Error("with public reads the map page shows the token field")
	}
	streetsVisible, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`griddMap.getLayoutProperty('streets-line', 'visibility')`))
	if streetsVisible != "none" {
		t.Errorf("layers=communities,grids left streets %q", streetsVisible)
	}

	// The social grids: hidden with their legend by the URL's layers, shown
	// by their toggle with the legend of the style's load classes.
	page := &mapPage{browser: b, t: t}
	if hidden := eval[bool](page, `document.getElementById('social-legend').hidden`); !hidden {
		t.Error("the social grids' legend shows while the layer is hidden")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("toggle-social_grids"))); err != nil {
		t.Fatal(err)
	}
	page.settle("social grids shown")
	if n, labels := page.rendered("social_grids-fill"), page.rendered("social_grids-label"); n == 0 || labels == 0 {
		t.Errorf("the social grids' toggle drew %d social grid polygons and %d labels", n, labels)
	}
	legend := eval[[]string](page, `document.getElementById('social-legend').hidden ? [] :
		[...document.querySelectorAll('#social-legend .legend-row')].map(r => (r.dataset.color || '') + ' ' + r.textContent)`)
	if len(legend) != len(tiles.SocialLoadClasses.Colors)+1 {
		t.Errorf("legend %q: want %d load classes and the no-target scale", legend, len(tiles.SocialLoadClasses.Colors))
	} else {
		for i, c := range tiles.SocialLoadClasses.Colors {
			if !strings.HasPrefix(legend[i], c+" ") {
				t.Errorf("legend row %d %q, want colour %s", i, legend[i], c)
			}
		}
		if !strings.Contains(legend[2], "on target") || !strings.Contains(legend[len(legend)-1], "no target") {
			t.Errorf("legend %q", legend)
		}
	}

	// Search flies to a grid.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), "110101001008016"),
		chromedp.Click(chromedp.CSS("#search button")),
	); err != nil {
		t.Fatal(err)
	}
	// Grid 016 of 110101001008: 116.435-116.440, 39.900-39.905.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const c = griddMap.getCenter();
		return !griddMap.isMoving() && c.lng > 116.435 && c.lng < 116.44 && c.lat > 39.9 && c.lat < 39.905;
	})()`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		center, _ := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[griddMap.getCenter().lng, griddMap.getCenter().lat]`))
		t.Errorf("after searching grid 110101001008016 the map is centred at %v: %v", center, err)
	}
	search, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	if !strings.Contains(search, "grid 110101001008016") {
		t.Errorf("search status %q", search)
	}

	// Wait for the new view to draw, then save the screenshot.
	chromedp.Run(ctx, chromedp.Evaluate[any](`window.griddReady = false; griddMap.once('idle', () => { window.griddReady = true }); griddMap.triggerRepaint(); 0`)) //nolint:errcheck
	for ready = false; !ready && time.Now().Before(deadline.Add(30*time.Second)); time.Sleep(200 * time.Millisecond) {
		ready, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.griddReady === true`))
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	// Grid codes are labelled once per grid, from its label point.
	labelled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`griddMap.queryRenderedFeatures({layers: ['grids-label']}).map(f => f.properties.code).sort()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(labelled) == 0 || strings.Join(labelled, ",") != strings.Join(uniq(labelled), ",") {
		t.Errorf("grid labels drawn: %v, want each grid in view once", labelled)
	}
	shot := filepath.Join(artifactDir(t), "map.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	// A click on grid 015 of 110101001008 (116.430-116.435, 39.900-39.905)
	// shows that grid from the map and the lookup's answer for the point.
	pt, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const p = griddMap.project([116.4325, 39.9025]);
		const r = document.getElementById('map').getBoundingClientRect();
		return [r.left + p.x, r.top + p.y];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
		t.Fatalf("click: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById('lookup').dataset.status`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("no lookup shown after the click: %v", err)
	}
	lookup, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("lookup")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lookup, "grids: 110101001008015") || !strings.Contains(lookup, "communities: 110101001008 灯市口社区") {
		t.Errorf("click panel shows %q, want grid 110101001008015 in 灯市口社区", lookup)
	}
	// Grid 015 is in social grid S04 of 110101001008: the panel and the
	// popup show its totals as SQL sums them, its target and load.
	s04 := e.socialOracle(t)["110101001008-S04"]
	load := grids.SocialTarget{Households: s04.targetHouseholds, Residents: s04.targetResidents}.Load(s04.households, s04.residents)
	for _, w := range []string{"social grid: 110101001008-S04 " + s04.name, fmt.Sprintf("households 户数 %d", s04.households),
		fmt.Sprintf("residents 人口 %d", s04.residents), fmt.Sprintf("target %d户 / %d人 · load %.2f", s04.targetHouseholds, s04.targetResidents, load)} {
		if !strings.Contains(lookup, w) {
			t.Errorf("click panel lacks %q: %q", w, lookup)
		}
	}
	popup := eval[string](page, `(document.querySelector('.social-popup .maplibregl-popup-content') || {}).textContent || ''`)
	if !strings.Contains(popup, "110101001008-S04") || !strings.Contains(popup, fmt.Sprintf("households 户数 %d", s04.households)) {
		t.Errorf("social grid popup %q, want S04 with %d households", popup, s04.households)
	}
	// The lookup API answers the click with the grid and its parents.
	if status != "200" || !strings.Contains(lookup, `"code": "110101001008015"`) || !strings.Contains(lookup, "东华门街道") {
		t.Errorf("lookup after the click: status %s, panel %q; want 200 naming grid 110101001008015 in 东华门街道", status, lookup)
	}
	t.Logf("click panel:\n%s", lookup)
	for _, c := range b.consoleErrors() {
		t.Errorf("console error: %s", c)
	}
}

func uniq(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
