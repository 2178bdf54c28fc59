// Command griddsoak is a bounded load test of a served gridd: it loads the
// demo district into a scratch database on the local PostgreSQL, starts
// `gridd serve` on a loopback port as a child process, and for a set time
// mixes lookups (single and batch), tiles (cached and cold, several zooms),
// edits (vertex moves of grids and their reverts, component replaces with
// If-Match, component creates) and component imports (the CLI), all with
// API tokens. Every interval it prints the requests, errors and latency of
// each kind and the server's RSS; at the end a summary and a verdict:
// no error and a flat RSS exit 0, anything else 1. `make soak` runs it.
//
// An error is a request that failed (transport error or unexpected status)
// or an error line in the server's log other than a failed request's. A 503
// with Retry-After (the database busy) is repeated after the time it asks
// for, at most three times, as clients are meant to: it is reported as a
// retry, and as an error only when the last attempt fails too.
//
//	griddsoak [-duration 3m] [-interval 10s] [-gridd bin/gridd] [-keep]
//
// Everything goes to loopback addresses only: the database must be local
// and the HTTP client refuses to dial anything but 127.0.0.1 and ::1.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

type options struct {
	duration, interval time.Duration
	gridd              string
	base               string
	keep               bool
	growth             float64
	tileCacheMB        int
	load               float64
	maxRequests        int
}

func main() {
	var o options
	def := 3 * time.Minute
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "griddsoak: SOAK_DURATION=%q: %v\n", v, err)
			os.Exit(2)
		}
		def = d
	}
	flag.DurationVar(&o.duration, "duration", def, "how long the load runs (env SOAK_DURATION)")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "how often a line of figures is printed")
	flag.StringVar(&o.gridd, "gridd", "bin/gridd", "the gridd binary to serve and import with")
	flag.StringVar(&o.base, "db", os.Getenv("DATABASE_URL"), "PostgreSQL URL of the local server; a scratch database is made next to it (env DATABASE_URL)")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch database afterwards")
	flag.Float64Var(&o.growth, "rss-growth", 0.15, "largest allowed growth of the last third's mean RSS over the middle third's")
	flag.IntVar(&o.tileCacheMB, "tile-cache-mb", 0, "gridd serve's tile cache, in MiB (0: gridd's default)")
	flag.Float64Var(&o.load, "load", 1, "scales every request rate")
	flag.IntVar(&o.maxRequests, "max-requests", 1_000_000, "requests per worker at most, whatever the duration")
	flag.Parse()
	if o.base == "" {
		fmt.Fprintln(os.Stderr, "griddsoak: DATABASE_URL is not set (make soak provides it)")
		os.Exit(2)
	}
	if o.duration <= 0 || o.duration > 24*time.Hour || o.interval <= 0 || o.load <= 0 || o.maxRequests < 1 {
		fmt.Fprintln(os.Stderr, "griddsoak: -duration must be in (0, 24h], -interval, -load and -max-requests positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Setup (a demo load takes about half a minute), the run and the
	// teardown all fit in this bound, so the command always ends.
	ctx, cancel := context.WithTimeout(ctx, o.duration+15*time.Minute)
	passed, err := run(ctx, o)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "griddsoak: %v\n", err)
		os.Exit(2)
	}
	if !passed {
		os.Exit(1)
	}
}

// loopbackHost reports whether a host name or address is this machine's
// loopback (or a Unix socket directory, for the database).
func loopbackHost(h string) bool {
	if h == "" || h == "localhost" || strings.HasPrefix(h, "/") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func run(ctx context.Context, o options) (bool, error) {
	u, err := url.Parse(o.base)
	if err != nil {
		return false, fmt.Errorf("database URL: %w", err)
	}
	if !loopbackHost(u.Hostname()) {
		return false, fmt.Errorf("the database %s is not on this machine; the soak runs on loopback only", u.Hostname())
	}
	gridd, err := filepath.Abs(o.gridd)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(gridd); err != nil {
		return false, fmt.Errorf("gridd binary: %w (make soak builds it)", err)
	}

	// A scratch database next to the base one, as griddbench does.
	db := "gridd_soak"
	if b := strings.TrimPrefix(u.Path, "/"); b != "" && b != "postgres" {
		db = b + "_soak"
	}
	admin, err := pgx.Connect(ctx, o.base)
	if err != nil {
		return false, err
	}
	ident := pgx.Identifier{db}.Sanitize()
	_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	if err == nil {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+ident)
	}
	if err != nil {
		admin.Close(ctx)
		return false, fmt.Errorf("scratch database %s: %w", db, err)
	}
	defer func() {
		if !o.keep {
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			admin.Exec(c, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)") //nolint:errcheck
			cancel()
		} else {
			fmt.Fprintf(os.Stderr, "griddsoak: kept database %s\n", db)
		}
		admin.Close(context.WithoutCancel(ctx))
	}()
	u.Path = "/" + db
	dbURL := u.String()

	t0 := time.Now()
	fmt.Fprintf(os.Stderr, "griddsoak: loading the demo district into %s\n", db)
	demoCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	out, err := exec.CommandContext(demoCtx, gridd, "demo", "--db", dbURL).CombinedOutput()
	cancel()
	if err != nil {
		return false, fmt.Errorf("gridd demo: %w\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "griddsoak: demo loaded in %.0fs\n", time.Since(t0).Seconds())
	editor, err := createToken(ctx, gridd, dbURL, "soak-editor", "editor")
	if err != nil {
		return false, err
	}
	field, err := createToken(ctx, gridd, dbURL, "soak-field", "reporter")
	if err != nil {
		return false, err
	}

	srv, err := startServer(ctx, gridd, dbURL, o.tileCacheMB)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	c := newClient(srv.base, field, editor)
	if err := srv.waitReady(ctx, c); err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "griddsoak: gridd serve (pid %d) ready at %s; log %s\n", srv.cmd.Process.Pid, srv.base, srv.logPath)

	w, err := prepare(ctx, c, gridd, dbURL)
	if err != nil {
		return false, fmt.Errorf("prepare the load: %w", err)
	}
	st := newStats(kinds, os.Stderr)
	w.stats, w.opt = st, o

	// The run: workers, an RSS sample every second, a line every interval.
	runCtx, cancelRun := context.WithTimeout(ctx, o.duration)
	defer cancelRun()
	srv.markLog()
	start := time.Now()
	var wg sync.WaitGroup
	w.start(runCtx, &wg)
	var rss []int64
	sample := time.NewTicker(time.Second)
	report := time.NewTicker(o.interval)
	fmt.Printf("griddsoak: %s of load on %s; each kind: requests in the interval p50/p99\n", o.duration, srv.base)
	for done := false; !done; {
		select {
		case <-runCtx.Done():
			done = true
		case <-sample.C:
			if kb, err := rssKB(srv.cmd.Process.Pid); err == nil {
				rss = append(rss, kb)
			} else {
				st.fail(serverKind, err.Error())
			}
		case <-report.C:
			var last int64
			if len(rss) > 0 {
				last = rss[len(rss)-1]
			}
			fmt.Println(st.line(time.Since(start), last))
		}
	}
	sample.Stop()
	report.Stop()
	wg.Wait()
	elapsed := time.Since(start)
	os.RemoveAll(w.dir)
	if ctx.Err() != nil {
		return false, errors.New("interrupted")
	}
	if err := srv.alive(); err != nil {
		st.fail(serverKind, err.Error())
	}
	for _, l := range srv.errorLines() {
		st.fail(serverKind, "log: "+l)
	}

	fmt.Printf("\ngriddsoak: summary of %s\n", elapsed.Round(time.Second))
	st.summary(os.Stdout, elapsed)
	if m := tileCacheMetrics(ctx, c); m != "" {
		fmt.Println(m)
	}
	v := judgeRSS(rss, o.growth)
	fmt.Printf("RSS of gridd serve: mean %s in the first third, %s in the middle, %s in the last (%+.1f%%), max %s; %d samples\n",
		mib(int64(v.first)), mib(int64(v.middle)), mib(int64(v.last)), 100*v.growth, mib(v.max), len(rss))
	errs := st.errorCount()
	fmt.Printf("rule: pass when there is no error and the last third's mean RSS is at most %.0f%% above the middle third's\n", 100*o.growth)
	switch {
	case errs == 0 && v.flat:
		fmt.Println("verdict: PASS")
		return true, nil
	case errs > 0 && !v.flat:
		fmt.Printf("verdict: FAIL (%d errors; RSS grew %.1f%%)\n", errs, 100*v.growth)
	case errs > 0:
		fmt.Printf("verdict: FAIL (%d errors)\n", errs)
	default:
		fmt.Printf("verdict: FAIL (RSS grew %.1f%%)\n", 100*v.growth)
	}
	return false, nil
}

// createToken makes an API token with the CLI and returns its secret.
func createToken(ctx context.Context, gridd, dbURL, name, role string) (string, error) {
	cmd := exec.CommandContext(ctx, gridd, "token", "create", "--db", dbURL, "--name", name, "--role", role)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("gridd token create %s: %w\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// server is the gridd serve child process.
type server struct {
	cmd     *exec.Cmd
	base    string
	logPath string
	logFile *os.File
	logFrom int64 // where the run's part of the log starts
	exited  chan struct{}
	waitErr error
}

func startServer(ctx context.Context, gridd, dbURL string, cacheMB int) (*server, error) {
	// A free loopback port: listen, note it, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.CreateTemp("", "griddsoak-serve-*.log")
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--db", dbURL, "--addr", addr}
	if cacheMB > 0 {
		args = append(args, "--tile-cache-mb", strconv.Itoa(cacheMB))
	}
	cmd := exec.Command(gridd, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "GRIDD_LOG_LEVEL=info")
	// The server dies with the soak, however the soak ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start gridd serve: %w", err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, logPath: logFile.Name(), logFile: logFile, exited: make(chan struct{})}
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()
	return s, nil
}

// alive reports an error when the server has exited.
func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("gridd serve exited during the run: %v (log %s)", s.waitErr, s.logPath)
	default:
		return nil
	}
}

// waitReady waits (a minute at most) until /readyz answers 200 and a lookup
// answers: the index is loaded.
func (s *server) waitReady(ctx context.Context, c *client) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if err := s.alive(); err != nil {
			return err
		}
		if st, _, _, err := c.do(ctx, "GET", "/readyz", "", nil, nil); err == nil && st == 200 {
			if st, _, _, err := c.do(ctx, "GET", "/v1/lookup?lon=116.41&lat=39.92", c.field, nil, nil); err == nil && st == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("gridd serve not ready after a minute (log %s)", s.logPath)
}

// stop ends the server: SIGTERM, then SIGKILL after 20 s.
func (s *server) stop() {
	if s.alive() == nil {
		s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill() //nolint:errcheck
			<-s.exited
		}
	}
	s.logFile.Close()
}

// markLog notes where the log stands: errorLines reads what follows.
func (s *server) markLog() {
	if fi, err := s.logFile.Stat(); err == nil {
		s.logFrom = fi.Size()
	}
}

// errorLines are the distinct error lines (level=ERROR) the server logged
// since markLog, without their time. Failed requests (request_failed) are
// left out: the client counts those, as errors or as repeated 503s.
func (s *server) errorLines() []string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	if _, err := f.Seek(s.logFrom, io.SeekStart); err != nil {
		return []string{err.Error()}
	}
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<30))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, "level=ERROR") || strings.Contains(l, "msg=request_failed") {
			continue
		}
		if i := strings.Index(l, "level="); i >= 0 {
			l = l[i:]
		}
		if len(l) > 300 {
			l = l[:300]
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// client is an HTTP client that only ever dials loopback addresses.
type client struct {
	base          string
	field, editor string
	hc            *http.Client
}

func newClient(base, field, editor string) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("refusing to dial %s: the soak stays on loopback", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &client{base: base, field: field, editor: editor, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends one request with the token and headers given and returns the
// status, headers and body.
func (c *client) do(ctx context.Context, method, path, token string, body []byte, hdr map[string]string) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, resp.Header, b, err
}

// tileCacheMetrics reads the tile cache's fill from /metrics, for the
// summary; empty when /metrics does not answer.
func tileCacheMetrics(ctx context.Context, c *client) string {
	st, _, b, err := c.do(ctx, "GET", "/metrics", c.editor, nil, nil)
	if err != nil || st != 200 {
		return ""
	}
	var tiles, bytes string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			switch f[0] {
			case "gridd_tile_cache_tiles":
				tiles = f[1]
			case "gridd_tile_cache_bytes":
				bytes = f[1]
			}
		}
	}
	if tiles == "" {
		return ""
	}
	mb, _ := strconv.ParseFloat(bytes, 64)
	return fmt.Sprintf("tile cache at the end: %s tiles, %.1f MiB", tiles, mb/(1<<20))
}
