package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

// gridd serve migrates an empty database, becomes ready, mounts the
// endpoints of every part, and shuts down cleanly when its context ends (as
// on SIGTERM).
func TestServeStartsAndStops(t *testing.T) {
	url := pgtest.NewURL(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	errf, _ := os.Create(filepath.Join(t.TempDir(), "stderr"))
	e := &env{log: slog.New(slog.DiscardHandler), stdout: errf, stderr: errf}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, e, []string{"--db", url, "--addr", addr}) }()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve not ready within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for path, want := range map[string]int{
		"/healthz":                         200,
		"/metrics":                         200,
		"/v1/divisions":                    200,
		"/v1/lookup?lon=116.40&lat=39.90":  404, // mounted: outside every grid of an empty map
		"/v1/classes/01001":                200,
		"/tiles/grids/10/843/388.mvt":      200,
		"/ogc/collections":                 200,
		"/styles/gridd.json":               200,
		"/v1/lookup?lon=116.40&lat=139.90": 400,
		"/no/such/endpoint":                404,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if want == 404 && strings.HasPrefix(path, "/v1/lookup") && !strings.Contains(string(body), `"outside"`) {
			t.Errorf("GET %s: %s, want the lookup's outside error", path, body)
		}
	}
	// Invariants 4 and 5 through the server's own wiring: a grid committed by
	// plain SQL is seen by lookups and by a tile already in the cache within
	// one second.
	x, y, _, _ := tiles.Covering(orb.Bound{Min: orb.Point{116.405, 39.905}, Max: orb.Point{116.405, 39.905}}, 14)
	tileURL := fmt.Sprintf("%s/tiles/grids/14/%d/%d.mvt", base, x, y)
	if status, _ := fetchBody(t, tileURL); status != 200 {
		t.Fatalf("tile before the edit: %d", status)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const code = "110101001001001"
	if _, err := pool.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		VALUES ($1, left($1, 12), left($1, 9), left($1, 6), ST_MakeEnvelope(116.40, 39.90, 116.41, 39.91, 4326), 1)`, code); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	var lookupSeen, tileSeen time.Duration
	for (lookupSeen == 0 || tileSeen == 0) && time.Since(committed) < 5*time.Second {
		if _, b := fetchBody(t, base+"/v1/lookup?lon=116.405&lat=39.905"); lookupSeen == 0 && strings.Contains(b, code) {
			lookupSeen = time.Since(committed)
		}
		if _, b := fetchBody(t, tileURL); tileSeen == 0 && strings.Contains(b, code) {
			tileSeen = time.Since(committed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("after the commit: lookup saw it in %v, the tile in %v", lookupSeen, tileSeen)
	if lookupSeen == 0 || lookupSeen > time.Second || tileSeen == 0 || tileSeen > time.Second {
		t.Errorf("edit seen by lookup after %v and by the tile after %v, want both within 1 s (0: never)", lookupSeen, tileSeen)
	}

	// A token revoked by plain SQL stops working within one second, though
	// the server has just cached it.
	secret, err := postgis.NewStore(pool).CreateToken(ctx, "app", grids.RoleReporter)
	if err != nil {
		t.Fatal(err)
	}
	withToken := func() int {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/divisions", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := withToken(); status != 200 {
		t.Fatalf("with a fresh token: %d", status)
	}
	if _, err := pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE name = 'app'`); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for withToken() != http.StatusUnauthorized {
		if time.Since(revoked) > time.Second {
			t.Fatal("a revoked token still works one second later")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the revoked token was refused after %v", time.Since(revoked))

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s of its context ending")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("serve still answers after shutdown")
	}
}

func fetchBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
