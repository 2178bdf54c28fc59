package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/geo"
	"gridd/grids/postgis"
)

// Child processes. Memory (RSS) and HTTP figures are taken in processes of
// their own: the index is built in a fresh process, so that its peak and
// steady RSS are the index's and not the benchmark's, and HTTP clients run
// in a process apart from the server they measure. griddbench re-executes
// itself with GRIDDBENCH_CHILD naming the job and its parameters in the
// environment; the child writes one JSON object to stdout.
func init() {
	job := os.Getenv("GRIDDBENCH_CHILD")
	if job == "" {
		return
	}
	out, err := runChild(job)
	if err != nil {
		fmt.Fprintf(os.Stderr, "griddbench child %s: %v\n", job, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

var childJobs = map[string]func() (any, error){}

// job registers a child job. It is called from package-level variable
// initialisers, which all run before the init function above dispatches.
func job(name string, fn func() (any, error)) bool {
	childJobs[name] = fn
	return true
}

func runChild(job string) (any, error) {
	fn, ok := childJobs[job]
	if !ok {
		return nil, fmt.Errorf("unknown job")
	}
	return fn()
}

// child runs job in a new griddbench process with env added and decodes
// its JSON answer into out.
func child(job string, env []string, out any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), "GRIDDBENCH_CHILD="+job), env...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child %s: %w", job, err)
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

// procStatus reads VmHWM (peak RSS) and VmRSS of a process (pid 0: this
// one) in MB.
func procStatus(pid int) (hwm, rss float64) {
	p := "/proc/self/status"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmHWM:":
			hwm = kb / 1024
		case "VmRSS:":
			rss = kb / 1024
		}
	}
	return hwm, rss
}

// indexBuildResult is what the index child reports: the load's time and
// the process's RSS before, at its peak and once built (after the garbage
// of the build has been collected and returned, as the Locator does), and
// the heap the index holds.
type indexBuildResult struct {
	Grids      int     `json:"grids"`
	Seconds    float64 `json:"seconds"`
	BaseRSSMB  float64 `json:"base_rss_mb"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	SteadyMB   float64 `json:"steady_rss_mb"`
	HeapMB     float64 `json:"heap_mb"`
	IndexMB    float64 `json:"index_mb"`
	ReloadPeak float64 `json:"reload_peak_rss_mb,omitempty"`
	Path       string  `json:"path"`
}

// GRIDDBENCH_INDEX_PATH: "stream" (Store.BuildIndex, what gridd
// does), "input" (Store.IndexInput then geo.NewIndex, the former
// path); GRIDDBENCH_RELOAD=1 also builds a second index while holding
// the first, as a reload does.
var _ = job("index", func() (any, error) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return nil, err
	}
	st := postgis.NewStore(pool)
	path := os.Getenv("GRIDDBENCH_INDEX_PATH")
	build := func() (*geo.Index, error) {
		if path == "input" {
			in, err := st.IndexInput(ctx)
			if err != nil {
				return nil, err
			}
			return geo.NewIndex(in)
		}
		return st.BuildIndex(ctx)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var r indexBuildResult
	r.Path = path
	_, r.BaseRSSMB = procStatus(0)
	start := time.Now()
	ix, err := build()
	if err != nil {
		return nil, err
	}
	r.Seconds = time.Since(start).Seconds()
	r.PeakRSSMB, _ = procStatus(0)
	debug.FreeOSMemory()
	_, r.SteadyMB = procStatus(0)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	r.HeapMB = float64(m.HeapAlloc) / (1 << 20)
	r.IndexMB = float64(ix.MemoryBytes()) / (1 << 20)
	r.Grids = ix.Len()
	if os.Getenv("GRIDDBENCH_RELOAD") == "1" {
		ix2, err := build()
		if err != nil {
			return nil, err
		}
		r.ReloadPeak, _ = procStatus(0)
		runtime.KeepAlive(ix2)
	}
	runtime.KeepAlive(ix)
	return r, nil
})
