package main

import (
	"bufio"
	"context"
	"errors"
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

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// startServe runs gridd serve with the arguments over a fresh database
// until the test ends, and returns its address once it is ready.
func startServe(t *testing.T, args ...string) (string, *pgxpool.Pool) {
	t.Helper()
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
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, e, append([]string{"--db", url, "--addr", addr}, args...)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s")
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
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
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return addr, pool
}

// status sends a request with the token and returns its status and
// Retry-After.
func status(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// closedWithin reads from c until the server closes it and reports how
// long that took; it fails the test if c is still open after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit)) //nolint:errcheck
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %v", limit)
	}
	return time.Since(start)
}

// gridd serve's timeouts and limits: with private reads, /metrics follows
// them by default; a client trickling a body is cut off by the read
// timeout, and the batch-lookup slot it held meanwhile is then free; a
// client that stops reading a large answer is cut off by the write timeout;
// idle keep-alive connections are closed.
func TestServeTimeoutsAndLimits(t *testing.T) {
	addr, pool := startServe(t, "--public-reads=false", "--read-timeout", "3s", "--write-timeout", "3s",
		"--idle-timeout", "1s", "--max-batch-lookups", "1", "--busy-wait", "200ms")
	base := "http://" + addr
	ctx := context.Background()
	token, err := postgis.NewStore(pool).CreateToken(ctx, "field-app", grids.RoleReporter)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/healthz", "", 200}, {"/styles/gridd.json", "", 401}, {"/metrics", "", 401},
		{"/styles/gridd.json", token, 200}, {"/metrics", token, 200},
	} {
		if got, _ := status(t, http.MethodGet, base+c.path, c.token, ""); got != c.want {
			t.Errorf("GET %s with token %q: %d, want %d", c.path, c.token, got, c.want)
		}
	}

	// One grid under every point of the batches, so that each answer is a
	// few hundred bytes.
	const code = "110101001001001"
	if _, err := pool.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		VALUES ($1, left($1, 12), left($1, 9), left($1, 6), ST_MakeEnvelope(116.40, 39.90, 116.41, 39.91, 4326), 1)`, code); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/lookup?lon=116.405&lat=39.905", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), code) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new grid is not seen by lookups within 10 s")
		}
	}
	var sb strings.Builder
	sb.WriteString(`{"points":[`)
	for i := range 100_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "[116.40%d,39.90%d]", i%1000, i%997)
	}
	sb.WriteString("]}")
	big := sb.String()
	lookup := base + "/v1/lookup"
	if got, _ := status(t, http.MethodPost, lookup, token, big); got != 200 {
		t.Fatalf("a batch of 100,000 points: %d", got)
	}

	// A slow body: headers, then a byte every 50 ms. While it holds the
	// only batch slot, another large batch is refused. A batch that
	// reached the slot first wins it and the slow upload is the one
	// refused; then the test starts another slow upload.
	openSlow := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /v1/lookup HTTP/1.1\r\nHost: gridd\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"points\":[", token, 1<<20)
		go func() {
			for {
				time.Sleep(50 * time.Millisecond)
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		return c
	}
	var slow net.Conn
	for attempt := 1; ; attempt++ {
		slow = openSlow()
		time.Sleep(100 * time.Millisecond) // its handler takes the slot
		got, retry := status(t, http.MethodPost, lookup, token, big)
		if got == 503 && retry == "1" {
			break
		}
		slow.Close()
		if got != 200 || attempt == 5 {
			t.Fatalf("a batch while a slow upload holds the slot (try %d): %d (Retry-After %q), want 503 with Retry-After 1", attempt, got, retry)
		}
	}
	defer slow.Close()
	d := closedWithin(t, slow, 30*time.Second)
	t.Logf("the slow upload was cut off after %v more", d.Round(time.Millisecond))
	if got, _ := status(t, http.MethodPost, lookup, token, big); got != 200 {
		t.Errorf("a batch once the slow upload is cut off: %d, want 200", got)
	}

	// A client that sends a batch and never reads the answer (about 25 MB)
	// is cut off by the write timeout, and its slot comes free.
	stuck, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	fmt.Fprintf(stuck, "POST /v1/lookup HTTP/1.1\r\nHost: gridd\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(big), big)
	start := time.Now()
	for got := 503; got != 200; {
		if time.Since(start) > 30*time.Second {
			t.Fatal("the batch slot of a client that does not read is not free after 30 s")
		}
		got, _ = status(t, http.MethodPost, lookup, token, big)
		if got != 200 && got != 503 {
			t.Fatalf("a batch while a client does not read: %d", got)
		}
	}
	t.Logf("the slot of the client that does not read came free after %v", time.Since(start).Round(time.Millisecond))

	// An idle keep-alive connection is closed.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: gridd\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz on a raw connection: %v %v", resp, err)
	}
	resp.Body.Close()
	d = closedWithin(t, idle, 30*time.Second)
	t.Logf("the idle connection was closed after %v", d.Round(time.Millisecond))
}
