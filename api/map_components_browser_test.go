package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

// mapPage is /map open in headless Chromium.
type mapPage struct {
	*browser
	t *testing.T
}

// openMap opens the map page of the server at the query, in a window of the
// size, and waits for its first complete drawing.
func openMap(t *testing.T, base, query string, width, height int) *mapPage {
	t.Helper()
	if r := fetch(t, base+"/map/assets/map.js", nil); r.status != http.StatusOK {
		if os.Getenv("CI") != "" {
			t.Fatal("the map bundle is not built into this test binary: make web (make test runs it)")
		}
		t.Skip("the map bundle is not built: run make web")
	}
	p := &mapPage{browser: newBrowser(t, width, height), t: t}
	p.open(t, base+"/map"+query)
	p.settle("the first view")
	return p
}

// settle waits until the map has loaded, stopped moving and drawn a frame
// with every tile and symbol placement done, and fails on a map error.
func (p *mapPage) settle(what string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`new Promise((resolve) => {
		const wait = () => {
			if (window.griddReady !== true || (window.griddErrors || []).length > 0) { setTimeout(wait, 100); return; }
			griddMap.once('idle', () => resolve(true));
			griddMap.triggerRepaint();
		};
		wait();
	})`, chromedp.EvalAwaitPromise)); err != nil {
		p.t.Fatalf("%s: the map did not settle: %v", what, err)
	}
	if errs, _ := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`window.griddErrors || []`)); len(errs) > 0 {
		p.t.Fatalf("%s: map errors: %v", what, errs)
	}
}

// jump moves the map to the zoom (and the center, when given) and settles.
func (p *mapPage) jump(zoom float64, center ...float64) {
	p.t.Helper()
	js := fmt.Sprintf(`griddMap.jumpTo({zoom: %g})`, zoom)
	if len(center) == 2 {
		js = fmt.Sprintf(`griddMap.jumpTo({zoom: %g, center: [%g, %g]})`, zoom, center[0], center[1])
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[any](js+`; 0`)); err != nil {
		p.t.Fatal(err)
	}
	p.settle(fmt.Sprintf("zoom %g", zoom))
}

// shot saves a screenshot of the page in the artifacts directory.
func (p *mapPage) shot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(artifactDir(p.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
}

// eval runs an expression in the page.
func eval[T any](p *mapPage, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// rendered counts the features MapLibre draws in the style layer (for a
// symbol layer: the symbols it placed).
func (p *mapPage) rendered(layer string) int {
	p.t.Helper()
	return eval[int](p, `griddMap.queryRenderedFeatures({layers: ['`+layer+`']}).length`)
}

// clusterCount adds up the counts of the distinct cluster points MapLibre
// draws in the style layer.
func (p *mapPage) clusterCount(layer string) int {
	p.t.Helper()
	return eval[int](p, `(() => {
		const seen = new Map();
		for (const f of griddMap.queryRenderedFeatures({layers: ['`+layer+`']})) seen.set(f.id, f.properties.point_count);
		return [...seen.values()].reduce((a, b) => a + b, 0);
	})()`)
}

// placedLabels lists, sorted, the names (or codes) of the division and grid
// labels MapLibre placed, as "layer:name".
func (p *mapPage) placedLabels() []string {
	p.t.Helper()
	return eval[[]string](p, `[...new Set(griddMap.queryRenderedFeatures({layers: ['districts-label', 'streets-label',
		'communities-label', 'mgmt_grids-label', 'grids-label']}).map(f => f.layer.id + ':' + (f.properties.name || f.properties.code)))].sort()`)
}

// labelsIgnoreComponents toggles the components layer off with the page's
// own checkbox and back on: the labels placed must be the same either way,
// so that no component, cluster or count takes a label's place.
func (p *mapPage) labelsIgnoreComponents(what string) {
	p.t.Helper()
	with := p.placedLabels()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.ID("toggle-components"))); err != nil {
		p.t.Fatal(err)
	}
	p.settle(what + ", components hidden")
	without := p.placedLabels()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.ID("toggle-components"))); err != nil {
		p.t.Fatal(err)
	}
	p.settle(what + ", components shown again")
	if a, b := strings.Join(with, ","), strings.Join(without, ","); a != b {
		p.t.Errorf("%s: the components change the labels placed:\nwith them    %s\nwithout them %s", what, a, b)
	}
}

// TestMapComponentsInBrowser loads /map with the components layer in
// headless Chromium: below zoom 15 the components are a density wash
// (no bubble, no count) that accounts for every component, from zoom 15
// cluster bubbles whose counts add up to the components in view, at zoom 17
// single components; the code search flies to a component, and no console
// error is raised. Screenshots go to the artifacts directory.
func TestMapComponentsInBrowser(t *testing.T) {
	e := newTileEnv(t, 0)
	e.addComponents(t, 2000, 1)
	// The components and the box of their representative points (the
	// point, or ST_PointOnSurface), which the clusters count. The test area
	// (116.40-116.44, 39.90-39.92, lines a little beyond) spans about
	// 2050 x 1340 pixels at zoom 15: the embedded map in a 2200 x 1560
	// window (a viewport of about 2200 x 1420) shows all of it.
	var want int
	var box []float64
	if err := e.st.Pool().QueryRow(e.ctx, `SELECT n, ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)] FROM (
		SELECT count(*) AS n, ST_Extent(CASE WHEN GeometryType(geom) = 'POINT' THEN geom ELSE ST_PointOnSurface(geom) END) AS b
		FROM components WHERE valid_to IS NULL) c`).Scan(&want, &box); err != nil {
		t.Fatal(err)
	}
	p := openMap(t, e.ts.URL, fmt.Sprintf("?center=%.6f,%.6f&zoom=13&layers=components,grids&embed=1",
		(box[0]+box[2])/2, (box[1]+box[3])/2), 2200, 1560)

	// Zoom 13: the wash counts every current component; no bubble.
	if got := p.clusterCount("components-heat"); got != want {
		t.Errorf("zoom 13: the density wash counts %d components, PostGIS holds %d", got, want)
	}
	if n, m := p.rendered("components-cluster"), p.rendered("components-cluster-count"); n+m != 0 {
		t.Errorf("zoom 13: %d cluster bubbles and %d counts drawn, want only the density wash", n, m)
	}
	p.shot("map-components-z13.png")

	// Zoom 15: the bubbles count every current component; counts are drawn.
	p.jump(tiles.ComponentClustersFromZoom)
	if view := eval[[]float64](p, `griddMap.getBounds().toArray().flat()`); view[0] > box[0] || view[1] > box[1] || view[2] < box[2] || view[3] < box[3] {
		t.Fatalf("zoom %d: the map shows %v, not all the components in %v", tiles.ComponentClustersFromZoom, view, box)
	}
	if got := p.clusterCount("components-cluster"); got != want {
		t.Errorf("zoom %d: the drawn clusters count %d components, PostGIS holds %d", tiles.ComponentClustersFromZoom, got, want)
	}
	if p.rendered("components-cluster-count") == 0 {
		t.Errorf("zoom %d: no cluster count drawn", tiles.ComponentClustersFromZoom)
	}
	if n := p.rendered("components-heat"); n != 0 {
		t.Errorf("zoom %d: the density wash still draws %d clusters", tiles.ComponentClustersFromZoom, n)
	}
	p.shot("map-components-z15.png")

	// The search flies to a component; at zoom 17 it is drawn by itself.
	var code string
	if err := e.st.Pool().QueryRow(e.ctx, `SELECT code FROM components WHERE GeometryType(geom) = 'POINT' ORDER BY id LIMIT 1`).Scan(&code); err != nil {
		t.Fatal(err)
	}
	// The panel comes back as in a page not embedded.
	eval[any](p, `document.body.classList.remove('embed'); griddMap.resize(); 0`)
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.CSS("#search button"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`griddMap.getZoom() > 16 && !griddMap.isMoving()`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("search for component %s did not fly to it: %v", code, err)
	}
	p.settle("after the search")
	found := eval[bool](p, `griddMap.queryRenderedFeatures({layers: ['components-point']}).some(f => f.properties.code === '`+code+`')`)
	if !found {
		t.Errorf("component %s not drawn after searching it", code)
	}
	status, _ := chromedp.Run(p.ctx, chromedp.Text(chromedp.ID("status")))
	if !strings.Contains(status, "component "+code) {
		t.Errorf("search status %q", status)
	}
	p.shot("map-components-z17.png")
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// demoCensusSeed is the seed of gridd demo's component census.
const demoCensusSeed = 110101

// newDemoTileEnv serves the demo district as `gridd demo` loads it: its
// divisions, roads, the unit grids built from them and the component
// census over those grids.
func newDemoTileEnv(t *testing.T) *tileEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st := postgis.NewStore(pgtest.New(t))
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "dongcheng", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	divs, rejected, err := grids.ParseDivisions(read("divisions.geojson"), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("demo divisions: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, divs, "test", "demo"); err != nil {
		t.Fatal(err)
	}
	roads, rejected, err := grids.ParseLines(read("roads.geojson"), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("demo roads: %v %v", err, rejected)
	}
	if _, err := st.ImportLines(ctx, "roads", roads, "test", "demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Build(ctx, grids.BuildRequest{Area: "110101", Actor: "test", Reason: "demo"}, nil); err != nil {
		t.Fatal(err)
	}
	shapes, err := st.GridShapes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := st.ImportComponents(ctx, grids.DemoCensus(shapes, demoCensusSeed),
		grids.ComponentImport{Mode: grids.SkipInvalid, Actor: "test", Reason: "demo census"})
	if err != nil || rep.Created == 0 {
		t.Fatalf("demo census: %d components: %v", rep.Created, err)
	}
	svc := tiles.NewService(st, 64<<20, 0)
	srv := api.New(api.Config{Ready: st.Ready, Divisions: st, Version: "test", Tiles: svc, Places: st, Lookup: runningLocator(t, st)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); cancel() })
	return &tileEnv{ts: ts, st: st, svc: svc, ctx: ctx, close: cancel}
}

// TestMapFirstViewInBrowser opens /map over the demo district with no view
// in the URL: the first view fits the district, its name, every street's
// and communities' names are placed, the components are a density wash
// with no bubble or count, and the components take no label's place there,
// at zoom 14 or at zoom 15 where the count bubbles appear. Screenshots of
// the first view and of zoom 14 go to the artifacts directory.
func TestMapFirstViewInBrowser(t *testing.T) {
	e := newDemoTileEnv(t)
	q := func(dst any, sql string) {
		t.Helper()
		if err := e.st.Pool().QueryRow(e.ctx, sql).Scan(dst); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	var components int
	var extent []float64
	var streets []string
	q(&components, `SELECT count(*) FROM components WHERE valid_to IS NULL`)
	q(&extent, `SELECT ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)] FROM (SELECT ST_Extent(geom) AS b FROM districts WHERE valid_to IS NULL) d`)
	q(&streets, `SELECT array_agg('streets-label:' || name ORDER BY name) FROM streets WHERE valid_to IS NULL`)

	p := openMap(t, e.ts.URL, "", 1280, 800)

	// The view fits the district: its box is inside the map and spans most
	// of the map's width or height.
	fit := eval[[]float64](p, fmt.Sprintf(`(() => {
		const a = griddMap.project([%g, %g]), b = griddMap.project([%g, %g]), c = griddMap.getCanvas();
		const w = c.clientWidth, h = c.clientHeight;
		return [a.x, b.y, b.x, a.y, w, h, griddMap.getZoom()];
	})()`, extent[0], extent[1], extent[2], extent[3]))
	x0, y0, x1, y1, w, h := fit[0], fit[1], fit[2], fit[3], fit[4], fit[5]
	if x0 < 0 || y0 < 0 || x1 > w || y1 > h || (x1-x0 < 0.8*w && y1-y0 < 0.8*h) {
		t.Errorf("first view: the district spans pixels %.0f,%.0f-%.0f,%.0f of a %.0fx%.0f map, want it fitted", x0, y0, x1, y1, w, h)
	}
	t.Logf("first view: zoom %.2f, district at %.0f,%.0f-%.0f,%.0f of %.0fx%.0f", fit[6], x0, y0, x1, y1, w, h)

	// Names first: the district's, every street's, and communities'.
	labels := p.placedLabels()
	placed := map[string]bool{}
	communities := 0
	for _, l := range labels {
		placed[l] = true
		if strings.HasPrefix(l, "communities-label:") {
			communities++
		}
	}
	t.Logf("first view: %d labels placed, %d of them communities", len(labels), communities)
	if !placed["districts-label:东城区"] {
		t.Errorf("first view: the district's name is not placed; labels %v", labels)
	}
	var missing []string
	for _, s := range streets {
		if !placed[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		t.Errorf("first view: %d of %d street names not placed: %v", len(missing), len(streets), missing)
	}
	if communities == 0 {
		t.Error("first view: no community name placed")
	}
	// The components: a wash that accounts for all of them, no bubble.
	if got := p.clusterCount("components-heat"); got != components {
		t.Errorf("first view: the density wash counts %d components, PostGIS holds %d", got, components)
	}
	if n, m := p.rendered("components-cluster"), p.rendered("components-cluster-count"); n+m != 0 {
		t.Errorf("first view: %d cluster bubbles and %d counts drawn, want only the density wash", n, m)
	}
	p.labelsIgnoreComponents("first view")
	p.shot("map-default.png")

	// Zoom 12 and 14 over the district's middle: still no bubble, and the
	// labels are the same with or without the components.
	center := eval[[]float64](p, `[griddMap.getCenter().lng, griddMap.getCenter().lat]`)
	for _, z := range []float64{12, 14} {
		p.jump(z, center...)
		if n, m := p.rendered("components-cluster"), p.rendered("components-cluster-count"); n+m != 0 {
			t.Errorf("zoom %g: %d cluster bubbles and %d counts drawn, want only the density wash", z, n, m)
		}
		if p.rendered("components-heat") == 0 {
			t.Errorf("zoom %g: no density wash", z)
		}
		p.labelsIgnoreComponents(fmt.Sprintf("zoom %g", z))
	}
	n := 0
	for _, l := range p.placedLabels() {
		if strings.HasPrefix(l, "communities-label:") {
			n++
		}
	}
	if n == 0 {
		t.Error("zoom 14: no community name placed")
	}
	t.Logf("zoom 14: %d community names placed", n)
	p.shot("map-z14.png")

	// From zoom 15 the bubbles and counts come, under the labels: the counts
	// take no label's place.
	p.jump(tiles.ComponentClustersFromZoom)
	if p.rendered("components-cluster") == 0 || p.rendered("components-cluster-count") == 0 {
		t.Errorf("zoom %d: no cluster bubble or count drawn", tiles.ComponentClustersFromZoom)
	}
	p.labelsIgnoreComponents(fmt.Sprintf("zoom %d", tiles.ComponentClustersFromZoom))
	p.shot("map-z15.png")
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
