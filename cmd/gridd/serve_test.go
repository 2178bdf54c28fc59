package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridd/grids/postgis/pgtest"
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
