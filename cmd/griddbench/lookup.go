package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

// The lookup section: 1M synthetic unit grids (100k with -quick) loaded into
// PostGIS with COPY; the in-memory index built from them as gridd builds it;
// lookups per second on one core for random and for spatially sorted points;
// index memory; HTTP single and batch lookups over loopback; and PostGIS
// answering the same points (gridd_grid_at, and ST_Covers joined through
// the GiST index) in the same run.
func init() {
	sections["lookup"] = section{order: 20, run: benchLookup}
}

// staticLookup serves lookups from a fixed view.
type staticLookup struct{ ix *geo.View }

func (s staticLookup) Index() *geo.View { return s.ix }

func benchLookup(ctx context.Context, b *bench) error {
	side := 1000 // 1000 × 1000 lattice, plus one inner grid per 97 cells
	if b.quick {
		side = 320
	}
	lat := synth.Lattice{Origin: orb.Point{116.0, 39.5}, NX: side, NY: side, Cell: 0.0009, Jitter: 0.2,
		HoleEvery: 97, District: "110101", Street: "001", PerCommunity: 999}
	gs := lat.Grids(42)
	ext := orb.Bound{Min: lat.Origin, Max: orb.Point{lat.Origin[0] + float64(side)*lat.Cell, lat.Origin[1] + float64(side)*lat.Cell}}
	logf("lookup: %d synthetic grids over %.2f° × %.2f°; loading into PostGIS", len(gs), ext.Max[0]-ext.Min[0], ext.Max[1]-ext.Min[1])
	d, err := timeIt(func() error { return pgtest.CopyGrids(ctx, b.pool, gs) })
	if err != nil {
		return err
	}
	gs = nil
	if _, err := b.pool.Exec(ctx, "ANALYZE unit_grids"); err != nil {
		return err
	}
	logf("lookup: loaded in %v", d.Round(time.Millisecond))

	st := postgis.NewStore(b.pool)
	var in geo.IndexInput
	d, err = timeIt(func() (err error) { in, err = st.IndexInput(ctx); return })
	if err != nil {
		return err
	}
	var ix *geo.Index
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	dBuild, err := timeIt(func() (err error) { ix, err = geo.NewIndex(in); return })
	if err != nil {
		return err
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(in)
	in = geo.IndexInput{}
	mem := float64(m1.HeapAlloc-m0.HeapAlloc) / (1 << 20)
	b.add(fmt.Sprintf("index: read %d grids from PostGIS / build", ix.Len()), d.Round(time.Millisecond).String()+" / "+dBuild.Round(time.Millisecond).String(), "", "", "")
	b.add(fmt.Sprintf("index memory, %d grids", ix.Len()), fmt.Sprintf("%.0f MB", mem), "", "", "≤ 500 MB per 1M grids")

	// Points: random over the lattice's extent (a few outside), and the
	// same points sorted along a Z curve.
	rng := rand.New(rand.NewSource(7))
	n := 2_000_000
	if b.quick {
		n = 500_000
	}
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{ext.Min[0] - 0.001 + rng.Float64()*(ext.Max[0]-ext.Min[0]+0.002), ext.Min[1] - 0.001 + rng.Float64()*(ext.Max[1]-ext.Min[1]+0.002)}
	}
	sorted := append([]orb.Point(nil), pts...)
	sort.Slice(sorted, func(i, j int) bool { return zorder(sorted[i], ext) < zorder(sorted[j], ext) })

	// Rates per wall-clock second and per CPU second of this process (the
	// loop runs on one goroutine; the CPU figure is what one core does when
	// the machine is shared).
	inProcess := func(ps []orb.Point) (wall, cpu float64, found int) {
		start, c0 := time.Now(), cpuTime()
		for _, p := range ps {
			if _, ok := ix.Owner(p); ok {
				found++
			}
		}
		return float64(len(ps)) / time.Since(start).Seconds(), float64(len(ps)) / (cpuTime() - c0).Seconds(), found
	}
	inProcess(pts[:n/10]) // warm up
	rRandom, cRandom, found := inProcess(pts)
	rSorted, cSorted, _ := inProcess(sorted)

	// PostGIS on a sample of the same random points, one backend (one core).
	sample := pts[:20_000]
	if b.quick {
		sample = pts[:5_000]
	}
	pgOwners := make([]string, len(sample))
	var dPG, dJoin time.Duration
	err = pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE pts (id int, geom geometry(Point, 4326)) ON COMMIT DROP`); err != nil {
			return err
		}
		rows := make([][]any, len(sample))
		for i, p := range sample {
			rows[i] = []any{i, p[0], p[1]}
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE pts_raw (id int, x float8, y float8) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pts_raw"}, []string{"id", "x", "y"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pts SELECT id, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM pts_raw; ANALYZE pts`); err != nil {
			return err
		}
		dPG, err = timeIt(func() error {
			rs, err := tx.Query(ctx, `SELECT id, coalesce(gridd_grid_at(geom), '') FROM pts`)
			if err != nil {
				return err
			}
			var id int
			var code string
			_, err = pgx.ForEachRow(rs, []any{&id, &code}, func() error { pgOwners[id] = code; return nil })
			return err
		})
		if err != nil {
			return err
		}
		dJoin, err = timeIt(func() error {
			_, err := tx.Exec(ctx, `SELECT DISTINCT ON (p.id) p.id, u.code FROM pts p
				JOIN unit_grids u ON u.valid_to IS NULL AND ST_Covers(u.geom, p.geom) ORDER BY p.id, u.code`)
			return err
		})
		return err
	})
	if err != nil {
		return err
	}
	disagree := 0
	for i, p := range sample {
		got := ""
		if id, ok := ix.Owner(p); ok {
			got = string(ix.Code(id))
		}
		if got != pgOwners[i] {
			disagree++
		}
	}
	rPG := float64(len(sample)) / dPG.Seconds()
	rJoin := float64(len(sample)) / dJoin.Seconds()
	b.add(fmt.Sprintf("point → grid in process, 1 goroutine, random (%d pts, %d inside)", n, found), perSec(rRandom)+" ("+perSec(cRandom)+" per CPU s)",
		perSec(rPG)+" gridd_grid_at", fmt.Sprintf("%.0f×", rRandom/rPG), "≥ 1M/s; ≥ 30× PostGIS")
	b.add("point → grid in process, 1 goroutine, random, vs ST_Covers join (GiST)", perSec(rRandom),
		perSec(rJoin)+" ST_Covers join", fmt.Sprintf("%.0f×", rRandom/rJoin), "≥ 30× PostGIS")
	b.add("point → grid in process, 1 goroutine, spatially sorted", perSec(rSorted)+" ("+perSec(cSorted)+" per CPU s)", "", "", "≥ 1M/s")
	b.add(fmt.Sprintf("index vs PostGIS owner on %d sample points", len(sample)), fmt.Sprintf("%d disagree", disagree), "", "", "0")
	if disagree > 0 {
		return fmt.Errorf("the index and gridd_grid_at disagree on %d of %d points", disagree, len(sample))
	}

	if err := benchLookupHTTP(b, ix, pts); err != nil {
		return err
	}
	ix, pts, sorted = nil, nil, nil
	return benchFreshness(ctx, b, st)
}

// benchFreshness runs a Locator on the loaded map, commits grid edits
// through SQL and times how long each takes to reach lookups.
func benchFreshness(ctx context.Context, b *bench, st *postgis.Store) error {
	loc := grids.NewLocator(st, nil)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go loc.Run(runCtx, 500*time.Millisecond) //nolint:errcheck
	start := time.Now()
	for loc.Index() == nil {
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("locator: no index after 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.add(fmt.Sprintf("locator: first load of %d grids (read + build)", loc.Index().Len()), time.Since(start).Round(time.Millisecond).String(), "", "", "")
	var worst time.Duration
	const edits = 10
	for i := 0; i < edits; i++ {
		var code string
		if err := b.pool.QueryRow(ctx, `SELECT code FROM unit_grids WHERE valid_to IS NULL ORDER BY random() LIMIT 1`).Scan(&code); err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := b.pool.Exec(ctx, `UPDATE unit_grids SET geom = ST_Translate(geom, 0.00001, 0) WHERE code = $1 AND valid_to IS NULL`, code); err != nil {
			return err
		}
		v, err := st.MapVersion(ctx)
		if err != nil {
			return err
		}
		for loc.Index().MapVersion() < v {
			if time.Since(t0) > time.Minute {
				return fmt.Errorf("locator: edit not visible after a minute")
			}
			time.Sleep(time.Millisecond)
		}
		worst = max(worst, time.Since(t0))
	}
	b.add(fmt.Sprintf("edit committed → visible in lookups, worst of %d, %d grids", edits, loc.Index().Len()), worst.Round(time.Millisecond).String(), "", "", "≤ 1 s")
	return nil
}

func benchLookupHTTP(b *bench, ix *geo.Index, pts []orb.Point) error {
	// The server logs as gridd serve does, at info, into nothing.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := api.New(api.Config{Lookup: staticLookup{geo.NewView(ix)}, Logger: logger})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln) //nolint:errcheck
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	workers := 4 * runtime.GOMAXPROCS(0)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}

	// Single lookups: workers loop over keep-alive connections for a bounded
	// time.
	dur := 3 * time.Second
	if b.quick {
		dur = time.Second
	}
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	start, c0 := time.Now(), cpuTime()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Now().Before(stop); i += workers {
				p := pts[i%len(pts)]
				resp, err := client.Get(fmt.Sprintf("%s/v1/lookup?lon=%.7f&lat=%.7f", base, p[0], p[1]))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 404 {
					failed.Add(1)
				}
				done.Add(1)
			}
		}(w)
	}
	wg.Wait()
	single := float64(done.Load()) / time.Since(start).Seconds()
	singleCPU := float64(done.Load()) / (cpuTime() - c0).Seconds()
	if failed.Load() > 0 {
		return fmt.Errorf("http single lookups: %d failed", failed.Load())
	}
	b.add(fmt.Sprintf("HTTP GET /v1/lookup, keep-alive, %d clients, client and server on %d cores", workers, runtime.GOMAXPROCS(0)),
		perSec(single)+" ("+perSec(singleCPU)+" per CPU s, client included)", "", "", "≥ 20k/s")

	// Batches of 100,000 points: coordinates with 7 decimals (1 cm), as a
	// GPS app sends them, and with every digit of a float64.
	rounds := 10
	if b.quick {
		rounds = 3
	}
	gcj := make([]orb.Point, api.MaxBatchPoints)
	for i, p := range pts[:api.MaxBatchPoints] {
		gcj[i] = geo.WGS84ToGCJ02(p)
	}
	for _, c := range []struct {
		decimals int
		crs      string
		what     string
	}{{7, "", "7 decimals as from GPS"}, {-1, "", "full float64 digits"}, {7, "gcj02", "GCJ-02, 7 decimals as from a phone map"}} {
		batch := pts[:api.MaxBatchPoints]
		if c.crs == "gcj02" {
			batch = gcj
		}
		body := api.BatchBody(batch, c.decimals)
		if c.crs != "" {
			body = append([]byte(`{"crs":"`+c.crs+`",`), body[1:]...)
		}
		start, c0 = time.Now(), cpuTime()
		for i := 0; i < rounds; i++ {
			resp, err := client.Post(base+"/v1/lookup", "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("batch lookup: status %d", resp.StatusCode)
			}
		}
		n := float64(rounds * api.MaxBatchPoints)
		b.add("HTTP POST /v1/lookup, batches of 100,000 points, "+c.what, perSec(n/time.Since(start).Seconds())+" points ("+
			perSec(n/(cpuTime()-c0).Seconds())+" per CPU s, client included)", "", "", "≥ 1M points/s")
	}
	return nil
}

func perSec(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk/s", r/1e3)
	}
	return fmt.Sprintf("%.0f/s", r)
}

// zorder interleaves 16-bit quantised coordinates, for sorting points along
// a space-filling curve.
func zorder(p orb.Point, ext orb.Bound) uint64 {
	q := func(v, lo, hi float64) uint32 { return uint32(max(0, min(1, (v-lo)/(hi-lo))) * 65535) }
	x, y := q(p[0], ext.Min[0], ext.Max[0]), q(p[1], ext.Min[1], ext.Max[1])
	var z uint64
	for i := 0; i < 16; i++ {
		z |= uint64(x>>i&1)<<(2*i) | uint64(y>>i&1)<<(2*i+1)
	}
	return z
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "  "+format+"\n", args...) }

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
