package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb/encoding/mvt"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

// newEditTileServer serves the editable grids with the editor, OGC API and
// vector tiles, and follows the change feed as gridd serve does, so that a
// saved edit drops the tiles it touches.
func newEditTileServer(t *testing.T) (*httptest.Server, *postgis.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	svc := tiles.NewService(st, 64<<20, 0)
	go st.Listen(ctx, 200*time.Millisecond, func(c grids.Change) { svc.Apply(c) }) //nolint:errcheck // ends with ctx
	ts := httptest.NewServer(api.New(api.Config{Divisions: st, Editor: st, Tokens: st, Features: st, Tiles: svc, MgmtGrids: st}).Handler())
	t.Cleanup(func() { ts.Close(); cancel() })
	return ts, st
}

// tileGridCodes decodes the grids tile and lists its grid polygons' codes.
func tileGridCodes(t *testing.T, base string, id tiles.ID) []string {
	t.Helper()
	r := fetch(t, fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", base, id.Z, id.X, id.Y), nil)
	if r.status != 200 {
		t.Fatalf("tile %s: status %d: %s", id, r.status, r.body)
	}
	ls, err := mvt.Unmarshal(r.body)
	if err != nil {
		t.Fatalf("tile %s does not decode: %v", id, err)
	}
	for _, l := range ls {
		if l.Name == "grids" {
			return layerCodes(l, false)
		}
	}
	t.Fatalf("tile %s has no grids layer", id)
	return nil
}

// The editor page in headless Chromium: select a grid, draw a line across
// it, save with a message; the page shows the new grid, the server has it,
// and the grids tile over it draws the new grid.
func TestEditPageSplitInBrowser(t *testing.T) {
	ctx := context.Background()
	ts, st := newEditTileServer(t)
	// The tile over 005 before the edit, read once so that the cache holds
	// it: after the split only the change feed can make it current.
	tile005 := tileAt(eLon0+1.5*eDLon, eLat0+0.5*eDLat, 16)
	if codes := tileGridCodes(t, ts.URL, tile005); !slices.Contains(codes, "110101001007005") || slices.Contains(codes, "110101001007007") {
		t.Fatalf("tile %s before the edit: %v", tile005, codes)
	}
	tok, err := st.CreateToken(ctx, "browser-alice", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	bctx := newBrowser(t, 1200, 800).ctx

	gridCount := func(n int) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll("path.grid").length === %d`, n),
			chromedp.WithPollingTimeout(15*time.Second))
	}
	type point struct{ X, Y float64 }
	x := eLon0 + 1.5*eDLon
	// Build the page, select 005, switch to split mode.
	err = chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/edit?community=110101001007"),
		gridCount(6),
		chromedp.SetValue(chromedp.CSS("#token"), tok),
		chromedp.Click(chromedp.CSS(`path[data-code="110101001007005"]`)),
		chromedp.Click(chromedp.CSS(`button[data-mode="split"]`)),
	)
	if err != nil {
		t.Fatalf("browser: open the editor and select: %v", err)
	}
	// Click two points south and north of 005: the cut line.
	for _, lat := range []float64{eLat0 - 0.0001, eLat0 + 1.5*eDLat} {
		p, err := chromedp.Run(bctx, chromedp.Evaluate[point](fmt.Sprintf(`gridEditor.toScreen(%v, %v)`, x, lat)))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(bctx, chromedp.MouseClickXY(p.X, p.Y)); err != nil {
			t.Fatal(err)
		}
	}
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#message"), "new lane through 005"),
		chromedp.Click(chromedp.CSS("#save")),
		gridCount(7),
	)
	msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg")))
	if err != nil {
		t.Fatalf("browser: save: %v (message on the page: %q)", err, msg)
	}
	if !strings.Contains(msg, "created: 007 v1") {
		t.Errorf("page message %q, want the new grid 007", msg)
	}
	g, err := st.Grid(ctx, "110101001007007")
	if err != nil {
		t.Fatalf("the new grid is not stored: %v", err)
	}
	hs, _ := st.GridHistory(ctx, "110101001007007")
	if len(hs) != 1 || hs[0].Actor != "token:browser-alice" || hs[0].Reason != "new lane through 005" {
		t.Errorf("history of the new grid: %+v", hs)
	}
	// What map clients read (OGC API items) shows the new grid.
	status, _, body := client{t: t, base: ts.URL}.do("GET", "/ogc/collections/grids/items?limit=100", "")
	if status != 200 || !strings.Contains(body, `"numberMatched":7`) || !strings.Contains(body, "110101001007007") {
		t.Errorf("OGC items after the browser edit: %d %.300s", status, body)
	}
	_ = g
	// The tiles show the new grid once the change feed has reached the
	// tile cache; the wait ends as soon as it has.
	var codes []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if codes = tileGridCodes(t, ts.URL, tile005); slices.Contains(codes, "110101001007007") {
			break
		}
	}
	if !slices.Contains(codes, "110101001007007") || !slices.Contains(codes, "110101001007005") {
		t.Errorf("tile %s after the split draws %v, want both 005 and the new 007", tile005, codes)
	}
}

// The editor's management-grid mode in headless Chromium: the community's
// social grids are listed with their households and load; a click on a unit
// grid of one and on a unit grid of its neighbour shows the balance of a dry
// run (households and load before and after, as SQL sums them); Save makes
// the move, which PostgreSQL then holds.
func TestEditPageMoveUnitGridInBrowser(t *testing.T) {
	ctx := context.Background()
	ts, st := newEditTileServer(t)
	addSocial(t, st)
	tok, err := st.CreateToken(ctx, "browser-gis", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	const s1, s2 = "110101001007-S01", "110101001007-S02"
	sum := func(codes ...string) (hh int) {
		for i := range codes {
			codes[i] = "110101001007" + codes[i]
		}
		if err := st.Pool().QueryRow(ctx, `SELECT coalesce(sum(households), 0) FROM buildings WHERE valid_to IS NULL AND grid_code = ANY($1)`, codes).Scan(&hh); err != nil {
			t.Fatal(err)
		}
		return hh
	}
	bctx := newBrowser(t, 1200, 800).ctx
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))
	}
	err = chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/edit?community=110101001007"),
		poll(`document.querySelectorAll("path.grid").length === 6`),
		chromedp.SetValue(chromedp.CSS("#token"), tok),
		chromedp.Click(chromedp.CSS(`button[data-mode="mgmt"]`)),
		poll(`document.querySelectorAll("#mgmtlist li").length === 2`),
		chromedp.Click(chromedp.CSS(`path[data-code="110101001007001"]`)),
		chromedp.Click(chromedp.CSS(`path[data-code="110101001007004"]`)),
		poll(`document.querySelector("#balance table") !== null && !document.querySelector("#save").disabled`),
	)
	msg, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg")))
	if err != nil {
		t.Fatalf("browser: open the editor, pick 001 and 004: %v (message on the page: %q)", err, msg)
	}
	legend, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#mgmtlist")))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("S01 南池子社区第1网格 v1: 3 grids, %d households", sum("001", "002", "003")); !strings.Contains(legend, want) {
		t.Errorf("legend %q, want %q", legend, want)
	}
	balance, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#balance")))
	if err != nil {
		t.Fatal(err)
	}
	h1, h1a := sum("001", "002", "003"), sum("002", "003")
	h2, h2a := sum("004", "005", "006"), sum("001", "004", "005", "006")
	for _, want := range []string{
		fmt.Sprintf("households\t%d → %d\t%d → %d", h1, h1a, h2, h2a),
		fmt.Sprintf("load (target 100)\t%.2f → %.2f\t%.2f → %.2f", float64(h1)/100, float64(h1a)/100, float64(h2)/100, float64(h2a)/100),
		"unit grids\t3 → 2\t3 → 4",
	} {
		if !strings.Contains(balance, want) {
			t.Errorf("balance on the page %q lacks %q", balance, want)
		}
	}
	// Nothing is stored by the dry run.
	var members int
	st.Pool().QueryRow(ctx, `SELECT count(*) FROM mgmt_grid_members m JOIN mgmt_grids g ON g.id = m.mgmt_grid_id WHERE g.code = $1 AND g.valid_to IS NULL`, s2).Scan(&members) //nolint:errcheck
	if members != 3 {
		t.Fatalf("%s has %d members after the dry run", s2, members)
	}
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#message"), "001 is reached from the south gate"),
		chromedp.Click(chromedp.CSS("#save")),
		poll(`document.querySelector("#msg").textContent.startsWith("moved unit grid 001")`),
	)
	msg, _ = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg")))
	if err != nil {
		t.Fatalf("browser: save: %v (message on the page: %q)", err, msg)
	}
	var got []string
	var actor string
	err = st.Pool().QueryRow(ctx, `SELECT array_agg(m.grid_code ORDER BY m.grid_code),
			(SELECT actor FROM history WHERE entity = 'mgmt_grid' AND code = $1 AND action = 'update' AND reason = '001 is reached from the south gate')
		FROM mgmt_grid_members m JOIN mgmt_grids g ON g.id = m.mgmt_grid_id WHERE g.code = $1 AND g.valid_to IS NULL`, s2).Scan(&got, &actor)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"110101001007001", "110101001007004", "110101001007005", "110101001007006"}) || actor != "token:browser-gis" {
		t.Errorf("%s after the browser's move: %v by %q", s2, got, actor)
	}
	// The page shows the new versions in its legend.
	if err := chromedp.Do(bctx, poll(`document.querySelector('#mgmtlist li[data-code="`+s1+`"]').textContent.includes("v2: 2 grids")`)); err != nil {
		legend, _ = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#mgmtlist")))
		t.Errorf("legend after the move: %q", legend)
	}
}
