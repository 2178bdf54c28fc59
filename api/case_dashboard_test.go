package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"gridd/grids"
	"gridd/grids/postgis"
)

// hotspotFeatures fetches a hot-spot tile and returns its cells' counts.
func hotspotFeatures(t *testing.T, url, tok string) (map[uint64]int, mvt.Layers) {
	t.Helper()
	r := fetch(t, url, map[string]string{"Authorization": "Bearer " + tok})
	if r.status == http.StatusNoContent {
		return map[uint64]int{}, nil
	}
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" {
		t.Fatalf("%s: %d %s %s", url, r.status, r.header.Get("Content-Type"), r.body)
	}
	ls, err := mvt.Unmarshal(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Name != "hotspots" {
		t.Fatalf("%s: layers %d, want one named hotspots", url, len(ls))
	}
	out := map[uint64]int{}
	for _, f := range ls[0].Features {
		// The feature id is the cell, but orb decodes ids as float64, which
		// cannot hold 64 bits: the h3 property is the key.
		h, _ := f.Properties["h3"].(string)
		c, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			t.Fatalf("feature h3 %q: %v", h, err)
		}
		if id, _ := f.ID.(float64); id != float64(c) {
			t.Errorf("feature %v: h3 %q, want its id in hexadecimal", f.ID, h)
		}
		n, _ := f.Properties["reports"].(float64)
		out[c] = int(n)
	}
	return out, ls
}

// The hot-spot layer: reports counted in H3 cells, per month, against
// PostGIS: the tile's cells and counts are the reports' parents (by H3's
// bit layout) in the period, at the resolution for the zoom; every report
// lies in its cells' stored outlines; reports stored without cells are
// counted by IndexReportCells to the same figures.
func TestCaseHotspots(t *testing.T) {
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	ts, tok := serveCases(t, st, nil)
	ctx := context.Background()

	// 24 reports in one z14 tile: 16 this month, 8 three months back.
	tile := maptile.At(orb.Point{116.405, 39.905}, 14)
	rng := rand.New(rand.NewPCG(7, 15))
	point := func() orb.Point {
		for {
			p := orb.Point{116.4005 + 0.0095*rng.Float64(), 39.9005 + 0.0095*rng.Float64()}
			if maptile.At(p, 14) == tile {
				return p
			}
		}
	}
	clk := &testClock{}
	clk.set(time.Now().AddDate(0, -3, 0))
	st.SetCaseClock(clk.now)
	for i := range 24 {
		if i == 8 {
			st.SetCaseClock(time.Now)
		}
		p := point()
		openCase(t, ts, tok["reporter"], fmt.Sprintf(`{"lon":%.6f,"lat":%.6f,"class":"06010"}`, p[0], p[1]))
	}
	url := func(tl maptile.Tile, q string) string {
		return fmt.Sprintf("%s/v1/cases/hotspots/%d/%d/%d.mvt%s", ts.URL, tl.Z, tl.X, tl.Y, q)
	}
	if r := fetch(t, url(tile, ""), nil); r.status != http.StatusUnauthorized {
		t.Errorf("a hot-spot tile without a token: %d, want 401", r.status)
	}
	now := time.Now().In(grids.ChinaTime)
	month := now.Format("2006-01")
	// expect counts, from PostGIS, the reports of the months [from, to]
	// (first days) inside each stored outline of resolution res that holds
	// any.
	expect := func(res int, from, to string) map[uint64]int {
		rows, err := pool.Query(ctx, `SELECT c.cell, count(*) FROM reports r
			JOIN h3_cells c ON c.res = $3 AND ST_Covers(ST_Transform(c.geom, 4326), r.geom)
			WHERE date_trunc('month', r.at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1::date AND $2::date GROUP BY 1`, from, to, res)
		if err != nil {
			t.Fatal(err)
		}
		out := map[uint64]int{}
		var c int64
		var n int
		for rows.Next() {
			if err := rows.Scan(&c, &n); err != nil {
				t.Fatal(err)
			}
			out[uint64(c)] = n
		}
		return out
	}
	check := func(what string, got, want map[uint64]int) {
		t.Helper()
		total := 0
		for c, n := range want {
			total += n
			if got[c] != n {
				t.Errorf("%s: cell %x holds %d reports, PostGIS counts %d", what, c, got[c], n)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d cells in the tile, PostGIS has %d", what, len(got), len(want))
		}
		if total == 0 {
			t.Errorf("%s: no reports expected: the test counts nothing", what)
		}
	}
	first := func(months int) string { return now.AddDate(0, months, 1-now.Day()).Format(time.DateOnly) }
	// z14 draws resolution 10; the default period is the last twelve months.
	if r := postgis.HotspotResolution(14); r != 10 {
		t.Errorf("resolution at z14: %d, want 10", r)
	}
	got, _ := hotspotFeatures(t, url(tile, ""), tok["viewer"])
	check("z14, last 12 months", got, expect(10, first(-11), first(0)))
	got, _ = hotspotFeatures(t, url(tile, "?from="+month+"&to="+month), tok["viewer"])
	want := expect(10, first(0), first(0))
	check("z14, this month", got, want)
	sum := 0
	for _, n := range want {
		sum += n
	}
	if sum != 16 {
		t.Errorf("this month's reports: %d, want 16", sum)
	}
	// Coarser: z10 (resolution 7) holds every report in fewer cells.
	got, _ = hotspotFeatures(t, url(maptile.At(orb.Point{116.405, 39.905}, 10), ""), tok["viewer"])
	check("z10", got, expect(postgis.HotspotResolution(10), first(-11), first(0)))
	if r := fetch(t, url(tile, "?from=2026-13"), map[string]string{"Authorization": "Bearer " + tok["viewer"]}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "from") {
		t.Errorf("a bad month: %d %s, want 400 naming from", r.status, r.body)
	}

	// At every kept resolution each report lies in exactly one stored
	// outline, and the outlines do not overlap (each report is counted once).
	for res := postgis.HotspotMinRes; res <= postgis.HotspotMaxRes; res++ {
		var bad, reports int
		err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE n <> 1), count(*) FROM (
			SELECT r.id, count(c.cell) AS n FROM reports r
			LEFT JOIN h3_cells c ON c.res = $1 AND ST_Covers(ST_Transform(c.geom, 4326), r.geom) GROUP BY r.id) x`, res).Scan(&bad, &reports)
		if err != nil {
			t.Fatal(err)
		}
		if bad != 0 || reports != 24 {
			t.Errorf("resolution %d: %d of %d reports not in exactly one cell outline", res, bad, reports)
		}
	}

	// Reports stored before hot spots: counted again from scratch.
	var before string
	if err := pool.QueryRow(ctx, `SELECT string_agg(format('%s/%s/%s=%s', res, cell, month, n), ',' ORDER BY res, cell, month)
		FROM (SELECT res, cell, month, sum(reports) AS n FROM report_cells GROUP BY 1, 2, 3) x`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM report_cells; UPDATE reports SET h3 = NULL`); err != nil {
		t.Fatal(err)
	}
	n, err := st.IndexReportCells(ctx)
	if err != nil || n != 24 {
		t.Fatalf("IndexReportCells: %d, %v; want 24", n, err)
	}
	var after string
	if err := pool.QueryRow(ctx, `SELECT string_agg(format('%s/%s/%s=%s', res, cell, month, n), ',' ORDER BY res, cell, month)
		FROM (SELECT res, cell, month, sum(reports) AS n FROM report_cells GROUP BY 1, 2, 3) x`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("counted again: %.200s…, first time %.200s…", after, before)
	}
}

// The case feed: a viewer's stream gets an event for a new case and for
// each step, with the case's point; no token, no stream.
func TestCaseFeed(t *testing.T) {
	ts, _, tok := caseServer(t)
	if status, _, _ := request(t, "GET", ts.URL+"/v1/cases/feed", "", ""); status != http.StatusUnauthorized {
		t.Errorf("the feed without a token: %d, want 401", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/v1/cases/feed", nil)
	req.Header.Set("Authorization", "Bearer "+tok["viewer"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type event struct {
		name string
		op   string
		bbox [4]float64
	}
	events := make(chan event, 16)
	connected := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": connected":
				close(connected)
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var d struct {
					Op   string
					BBox [4]float64
				}
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d) //nolint:errcheck // checked by the fields
				ev.op, ev.bbox = d.Op, d.BBox
			case line == "" && ev.name != "":
				events <- ev
				ev = event{}
			}
		}
		close(events)
	}()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the feed did not say connected")
	}
	// The stream subscribes before it answers; the store's listener may
	// still be connecting: wait until a change gets through.
	var c caseJSON
	want := func(op string) event {
		t.Helper()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("the feed ended before %s", op)
				}
				if ev.name == "case" && ev.op == op {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("no %s event on the feed", op)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	c = openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"06010"}`)
	ev := want("REPORT")
	if ev.bbox[0] < 116.40 || ev.bbox[0] > 116.401 || ev.bbox[1] < 39.90 || ev.bbox[1] > 39.901 {
		t.Errorf("report event bbox %v, want the case's point", ev.bbox)
	}
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"file"}`, 200)
	want("FILE")
	step(t, ts, tok["dispatcher"], c.ID, `{"step":"dispatch"}`, 200)
	want("DISPATCH")
}

// The dashboard's statistics: cases opened per week (Mondays, China time,
// no gaps) and per major class, counted by hand.
func TestCaseStats(t *testing.T) {
	ts, st, tok := caseServer(t)
	clk := &testClock{}
	clk.set(time.Now().Add(-9 * 24 * time.Hour))
	st.SetCaseClock(clk.now)
	for range 2 {
		openCase(t, ts, tok["reporter"], `{"lon":116.4005,"lat":39.9005,"class":"06010"}`)
	}
	st.SetCaseClock(time.Now)
	for range 3 {
		openCase(t, ts, tok["reporter"], `{"lon":116.4015,"lat":39.9015,"class":"06010"}`)
	}
	from := time.Now().In(grids.ChinaTime).AddDate(0, 0, -20).Format(time.DateOnly)
	to := time.Now().In(grids.ChinaTime).AddDate(0, 0, 1).Format(time.DateOnly)
	status, _, body := request(t, "GET", ts.URL+"/v1/cases/stats?from="+from+"&to="+to, tok["viewer"], "")
	if status != 200 {
		t.Fatalf("stats: %d %s", status, body)
	}
	var st2 grids.CaseStats
	if err := json.Unmarshal([]byte(body), &st2); err != nil {
		t.Fatal(err)
	}
	byWeek := map[string]int{}
	for i, w := range st2.Weeks {
		if w.Start.In(grids.ChinaTime).Weekday() != time.Monday || w.Start.In(grids.ChinaTime).Hour() != 0 {
			t.Errorf("week %d starts %s, not a Monday 00:00 China time", i, w.Start)
		}
		if i > 0 && w.Start.Sub(st2.Weeks[i-1].Start) != 7*24*time.Hour {
			t.Errorf("weeks %d and %d are not a week apart", i-1, i)
		}
		byWeek[w.Start.In(grids.ChinaTime).Format(time.DateOnly)] += w.Opened
	}
	if len(st2.Weeks) < 3 || len(st2.Weeks) > 5 {
		t.Errorf("%d weeks for a 21-day period", len(st2.Weeks))
	}
	week := func(d time.Time) string { return grids.WeekStart(d).Format(time.DateOnly) }
	if byWeek[week(time.Now())] != 3 || byWeek[week(time.Now().Add(-9*24*time.Hour))] != 2 || st2.Opened != 5 {
		t.Errorf("weeks %v, opened %d: want 3 this week, 2 the week nine days ago, 5 in all", byWeek, st2.Opened)
	}
	if len(st2.Classes) != 1 || st2.Classes[0].Major != "06" || st2.Classes[0].Opened != 5 || st2.Classes[0].Name == "" {
		t.Errorf("classes %+v, want the 5 cases in matter major class 06 with its name", st2.Classes)
	}
	if status, _, body := request(t, "GET", ts.URL+"/v1/cases/stats?from="+to+"&to="+from, tok["viewer"], ""); status != 400 || !strings.Contains(body, "to") {
		t.Errorf("a reversed period: %d %s, want 400", status, body)
	}
}
