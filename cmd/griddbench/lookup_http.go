package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/paulmach/orb"

	"gridd/api"
	"gridd/geo"
)

// HTTP lookups as field apps send them: a real gridd serve (the built
// binary, request logging at its deployed level into a file) on the
// section's database, and the requests sent from a separate client
// process (griddbench re-executed, see lookup_child.go). Rates are per
// wall-clock second with client and server sharing the machine, and per
// CPU second of the server.

// gridServer is a running gridd serve.
type gridServer struct {
	cmd  *exec.Cmd
	base string
	log  string
	dir  string
}

// startGridd builds cmd/gridd and starts it on the database at url, with
// the extra flags of serve given.
func startGridd(ctx context.Context, url string, flags ...string) (*gridServer, error) {
	dir, err := os.MkdirTemp("", "griddbench-serve-")
	if err != nil {
		return nil, err
	}
	bin := os.Getenv("GRIDDBENCH_GRIDD")
	if bin == "" {
		bin = filepath.Join(dir, "gridd")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gridd").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("build gridd (run griddbench from the checkout, or set GRIDDBENCH_GRIDD): %v: %s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "gridd.log")
	logf2, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf2.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--db", url, "--addr", addr}, flags...)...)
	cmd.Stdout, cmd.Stderr = logf2, logf2
	cmd.Env = append(os.Environ(), "GRIDD_LOG_LEVEL=info")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &gridServer{cmd: cmd, base: "http://" + addr, log: logPath, dir: dir}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			s.stop()
			return nil, fmt.Errorf("gridd serve not ready (log %s)", logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *gridServer) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }() //nolint:errcheck
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill() //nolint:errcheck
		}
	}
	os.RemoveAll(s.dir)
}

// cpuSeconds is the user + system CPU time of the server so far.
func (s *gridServer) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// httpResult is what the client child reports.
type httpResult struct {
	Requests int     `json:"requests"`
	Points   int     `json:"points"`
	Seconds  float64 `json:"seconds"`
	Failed   int     `json:"failed"`
	Status   string  `json:"status,omitempty"`
}

// GRIDDBENCH_HTTP: base URL; _MODE: get or batch; _SECONDS; _WORKERS;
// _EXT: minx,miny,maxx,maxy of the random points; _CRS: empty, gcj02 or
// bd09 (points converted from WGS-84 as a phone map shows them);
// _DECIMALS of the batch coordinates.
var _ = job("http", func() (any, error) {
	base := os.Getenv("GRIDDBENCH_HTTP")
	mode := os.Getenv("GRIDDBENCH_HTTP_MODE")
	secs, _ := strconv.ParseFloat(os.Getenv("GRIDDBENCH_HTTP_SECONDS"), 64)
	workers, _ := strconv.Atoi(os.Getenv("GRIDDBENCH_HTTP_WORKERS"))
	decimals, _ := strconv.Atoi(os.Getenv("GRIDDBENCH_HTTP_DECIMALS"))
	crs := os.Getenv("GRIDDBENCH_HTTP_CRS")
	var e [4]float64
	for i, f := range strings.Split(os.Getenv("GRIDDBENCH_HTTP_EXT"), ",") {
		e[i], _ = strconv.ParseFloat(f, 64)
	}
	seed, _ := strconv.ParseInt(os.Getenv("GRIDDBENCH_HTTP_SEED"), 10, 64)
	pts := randomPoints(rand.New(rand.NewSource(seed)), api.MaxBatchPoints, orb.Bound{Min: orb.Point{e[0], e[1]}, Max: orb.Point{e[2], e[3]}})
	if crs != "" {
		for i, p := range pts {
			pts[i] = geo.FromWGS84(p, geo.CRS(crs))
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}}
	var done, points, failed atomic.Int64
	var status sync.Map
	stop := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var body []byte
	if mode == "batch" {
		body = api.BatchBody(pts, decimals)
		if crs != "" {
			body = append([]byte(`{"crs":"`+crs+`",`), body[1:]...)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for i := w; time.Now().Before(stop); i += workers {
				var resp *http.Response
				var err error
				if mode == "batch" {
					resp, err = client.Post(base+"/v1/lookup", "application/json", bytes.NewReader(body))
				} else {
					p := pts[i%len(pts)]
					q := "lon=" + strconv.FormatFloat(p[0], 'f', 7, 64) + "&lat=" + strconv.FormatFloat(p[1], 'f', 7, 64)
					if crs != "" {
						q += "&crs=" + crs
					}
					resp, err = client.Get(base + "/v1/lookup?" + q)
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				io.CopyBuffer(io.Discard, resp.Body, buf) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 404 {
					failed.Add(1)
					status.Store(resp.StatusCode, true)
					continue
				}
				done.Add(1)
				if mode == "batch" {
					points.Add(int64(len(pts)))
				} else {
					points.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	r := httpResult{Requests: int(done.Load()), Points: int(points.Load()), Seconds: time.Since(start).Seconds(), Failed: int(failed.Load())}
	status.Range(func(k, _ any) bool { r.Status += fmt.Sprint(k) + " "; return true })
	return r, nil
})

func benchLookupHTTP(ctx context.Context, b *bench, pts []orb.Point) error {
	_ = pts
	srv, err := startGridd(ctx, b.url)
	if err != nil {
		return err
	}
	defer srv.stop()
	hwm, rss := procStatus(srv.cmd.Process.Pid)
	b.add("gridd serve with the index loaded: RSS (VmRSS; peak VmHWM)", fmt.Sprintf("%s (peak %s)", mb(rss), mb(hwm)), "", "", "")
	var ext orb.Bound
	if err := b.pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM unit_grids WHERE valid_to IS NULL) x`).
		Scan(&ext.Min[0], &ext.Min[1], &ext.Max[0], &ext.Max[1]); err != nil {
		return err
	}
	dur := 3.0
	if b.quick {
		dur = 1
	}
	cores := runtime.NumCPU()
	run := func(mode, crs string, workers, decimals int, seed int) (stat, stat, error) {
		env := []string{"GRIDDBENCH_HTTP=" + srv.base, "GRIDDBENCH_HTTP_MODE=" + mode, "GRIDDBENCH_HTTP_CRS=" + crs,
			"GRIDDBENCH_HTTP_SECONDS=" + strconv.FormatFloat(dur, 'f', -1, 64), "GRIDDBENCH_HTTP_WORKERS=" + strconv.Itoa(workers),
			"GRIDDBENCH_HTTP_DECIMALS=" + strconv.Itoa(decimals),
			fmt.Sprintf("GRIDDBENCH_HTTP_EXT=%.9f,%.9f,%.9f,%.9f", ext.Min[0], ext.Min[1], ext.Max[0], ext.Max[1])}
		var perCPU []float64
		warm := true
		wall, err := repeat(b.runs+1, func() (float64, error) {
			var r httpResult
			c0 := srv.cpuSeconds()
			if err := child("http", append(env, "GRIDDBENCH_HTTP_SEED="+strconv.Itoa(seed)), &r); err != nil {
				return 0, err
			}
			seed++
			if r.Failed > 0 {
				return 0, fmt.Errorf("http %s %s: %d of %d requests failed (status %s)", mode, crs, r.Failed, r.Failed+r.Requests, r.Status)
			}
			if warm { // the first run warms the server and the connections
				warm = false
				return -1, nil
			}
			perCPU = append(perCPU, float64(r.Points)/(srv.cpuSeconds()-c0))
			return float64(r.Points) / r.Seconds, nil
		})
		if err != nil {
			return stat{}, stat{}, err
		}
		wall = dropWarm(wall)
		cpu, _ := repeat(len(perCPU), func() (float64, error) { v := perCPU[0]; perCPU = perCPU[1:]; return v, nil })
		return wall, cpu, nil
	}
	workers := 4 * cores
	for _, crs := range []string{"", "gcj02"} {
		wall, cpu, err := run("get", crs, workers, 7, 1)
		if err != nil {
			return err
		}
		what := "WGS-84"
		if crs != "" {
			what = "GCJ-02"
		}
		b.addStats(fmt.Sprintf("HTTP GET /v1/lookup %s to gridd serve from a client process, keep-alive, %d connections, %d cores shared (per server CPU s: %s)",
			what, workers, cores, perSec(cpu.Median)), "requests/s", wall, nil, "", perSec, "≥ 20k/s")
	}
	for _, c := range []struct {
		crs      string
		decimals int
		what     string
	}{{"", 7, "WGS-84, 7 decimals as from GPS"}, {"", -1, "WGS-84, full float64 digits"}, {"gcj02", 7, "GCJ-02, 7 decimals as from a phone map"}, {"bd09", 7, "BD-09, 7 decimals as from Baidu's map"}} {
		wall, cpu, err := run("batch", c.crs, 2, c.decimals, 100)
		if err != nil {
			return err
		}
		b.addStats(fmt.Sprintf("HTTP POST /v1/lookup to gridd serve from a client process, batches of 100,000 points, 2 at a time, %s (per server CPU s: %s)", c.what, perSec(cpu.Median)),
			"points/s", wall, nil, "", perSec, "≥ 1M points/s")
	}
	hwm, rss = procStatus(srv.cmd.Process.Pid)
	b.add("gridd serve after the HTTP runs: RSS (VmRSS; peak VmHWM)", fmt.Sprintf("%s (peak %s)", mb(rss), mb(hwm)), "", "", "")
	if fi, err := os.Stat(srv.log); err == nil {
		logf("lookup: gridd serve wrote %d bytes of log at info", fi.Size())
	}
	return nil
}

// dropWarm removes the warm-up run (recorded as -1) from a stat.
func dropWarm(s stat) stat {
	var runs []float64
	for _, v := range s.Runs {
		if v >= 0 {
			runs = append(runs, v)
		}
	}
	out, _ := repeat(len(runs), func() (float64, error) { v := runs[0]; runs = runs[1:]; return v, nil })
	return out
}
