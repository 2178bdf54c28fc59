package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

// The lookup section: 1M synthetic unit grids (100k with -quick) loaded into
// PostGIS with COPY, with names for their divisions and a management grid
// per community; the in-memory index streamed from PostGIS as gridd builds
// it, its load time and RSS measured in fresh processes; lookups per core
// for random and spatially sorted points; PostGIS answering the same points
// with the same warm-up and as many connections as gridd uses cores; HTTP
// single and batch lookups against a real gridd serve from a client process
// (lookup_http.go); and how soon an edit is visible.
func init() {
	sections["lookup"] = section{order: 20, run: benchLookup}
}

// staticLookup serves lookups from a fixed view.
type staticLookup struct{ ix *geo.View }

func (s staticLookup) Index() *geo.View { return s.ix }

// lookupLattice is the synthetic map: side × side jittered cells of about
// 100 m, one inner grid per 97 cells.
func lookupLattice(side int, origin orb.Point) synth.Lattice {
	return synth.Lattice{Origin: origin, NX: side, NY: side, Cell: 0.0009, Jitter: 0.2,
		HoleEvery: 97, District: "110101", Street: "001", PerCommunity: 999}
}

func mb(v float64) string   { return fmt.Sprintf("%.0f MB", v) }
func secs(v float64) string { return fmt.Sprintf("%.2f s", v) }

func benchLookup(ctx context.Context, b *bench) error {
	if *largeLookup {
		return benchLookupLarge(ctx, b)
	}
	side := 1000 // 1000 × 1000 lattice, plus one inner grid per 97 cells
	if b.quick {
		side = 320
	}
	lat := lookupLattice(side, orb.Point{116.0, 39.5})
	ext := orb.Bound{Min: lat.Origin, Max: orb.Point{lat.Origin[0] + float64(side)*lat.Cell, lat.Origin[1] + float64(side)*lat.Cell}}
	d, err := loadLookupMap(ctx, b, []synth.Lattice{lat})
	if err != nil {
		return err
	}
	logf("lookup: loaded in %v", d.Round(time.Millisecond))
	st := postgis.NewStore(b.pool)

	// Index memory and load time, each run in a fresh process.
	if err := benchIndexMemory(b, ""); err != nil {
		return err
	}

	ix, err := st.BuildIndex(ctx)
	if err != nil {
		return err
	}
	debug.FreeOSMemory()

	// Points: random over the lattice's extent (a few outside), and the
	// same points sorted along a Z curve.
	rng := rand.New(rand.NewSource(7))
	n := 2_000_000
	if b.quick {
		n = 500_000
	}
	pts := randomPoints(rng, n, ext)
	sorted := append([]orb.Point(nil), pts...)
	sort.Slice(sorted, func(i, j int) bool { return zorder(sorted[i], ext) < zorder(sorted[j], ext) })
	found := 0
	for _, p := range pts {
		if _, ok := ix.Owner(p); ok {
			found++
		}
	}
	if err := benchInProcess(ctx, b, ix, pts, sorted, found); err != nil {
		return err
	}
	sorted = nil
	if err := benchLookupHTTP(ctx, b, pts); err != nil {
		return err
	}
	ix, pts = nil, nil
	return benchFreshness(ctx, b, st)
}

func randomPoints(rng *rand.Rand, n int, ext orb.Bound) []orb.Point {
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{ext.Min[0] - 0.001 + rng.Float64()*(ext.Max[0]-ext.Min[0]+0.002), ext.Min[1] - 0.001 + rng.Float64()*(ext.Max[1]-ext.Min[1]+0.002)}
	}
	return pts
}

// loadLookupMap copies the lattices' grids into PostGIS (generating one
// lattice at a time), then adds what a deployed map has beside them:
// districts, streets and communities with names (their boxes as
// geometry), and one management grid per community holding its grids.
func loadLookupMap(ctx context.Context, b *bench, lats []synth.Lattice) (time.Duration, error) {
	return timeIt(func() error {
		total := 0
		for k, lat := range lats {
			gs := lat.Grids(42 + int64(k))
			total += len(gs)
			logf("lookup: lattice %d/%d: %d synthetic grids (%d so far); loading into PostGIS", k+1, len(lats), len(gs), total)
			if err := pgtest.CopyGrids(ctx, b.pool, gs); err != nil {
				return err
			}
		}
		conn, err := b.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		// Bulk rows for the benchmark: the feed's statement triggers
		// (which would look up every member grid's extent) are off.
		for _, q := range []string{
			`SET session_replication_role = replica`,
			`INSERT INTO districts (code, name, geom) SELECT district_code, '合成区' || district_code, ST_Multi(ST_SetSRID(ST_Extent(geom)::geometry, 4326))
				FROM unit_grids WHERE valid_to IS NULL GROUP BY district_code`,
			`INSERT INTO streets (code, name, parent_code, geom) SELECT street_code, '合成街道' || right(street_code, 3), left(street_code, 6), ST_Multi(ST_SetSRID(ST_Extent(geom)::geometry, 4326))
				FROM unit_grids WHERE valid_to IS NULL GROUP BY street_code`,
			`INSERT INTO communities (code, name, parent_code, geom) SELECT community_code, '合成社区' || right(community_code, 3), left(community_code, 9), ST_Multi(ST_SetSRID(ST_Extent(geom)::geometry, 4326))
				FROM unit_grids WHERE valid_to IS NULL GROUP BY community_code`,
			`INSERT INTO mgmt_grids (code, name, street_code) SELECT 'M' || code, '责任网格' || right(code, 3), parent_code FROM communities`,
			`INSERT INTO mgmt_grid_members (mgmt_grid_id, grid_code) SELECT m.id, u.code FROM unit_grids u JOIN mgmt_grids m ON m.code = 'M' || u.community_code
				WHERE u.valid_to IS NULL`,
			`RESET session_replication_role`,
			`ANALYZE`,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("load lookup map: %w", err)
			}
		}
		return nil
	})
}

// benchIndexMemory builds the index from the section's database in fresh
// processes (b.runs times, plus one reload and one run of the former
// IndexInput path) and reports load time and RSS.
func benchIndexMemory(b *bench, label string) error {
	env := []string{"DATABASE_URL=" + b.url}
	var rs []indexBuildResult
	get := func(f func(indexBuildResult) float64) func() (float64, error) {
		i := 0
		return func() (float64, error) { v := f(rs[i]); i++; return v, nil }
	}
	for range max(b.runs, 1) {
		var r indexBuildResult
		if err := child("index", append(env, "GRIDDBENCH_INDEX_PATH=stream"), &r); err != nil {
			return err
		}
		rs = append(rs, r)
	}
	n := len(rs)
	load, _ := repeat(n, get(func(r indexBuildResult) float64 { return r.Seconds }))
	peak, _ := repeat(n, get(func(r indexBuildResult) float64 { return r.PeakRSSMB }))
	steady, _ := repeat(n, get(func(r indexBuildResult) float64 { return r.SteadyMB }))
	heap, _ := repeat(n, get(func(r indexBuildResult) float64 { return r.HeapMB }))
	grids := rs[0].Grids
	b.addStats(fmt.Sprintf("%sindex load from PostGIS (read + build, streamed), %d grids, fresh process", label, grids), "s", load, nil, "", secs, "")
	b.addStats(fmt.Sprintf("%sindex peak RSS while loading (VmHWM, process base %.0f MB), %d grids", label, rs[0].BaseRSSMB, grids), "MB", peak, nil, "", mb,
		fmt.Sprintf("≤ %.0f MB (500 MB per 1M grids)", 500*float64(grids)/1e6))
	b.addStats(fmt.Sprintf("%sindex steady RSS once loaded (VmRSS; heap %.0f MB, index slices %.0f MB), %d grids", label, heap.Median, rs[0].IndexMB, grids), "MB", steady, nil, "", mb,
		fmt.Sprintf("≤ %.0f MB (350 MB per 1M grids)", 350*float64(grids)/1e6))
	if label != "" {
		return nil
	}
	var r indexBuildResult
	if err := child("index", append(env, "GRIDDBENCH_INDEX_PATH=stream", "GRIDDBENCH_RELOAD=1"), &r); err != nil {
		return err
	}
	b.add(fmt.Sprintf("index reload: peak RSS while a second index loads beside the first, %d grids", grids), mb(r.ReloadPeak), "", "", "two indexes, no input copy")
	var old indexBuildResult
	if err := child("index", append(env, "GRIDDBENCH_INDEX_PATH=input"), &old); err != nil {
		return err
	}
	b.add(fmt.Sprintf("former load path (IndexInput as Go values, then NewIndex), %d grids, 1 run", grids),
		fmt.Sprintf("%s, peak RSS %s, steady %s", secs(old.Seconds), mb(old.PeakRSSMB), mb(old.SteadyMB)), "", "", "for comparison")
	return nil
}

// benchInProcess measures lookups in this process: one goroutine (rates per
// CPU second: what one core does on a shared machine), then as many
// goroutines as cores against PostGIS on as many connections, both warmed
// up with one untimed pass over their own points.
func benchInProcess(ctx context.Context, b *bench, ix *geo.Index, pts, sorted []orb.Point, found int) error {
	oneCore := func(ps []orb.Point) (cpu, wall float64) {
		start, c0 := time.Now(), cpuTime()
		for _, p := range ps {
			ix.Owner(p)
		}
		return float64(len(ps)) / (cpuTime() - c0).Seconds(), float64(len(ps)) / time.Since(start).Seconds()
	}
	oneCore(pts) // warm-up
	var walls []float64
	rnd, err := repeat(b.runs, func() (float64, error) { c, w := oneCore(pts); walls = append(walls, w); return c, nil })
	if err != nil {
		return err
	}
	oneCore(sorted)
	srt, err := repeat(b.runs, func() (float64, error) { c, _ := oneCore(sorted); return c, nil })
	if err != nil {
		return err
	}
	slices.Sort(walls)
	b.addStats(fmt.Sprintf("point → grid in process, 1 goroutine, random, per CPU second (%d pts, %d inside; wall median %s)", len(pts), found, perSec(walls[len(walls)/2])),
		"lookups/s", rnd, nil, "", perSec, "≥ 2.5M/s per core")
	b.addStats("point → grid in process, 1 goroutine, spatially sorted, per CPU second", "lookups/s", srt, nil, "", perSec, "")

	// The batch path (View.Owners, as POST /v1/lookup finds owners), on
	// one goroutine, in batches of 100,000.
	view := geo.NewView(ix)
	ids := make([]int32, 100_000)
	batched := func() float64 {
		c0 := cpuTime()
		for k := 0; k+len(ids) <= len(pts); k += len(ids) {
			view.Owners(pts[k:k+len(ids)], ids, 1)
		}
		return float64(len(pts)/len(ids)*len(ids)) / (cpuTime() - c0).Seconds()
	}
	batched()
	bat, err := repeat(b.runs, func() (float64, error) { return batched(), nil })
	if err != nil {
		return err
	}
	b.addStats("point → grid in process, batch path (View.Owners, 8 lookups interleaved), 1 goroutine, random, per CPU second", "lookups/s", bat, nil, "", perSec, "≥ 2.5M/s per core")

	// Equal parallelism: P goroutines and P PostgreSQL connections.
	par := runtime.GOMAXPROCS(0)
	parallel := func(ps []orb.Point) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for w := range par {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, p := range ps[w*len(ps)/par : (w+1)*len(ps)/par] {
					ix.Owner(p)
				}
			}()
		}
		wg.Wait()
		return float64(len(ps)) / time.Since(start).Seconds()
	}
	parallel(pts)
	gPar, err := repeat(b.runs, func() (float64, error) { return parallel(pts), nil })
	if err != nil {
		return err
	}

	sample := pts[:20_000]
	if b.quick {
		sample = pts[:5_000]
	}
	owners := make([]string, len(sample))
	atQ := `SELECT i, coalesce(gridd_grid_at(ST_SetSRID(ST_MakePoint(x, y), 4326)), '')
		FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i)`
	joinQ := `SELECT DISTINCT ON (i) i, u.code FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i)
		JOIN unit_grids u ON u.valid_to IS NULL AND ST_Covers(u.geom, ST_SetSRID(ST_MakePoint(x, y), 4326)) ORDER BY i, u.code`
	pgRun := func(q string, record bool) (float64, error) {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, par)
		for w := range par {
			lo, hi := w*len(sample)/par, (w+1)*len(sample)/par
			xs, ys := make([]float64, hi-lo), make([]float64, hi-lo)
			for i, p := range sample[lo:hi] {
				xs[i], ys[i] = p[0], p[1]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rows, err := b.pool.Query(ctx, q, xs, ys)
				if err != nil {
					errs[w] = err
					return
				}
				var i int64
				var code string
				_, errs[w] = pgx.ForEachRow(rows, []any{&i, &code}, func() error {
					if record {
						owners[lo+int(i)-1] = code
					}
					return nil
				})
			}()
		}
		wg.Wait()
		return float64(len(sample)) / time.Since(start).Seconds(), errors.Join(errs...)
	}
	if _, err := pgRun(atQ, true); err != nil { // warm-up, and the owners for the check
		return err
	}
	pgAt, err := repeat(b.runs, func() (float64, error) { return pgRun(atQ, false) })
	if err != nil {
		return err
	}
	if _, err := pgRun(joinQ, false); err != nil {
		return err
	}
	pgJoin, err := repeat(b.runs, func() (float64, error) { return pgRun(joinQ, false) })
	if err != nil {
		return err
	}
	b.addStats(fmt.Sprintf("point → grid in process, %d goroutines vs PostGIS on %d connections, both warmed up (PostGIS on %d of the points)", par, par, len(sample)),
		"lookups/s", gPar, &pgAt, "gridd_grid_at", perSec, "≥ 50× PostGIS")
	b.addStats(fmt.Sprintf("point → grid in process, %d goroutines vs ST_Covers join through GiST on %d connections", par, par),
		"lookups/s", gPar, &pgJoin, "ST_Covers join", perSec, "≥ 50× PostGIS")
	disagree := 0
	for i, p := range sample {
		got := ""
		if id, ok := ix.Owner(p); ok {
			got = string(ix.Code(id))
		}
		if got != owners[i] {
			disagree++
		}
	}
	b.add(fmt.Sprintf("index vs PostGIS owner on %d sample points", len(sample)), fmt.Sprintf("%d disagree", disagree), "", "", "0")
	if disagree > 0 {
		return fmt.Errorf("the index and gridd_grid_at disagree on %d of %d points", disagree, len(sample))
	}
	return nil
}

// benchFreshness runs a Locator on the loaded map, commits grid edits
// through SQL and times how long each takes to reach lookups.
func benchFreshness(ctx context.Context, b *bench, st *postgis.Store) error {
	// The edited grids: each is rewritten as it is (a new version of the
	// same shape), so that its community stays an exact partition for the
	// partition guard; their communities get their exact outlines first
	// (the loader gave communities their boxes).
	const edits = 10
	rows, err := b.pool.Query(ctx, `SELECT code FROM unit_grids WHERE valid_to IS NULL ORDER BY random() LIMIT $1`, edits)
	if err != nil {
		return err
	}
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `UPDATE communities c SET geom = (SELECT ST_Multi(ST_Union(geom)) FROM unit_grids u
		WHERE u.community_code = c.code AND u.valid_to IS NULL) WHERE c.valid_to IS NULL AND c.code IN (SELECT left(unnest($1::text[]), 12))`, codes); err != nil {
		return err
	}
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
	for _, code := range codes {
		t0 := time.Now()
		if _, err := b.pool.Exec(ctx, `UPDATE unit_grids SET geom = geom WHERE code = $1 AND valid_to IS NULL`, code); err != nil {
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
	b.add(fmt.Sprintf("edit committed → visible in lookups, worst of %d, %d grids", len(codes), loc.Index().Len()), worst.Round(time.Millisecond).String(), "", "", "≤ 1 s")
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
