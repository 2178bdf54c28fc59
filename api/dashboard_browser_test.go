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

	"gridd/api"
	"gridd/grids/postgis"
	"gridd/tiles"
)

// The command-centre dashboard in headless Chromium against a server on
// PostGIS with cases: it asks for a token, then draws the open cases (one
// overdue), shades the community that has closed cases by its on-time close
// rate, draws both charts, and a case's side panel shows its timeline and
// photo.
func TestDashboardInBrowser(t *testing.T) {
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	ts, tok := serveCases(t, st, func(c *api.Config) {
		c.Divisions, c.Tiles = st, tiles.NewService(st, 64<<20, 0)
	})
	if r := fetch(t, ts.URL+"/map/assets/dashboard.js", nil); r.status != http.StatusOK {
		if os.Getenv("CI") != "" {
			t.Fatal("the dashboard bundle is not built into this test binary: make web (make test runs it)")
		}
		t.Skip("the dashboard bundle is not built: run make web")
	}
	// Cases in the one community (116.40-116.41, 39.90-39.91), spread out.
	at := func(i int) string {
		return fmt.Sprintf(`{"lon":%.5f,"lat":%.5f,"class":"06010","description":"井盖 %d"}`, 116.4012+0.0011*float64(i), 39.9012+0.0009*float64(i%8), i)
	}
	// One overdue: reported ten days ago and never filed (1 work hour).
	clk := &testClock{}
	clk.set(time.Now().Add(-10 * 24 * time.Hour))
	st.SetCaseClock(clk.now)
	overdue := openCase(t, ts, tok["reporter"], at(0)).ID
	st.SetCaseClock(time.Now)
	// Open ones in different states.
	reported := openCase(t, ts, tok["reporter"], at(1)).ID
	filed := openCase(t, ts, tok["reporter"], at(2)).ID
	step(t, ts, tok["dispatcher"], filed, `{"step":"file"}`, 200)
	dispatched := openCase(t, ts, tok["reporter"], at(3)).ID
	step(t, ts, tok["dispatcher"], dispatched, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], dispatched, `{"step":"dispatch"}`, 200)
	handled := openCase(t, ts, tok["reporter"], at(4)).ID
	step(t, ts, tok["dispatcher"], handled, `{"step":"file"}`, 200)
	step(t, ts, tok["dispatcher"], handled, `{"step":"dispatch"}`, 200)
	step(t, ts, tok["depA"], handled, `{"step":"handle","note":"已加盖"}`, 200)
	upload(t, ts, tok["reporter"], handled, "image/jpeg", jpegOf(t, 3), 201)
	open := []int64{overdue, reported, filed, dispatched, handled}
	// Closed ones, for the evaluation: dispatched, handled and closed 30
	// days ago, so that their handling deadlines fall in the period (the
	// evaluation counts the cases due in it); one was reworked.
	clk.set(time.Now().Add(-30 * 24 * time.Hour))
	st.SetCaseClock(clk.now)
	for i := 5; i < 8; i++ {
		id := openCase(t, ts, tok["reporter"], at(i)).ID
		step(t, ts, tok["dispatcher"], id, `{"step":"file"}`, 200)
		step(t, ts, tok["dispatcher"], id, `{"step":"dispatch"}`, 200)
		step(t, ts, tok["depA"], id, `{"step":"handle","note":"已处置"}`, 200)
		if i == 5 {
			step(t, ts, tok["supervisor"], id, `{"step":"rework","reason":"未处置到位"}`, 200)
			step(t, ts, tok["depA"], id, `{"step":"handle","note":"已返工"}`, 200)
		}
		step(t, ts, tok["supervisor"], id, `{"step":"verify"}`, 200)
		step(t, ts, tok["dispatcher"], id, `{"step":"close"}`, 200)
	}
	st.SetCaseClock(time.Now)

	b := newBrowser(t, 1400, 900)
	bctx := b.ctx
	b.open(t, ts.URL+"/dashboard")

	// No token in the tab: the page asks for one, even without private reads.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`!document.getElementById('auth').hidden`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the dashboard did not ask for a token: %v", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("token"), tok["viewer"]),
		chromedp.Click(chromedp.CSS("#auth button")),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](
		`window.griddDashboard.ready === true && !griddMap.isMoving() && griddMap.areTilesLoaded()`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("status")))
		errs, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.griddDashboard.errors`))
		t.Fatalf("the dashboard did not settle: %v (status %q, errors %v)", err, msg, errs)
	}
	if errs, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.griddDashboard.errors`)); len(errs) > 0 {
		t.Fatalf("dashboard errors: %v", errs)
	}

	// The open cases: in the source and drawn, the overdue one flagged.
	if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`window.griddDashboard.cases`)); n != len(open) {
		t.Errorf("the cases source holds %d cases, want the %d open ones", n, len(open))
	}
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`[...new Set(griddMap.queryRenderedFeatures({layers: ['dash-cases']}).map(f => f.properties.id))].sort((a, b) => a - b)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(drawn) != len(open) {
		t.Errorf("drawn case circles %v, want the open cases %v", drawn, open)
	}
	late, _ := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`griddMap.queryRenderedFeatures({layers: ['dash-cases']}).filter(f => f.properties.overdue).map(f => f.properties.id)`))
	if len(late) != 1 || int64(late[0]) != overdue {
		t.Errorf("overdue circles %v, want [%d]", late, overdue)
	}

	// The choropleth: the community's feature-state holds its on-time
	// close rate (3 due, closed on time).
	rate, err := chromedp.Run(bctx, chromedp.Evaluate[any](
		`griddMap.getFeatureState({source: 'gridd', sourceLayer: 'communities', id: 110101001001}).rate`))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := rate.(float64); !ok || r <= 0 || r > 1 {
		t.Errorf("community 110101001001 feature-state rate %v, want its on-time close rate in (0, 1]", rate)
	}
	shaded, _ := chromedp.Run(bctx, chromedp.Evaluate[int](
		`griddMap.queryRenderedFeatures({layers: ['dash-choropleth']}).filter(f => f.state && typeof f.state.rate === 'number').length`))
	if shaded == 0 {
		t.Error("no community drawn with a rate in the choropleth layer")
	}
	// Another rate: the rework rate (1 of 3 closed cases reworked).
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`{ const s = document.getElementById('rate'); s.value = 'rework_rate'; s.dispatchEvent(new Event('change')); } 0`)); err != nil {
		t.Fatal(err)
	}
	rework, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](
		`griddMap.getFeatureState({source: 'gridd', sourceLayer: 'communities', id: 110101001001}).rate`))
	if rework <= 0 || rework >= 1 {
		t.Errorf("rework rate in the feature-state %v, want between 0 and 1 (one of the closed cases was reworked)", rework)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`{ const s = document.getElementById('rate'); s.value = 'on_time_close_rate'; s.dispatchEvent(new Event('change')); } 0`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`griddMap.loaded() && !griddMap.isMoving()`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	// By street and by unit grid: the evaluation's rows shade those tile
	// layers' areas instead.
	for _, lv := range []struct {
		level, layer string
		digits       int
	}{{"street", "streets", 9}, {"grid", "grids", 15}, {"community", "communities", 12}} {
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](fmt.Sprintf(`{ const s = document.getElementById('level'); s.value = '%s'; s.dispatchEvent(new Event('change')); } 0`, lv.level))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(
			`window.griddDashboard.level === '%s' && Object.keys(window.griddDashboard.choropleth).length > 0 && Object.keys(window.griddDashboard.choropleth).every(k => k.length === %d)`, lv.level, lv.digits),
			chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("shading by %s: %v", lv.level, err)
		}
		rate, _ := chromedp.Run(bctx, chromedp.Evaluate[any](fmt.Sprintf(
			`(() => { const id = Number(Object.keys(window.griddDashboard.choropleth)[0]); return griddMap.getFeatureState({source: 'gridd', sourceLayer: '%s', id}).rate; })()`, lv.layer)))
		if r, ok := rate.(float64); !ok || r < 0 || r > 1 {
			t.Errorf("shading by %s: the %s feature-state rate is %v", lv.level, lv.layer, rate)
		}
		if layer, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`griddMap.getLayer('dash-choropleth').sourceLayer`)); layer != lv.layer {
			t.Errorf("shading by %s: the choropleth draws %s", lv.level, layer)
		}
	}

	// The charts: two uPlot canvases with a size; this week's reports
	// counted, and the open cases by major class.
	sizes, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`['chart-weeks', 'chart-classes'].flatMap(id => { const c = document.querySelector('#' + id + ' canvas'); return c ? [c.width, c.height] : [0, 0]; })`))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sizes {
		if s < 50 {
			t.Errorf("chart canvas sizes %v: canvas %d has no size", sizes, i/2)
		}
	}
	weeks, _ := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`window.griddDashboard.weeks`))
	var reportedSum float64
	for _, w := range weeks {
		reportedSum += w
	}
	if len(weeks) < 52 || reportedSum != float64(len(open)+3) {
		t.Errorf("weekly reported counts %v (sum %v), want 52+ weeks holding the %d cases", weeks, reportedSum, len(open)+3)
	}
	classes, _ := chromedp.Run(bctx, chromedp.Evaluate[map[string]float64](`window.griddDashboard.classes`))
	var classSum float64
	for _, n := range classes {
		classSum += n
	}
	if len(classes) != 1 || classSum != float64(len(open)) {
		t.Errorf("open cases by major class %v, want the %d open cases in one major class", classes, len(open))
	}
	// The hot spots: the reports counted in H3 cells, drawn under the
	// cases (the tiles need the token: a refused one is a map error).
	hot, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`griddMap.queryRenderedFeatures({layers: ['dash-hotspots']}).map(f => f.properties.reports)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(hot) == 0 {
		t.Error("no hot-spot cells drawn")
	}
	for _, n := range hot {
		if n < 1 {
			t.Errorf("a hot-spot cell drawn with %v reports", n)
		}
	}
	shot := func(name string) {
		if png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot()); err == nil {
			p := filepath.Join(artifactDir(t), name)
			if err := os.WriteFile(p, png, 0o644); err == nil {
				t.Logf("screenshot: %s", p)
			}
		}
	}
	shot("dashboard.png")

	// Pushed updates: a step and a new case reach the page through
	// /v1/cases/feed and are redrawn without reload.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`window.griddDashboard.feed === 'open'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the dashboard did not open the case feed: %v", err)
	}
	step(t, ts, tok["dispatcher"], reported, `{"step":"file"}`, 200)
	openCase(t, ts, tok["reporter"], `{"lon":116.4056,"lat":39.9077,"class":"06010","description":"新上报"}`)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(
		`window.griddDashboard.cases === %d && window.griddDashboard.features.find(f => f.id === %d).properties.state === 'filed'`, len(open)+1, reported),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		pushed, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](`window.griddDashboard.pushed`))
		t.Errorf("the step and the new case were not redrawn (%v changes pushed): %v", pushed, err)
	}
	if polls, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](`window.griddDashboard.polls`)); polls != 0 {
		t.Errorf("the page polled %v times with the feed open", polls)
	}

	// A click on the handled case's circle (at its projected point): the
	// side panel shows its 4 events (report, file, dispatch, handle) and
	// its photo.
	pt, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](fmt.Sprintf(
		`(() => { const f = window.griddDashboard.features.find(f => f.id === %d);
		const p = griddMap.project(f.geometry.coordinates); const r = griddMap.getCanvas().getBoundingClientRect();
		return [p.x + r.left, p.y + r.top]; })()`, handled)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](
		fmt.Sprintf(`document.getElementById('case').dataset.id === '%d' && document.getElementById('case').dataset.loaded !== '' && document.querySelectorAll('#photos img').length > 0 && [...document.querySelectorAll('#photos img')].every(i => i.complete && i.naturalWidth > 0)`, handled),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		id, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('case').dataset.id || ''`))
		t.Fatalf("clicking case %d's circle: the side panel did not load it with its photo (panel shows %q): %v", handled, id, err)
	}
	events, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#timeline li b')].map(b => b.textContent)`))
	if strings.Join(events, ",") != "report,file,dispatch,handle" {
		t.Errorf("timeline steps %v, want report,file,dispatch,handle", events)
	}
	if note, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("timeline"))); !strings.Contains(note, "已加盖") {
		t.Errorf("timeline %q lacks the handling note", note)
	}
	shot("dashboard-case.png")

	// The overdue case through the window hook: 1 event, marked overdue.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](fmt.Sprintf(`window.griddDashboard.showCase(%d); 0`, overdue))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](
		fmt.Sprintf(`document.getElementById('case').dataset.id === '%d' && document.getElementById('case').dataset.loaded === '1'`, overdue),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Errorf("the overdue case's panel: %v", err)
	}
	if meta, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("case-meta"))); !strings.Contains(meta, "overdue") {
		t.Errorf("the overdue case's panel says %q, want overdue", meta)
	}

	// Every case request carried the viewer's token; nothing went wrong.
	for _, c := range b.consoleErrors() {
		t.Errorf("console error: %s", c)
	}
}
