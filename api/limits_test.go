package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridd/api"
	"gridd/geo"
	"gridd/grids/synth"
	"gridd/tiles"
)

// slowUpload is a batch lookup whose headers and first bytes are sent and
// whose body waits for the test.
type slowUpload struct {
	c    net.Conn
	body []byte
}

func startUpload(t *testing.T, addr string, body []byte) *slowUpload {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /v1/lookup HTTP/1.1\r\nHost: gridd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := c.Write(body[:1000]); err != nil {
		t.Fatal(err)
	}
	return &slowUpload{c: c, body: body}
}

// finish sends the rest of the body and returns the answer's status.
func (u *slowUpload) finish(t *testing.T) int {
	t.Helper()
	if _, err := u.c.Write(u.body[1000:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(u.c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}

// Large batch lookups run a few at a time: beyond the limit a batch waits
// briefly and is refused with 503 and Retry-After; small batches are not
// limited; a finished or abandoned batch frees its slot.
func TestBatchLookupLimit(t *testing.T) {
	lat := synth.Lattice{Origin: orb.Point{116.0, 39.5}, NX: 4, NY: 4, Cell: 0.0009, District: "110101", Street: "001", PerCommunity: 999}
	ix, err := geo.NewIndex(geo.IndexInput{Grids: lat.Grids(1)})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Lookup: fixedView{geo.NewView(ix)}, Limits: api.Limits{BatchLookups: 2, Wait: 100 * time.Millisecond}})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	pts := make([]orb.Point, 5000)
	for i := range pts {
		pts[i] = orb.Point{116.0001 + float64(i%60)*0.00005, 39.5001 + float64(i/60)*0.00004}
	}
	big := api.BatchBody(pts, 7)
	small := api.BatchBody(pts[:20], 7)
	if len(big) <= 64<<10 || len(small) > 64<<10 {
		t.Fatalf("bodies of %d and %d bytes do not straddle 64 KiB", len(big), len(small))
	}
	url := ts.URL + "/v1/lookup"

	if status, _, body := request(t, http.MethodPost, url, "", string(big)); status != 200 {
		t.Fatalf("a large batch alone: %d %s", status, body)
	}
	a := startUpload(t, ts.Listener.Addr().String(), big)
	b := startUpload(t, ts.Listener.Addr().String(), big)
	waitFor(t, "both uploads hold a slot", func() bool { return srv.BatchLookupsRunning() == 2 })

	status, hdr, body := request(t, http.MethodPost, url, "", string(big))
	if status != 503 || hdr.Get("Retry-After") != "1" || !strings.Contains(body, `"code":"busy"`) {
		t.Errorf("a third large batch: %d Retry-After %q %s, want 503 busy with Retry-After 1", status, hdr.Get("Retry-After"), body)
	}
	if status, _, body := request(t, http.MethodPost, url, "", string(small)); status != 200 {
		t.Errorf("a small batch while the limit is full: %d %s, want 200", status, body)
	}
	if status, _, body := request(t, http.MethodGet, url+"?lon=116.0001&lat=39.5001", "", ""); status != 200 {
		t.Errorf("a single lookup while the limit is full: %d %s, want 200", status, body)
	}

	// A finished upload frees its slot.
	if status := a.finish(t); status != 200 {
		t.Errorf("the first upload, finished: %d, want 200", status)
	}
	if status, _, body := request(t, http.MethodPost, url, "", string(big)); status != 200 {
		t.Errorf("a large batch after one finished: %d %s, want 200", status, body)
	}
	// So does one whose client went away.
	b.c.Close()
	waitFor(t, "the abandoned upload frees its slot", func() bool { return srv.BatchLookupsRunning() == 0 })
}

// Tile renderings run a few at a time: while they are all busy, a tile
// the cache holds is served as usual and a missing one is refused with 503
// and Retry-After after a short wait; once they finish, it renders.
func TestTileRenderLimit(t *testing.T) {
	env := newTileEnv(t, 0)
	env.svc.LimitRenders(1, 200*time.Millisecond)
	url := func(id tiles.ID) string {
		return fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", env.ts.URL, id.Z, id.X, id.Y)
	}
	cached, held, refused := tileAt(116.41, 39.91, 14), tileAt(116.41, 39.91, 15), tileAt(116.43, 39.91, 16)
	if r := fetch(t, url(cached), nil); r.status != 200 {
		t.Fatalf("first tile: %d %s", r.status, r.body)
	}

	// Hold the one rendering slot: a rendering waiting for a table lock.
	ctx := context.Background()
	tx, err := env.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, "LOCK TABLE unit_grids IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	heldDone := make(chan int, 1)
	go func() {
		resp, err := http.Get(url(held))
		if err != nil {
			heldDone <- 0
			return
		}
		resp.Body.Close()
		heldDone <- resp.StatusCode
	}()
	waitFor(t, "a rendering waits for the lock", func() bool {
		var n int
		err := env.st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	})

	if r := fetch(t, url(refused), nil); r.status != 503 || r.header.Get("Retry-After") != "1" || !strings.Contains(string(r.body), `"code":"busy"`) {
		t.Errorf("a missing tile while renderings are busy: %d Retry-After %q %s, want 503 busy with Retry-After 1", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := fetch(t, url(cached), nil); r.status != 200 || r.header.Get("X-Tile-Cache") != "hit" {
		t.Errorf("a cached tile while renderings are busy: %d %s %s, want a 200 hit", r.status, r.header.Get("X-Tile-Cache"), r.body)
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if status := <-heldDone; status != 200 {
		t.Errorf("the held tile: %d, want 200", status)
	}
	if r := fetch(t, url(refused), nil); r.status != 200 || r.header.Get("X-Tile-Cache") != "miss" {
		t.Errorf("the refused tile once renderings are free: %d %s %s, want a 200 miss", r.status, r.header.Get("X-Tile-Cache"), r.body)
	}
}
