package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/tiles"
)

// The tiles section: cold and warm tiles per second and latency percentiles
// at z10, z12, z14 and z16 for `grids` and `streets,communities,grids` over
// the demo district, served over HTTP by an in-process gridd; the floor is
// the same tile statement run bare on the same pool in the same run.

func init() {
	sections["tiles"] = section{order: 30, run: benchTiles}
}

// benchGridsSQL fills every community with ~100 m square cells clipped to
// it (the bench's stand-in for built grids), numbered per community.
const benchGridsSQL = `
INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
SELECT c.code || lpad(n::text, 3, '0'), c.code, left(c.code, 9), left(c.code, 6), g, ST_Area(g::geography)
FROM (
    SELECT c.code, row_number() OVER (PARTITION BY c.code ORDER BY ST_YMax(p.geom) DESC, ST_XMin(p.geom)) AS n,
           ST_Transform(p.geom, 4326) AS g
    FROM communities c,
         LATERAL ST_SquareGrid(130, c.geom_3857) sq,
         LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(sq.geom, c.geom_3857), 3)) p
    WHERE c.valid_to IS NULL AND sq.geom && c.geom_3857 AND ST_Area(p.geom) > 50
) x, communities c
WHERE c.code = x.code AND c.valid_to IS NULL AND n <= 999 AND ST_IsValid(g)`

func benchTiles(ctx context.Context, b *bench) error {
	st := postgis.NewStore(b.pool)
	data, err := os.ReadFile("testdata/dongcheng/divisions.geojson")
	if err != nil {
		return fmt.Errorf("demo divisions (run from the repository root): %w", err)
	}
	feats, rejected, err := grids.ParseDivisions(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		return fmt.Errorf("demo divisions: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, feats, "bench", "bench"); err != nil {
		return err
	}
	// The stand-in grids are reprojected clips of the communities, a few
	// square centimetres off an exact partition: the editing guard, which
	// holds real grids to the partition, is off for their insert.
	if _, err := b.pool.Exec(ctx, `ALTER TABLE unit_grids DISABLE TRIGGER gridd_partition_guard_ins, DISABLE TRIGGER gridd_partition_guard_upd`); err != nil {
		return err
	}
	tag, err := b.pool.Exec(ctx, benchGridsSQL)
	if err != nil {
		return fmt.Errorf("bench grids: %w", err)
	}
	if _, err := b.pool.Exec(ctx, `ALTER TABLE unit_grids ENABLE TRIGGER gridd_partition_guard_ins, ENABLE TRIGGER gridd_partition_guard_upd`); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d demo divisions, %d ~100 m grids\n", len(feats), tag.RowsAffected())
	all, _ := tiles.ParseLayers(tiles.LayerNames())
	bound, err := st.DataBounds(ctx, all)
	if err != nil {
		return err
	}

	svc, srv := benchTileServer(st)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

	samples := 40
	warmFor := 2 * time.Second
	if b.quick {
		samples, warmFor = 12, 500*time.Millisecond
	}
	cores := runtime.GOMAXPROCS(0)
	for _, layerList := range []string{"grids", "streets,communities,grids"} {
		layers, _ := tiles.ParseLayers(layerList)
		for _, z := range []int{10, 12, 14, 16} {
			ids := pickTiles(coveringTiles(bound, z), samples)
			work := fmt.Sprintf("tile z%d %s", z, layerList)
			if err := benchColdTiles(ctx, b, svc, srv.URL, work, layerList, layers, ids); err != nil {
				return err
			}
			if err := benchWarmTiles(ctx, b, svc, client, srv.URL, work, layerList, layers, coveringTiles(bound, z), cores, warmFor); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchTileServer serves the store's tiles over HTTP from this process, as
// gridd serve does (request log at info, into nothing).
func benchTileServer(st *postgis.Store) (*tiles.Service, *httptest.Server) {
	svc := tiles.NewService(st, 1<<30, 0)
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return svc, httptest.NewServer(api.New(api.Config{Tiles: svc, Logger: logger}).Handler())
}

// browserAccept is the Accept-Encoding browsers send over plain HTTP
// (over HTTPS they add br and zstd).
const browserAccept = "gzip, deflate"

// benchColdTiles compares a cold tile over HTTP (the cache emptied before
// each request, gzip accepted as browsers do) with the same statement run
// bare on the same pool. In each run the tiles are fetched one after the
// other, and for each tile the two sides alternate which goes first, so
// neither side always runs on buffers the other just warmed. Each run gives
// the mean cost per tile of each side; the row is the median of the runs.
func benchColdTiles(ctx context.Context, b *bench, svc *tiles.Service, base, work, layerList string,
	layers []*tiles.Layer, ids []tiles.ID) error {
	var cold, inproc, bare, zip []float64
	var latCold, latBare, latHit []time.Duration
	var plainBytes, gzBytes, brBytes int
	rc, err := newRawClient(base)
	if err != nil {
		return err
	}
	defer rc.Close()
	opt := tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1}
	stopProfile := profileServer(work + " cold")
	defer stopProfile()
	for run := range b.runs {
		var sc, si, sb, sz time.Duration
		for i, id := range ids {
			q, args := postgis.TileSQL(layers, id, opt)
			doBare := func() error {
				d, err := timeIt(func() error {
					var out []byte
					return b.pool.QueryRow(ctx, q, args...).Scan(&out)
				})
				sb += d
				latBare = append(latBare, d)
				return err
			}
			path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layerList, id.Z, id.X, id.Y)
			doCold := func() error {
				svc.Cache().Invalidate("*", true, orb.Bound{})
				d, err := timeIt(func() error { _, _, err := rc.get(path, browserAccept); return err })
				sc += d
				latCold = append(latCold, d)
				if err != nil {
					return err
				}
				// The tile is compressed after it is cached, off the request
				// path; that work is timed apart (compressed below) and
				// not left running into the next measurement.
				t, _, err := svc.Tile(ctx, layers, id)
				if err != nil {
					return err
				}
				<-t.Ready()
				// The same request again, from the cache: what HTTP
				// itself costs here.
				d, err = timeIt(func() error { _, _, err := rc.get(path, browserAccept); return err })
				latHit = append(latHit, d)
				return err
			}
			first, second := doBare, doCold
			if (run+i)%2 == 1 {
				first, second = doCold, doBare
			}
			if err := first(); err != nil {
				return err
			}
			if err := second(); err != nil {
				return err
			}
			// In process: the service without HTTP, for where the cost goes.
			svc.Cache().Invalidate("*", true, orb.Bound{})
			var t *tiles.Tile
			d, err := timeIt(func() error { t, _, err = svc.Tile(ctx, layers, id); return err })
			if err != nil {
				return err
			}
			si += d
			svc.Compress(t) // as the server does once it has answered
			<-t.Ready()
			// The compression of a cached tile, done once, off the
			// request path: gzip and brotli of the same data.
			fresh := tiles.NewTile(t.Data, false)
			d, _ = timeIt(func() error { fresh.Gzipped(); return nil })
			sz += d
			if run == 0 {
				plainBytes += len(t.Data)
				gzBytes += len(fresh.Gzipped())
				if br := fresh.Select("br"); br.Encoding == "br" {
					brBytes += len(br.Body)
				} else {
					brBytes += len(t.Data)
				}
			}
		}
		k := float64(len(ids))
		zip = append(zip, sz.Seconds()*1e3/k)
		cold = append(cold, sc.Seconds()*1e3/k)
		inproc = append(inproc, si.Seconds()*1e3/k)
		bare = append(bare, sb.Seconds()*1e3/k)
	}
	sCold, sIn, sBare := statOf(cold), statOf(inproc), statOf(bare)
	fmt.Fprintf(os.Stderr, "  %s cold: mean of %d tiles a run; all requests %s, bare %s; the same request cached %s\n",
		work, len(ids), latencies(latCold), latencies(latBare), latencies(latHit))
	b.addStats(work+" cold (HTTP, gzip accepted)", "ms/tile", sCold, &sBare, "bare statement, same pool", fmtMS, "≤ 1.1× bare")
	b.addStats(fmt.Sprintf("%s cold (in process)", work), "ms/tile", sIn, &sBare, "bare statement", fmtMS, "≤ 1.1× bare")
	k := max(1, len(ids))
	b.addStats(fmt.Sprintf("%s compression once per cached tile, off the request path (%.1f KB plain, %.1f KB gzip, %.1f KB br a tile)",
		work, float64(plainBytes)/1024/float64(k), float64(gzBytes)/1024/float64(k), float64(brBytes)/1024/float64(k)),
		"ms/tile", statOf(zip), &sBare, "bare statement", fmtMS, "")
	return nil
}

// benchWarmTiles measures cached tiles over HTTP: every tile fetched once
// and compressed, then a client in another process fetches them round-robin
// on 8 keep-alive connections with gzip accepted. PostGIS's side is the same
// statements, each run once first as gridd's warm-up, then round-robin from
// as many connections as gridd has cores, for as long.
func benchWarmTiles(ctx context.Context, b *bench, svc *tiles.Service, client *http.Client, base, work, layerList string,
	layers []*tiles.Layer, ids []tiles.ID, cores int, warmFor time.Duration) error {
	paths := make([]string, len(ids))
	for i, id := range ids {
		if err := fetchTileAccept(client, base, layerList, id, browserAccept); err != nil {
			return err
		}
		t, _, err := svc.Tile(ctx, layers, id)
		if err != nil {
			return err
		}
		<-t.Ready()
		paths[i] = fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layerList, id.Z, id.X, id.Y)
	}
	var last tileClientResult
	var serverCPU, clientCPU []float64 // µs per tile
	sGridd, err := repeat(b.runs, func() (float64, error) {
		stopProfile := profileServer(work + " warm")
		defer stopProfile()
		cpu0 := cpuSeconds()
		res, err := tileLoad(tileClientJob{Base: base, Paths: paths, Conns: 8, Duration: warmFor, Accept: browserAccept})
		last = res
		n := float64(max(1, res.Requests))
		serverCPU = append(serverCPU, (cpuSeconds()-cpu0)*1e6/n)
		clientCPU = append(clientCPU, res.ClientCPU*1e6/n)
		return float64(res.Requests) / res.Seconds, err
	})
	if err != nil {
		return err
	}
	opt := tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1}
	type stmt struct {
		q    string
		args []any
	}
	stmts := make([]stmt, len(ids))
	for i, id := range ids {
		stmts[i].q, stmts[i].args = postgis.TileSQL(layers, id, opt)
		var out []byte
		if err := b.pool.QueryRow(ctx, stmts[i].q, stmts[i].args...).Scan(&out); err != nil {
			return err
		}
	}
	sPG, err := repeat(b.runs, func() (float64, error) {
		var n atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, cores)
		start := time.Now()
		stop := start.Add(warmFor)
		for g := range cores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; time.Now().Before(stop); i += cores {
					s := stmts[i%len(stmts)]
					var out []byte
					if err := b.pool.QueryRow(ctx, s.q, s.args...).Scan(&out); err != nil {
						errs <- err
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		return float64(n.Load()) / time.Since(start).Seconds(), <-errs
	})
	if err != nil {
		return err
	}
	perTile := float64(last.Bytes) / float64(max(1, last.Requests))
	fmt.Fprintf(os.Stderr, "  %s warm: %d tiles, %.1f KB/tile sent, codings %v, last run p50 %.0fµs p99 %.0fµs\n",
		work, len(ids), perTile/1024, last.Encodings, last.P50us, last.P99us)
	b.addStats(work+" warm (gzip accepted, 8 conns, client in another process)", "tiles/s",
		sGridd, &sPG, fmt.Sprintf("same statements from %d connections", cores), fmtRate, "≥ 20k tiles/s on 2 cores")
	// The client shares the cores: what the server itself spends per tile
	// says what the cores would serve without it.
	sCPU, cCPU := statOf(serverCPU), statOf(clientCPU)
	b.addStats(fmt.Sprintf("%s warm: server CPU per tile (client: %.0fµs; %d cores would serve %s)",
		work, cCPU.Median, cores, fmtRate(float64(cores)*1e6/sCPU.Median)), "µs/tile", sCPU, nil, "",
		func(v float64) string { return fmt.Sprintf("%.0fµs", v) }, fmt.Sprintf("≤ %.0fµs (20k/s on %d cores)", float64(cores)*1e6/20000, cores))
	return nil
}

// profileServer writes a CPU profile of this process (the server side)
// into $GRIDDBENCH_PROFILE_DIR, when set, until the returned func is called.
func profileServer(name string) func() {
	dir := os.Getenv("GRIDDBENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, strings.NewReplacer(" ", "_", ",", "+", "/", "_").Replace(name)+".pprof"))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// pickTiles picks at most n of the tiles, evenly.
func pickTiles(ids []tiles.ID, n int) []tiles.ID {
	if len(ids) <= n {
		return ids
	}
	out := make([]tiles.ID, n)
	for i := range out {
		out[i] = ids[i*len(ids)/n]
	}
	return out
}

// statOf gives the median and spread of figures already measured.
func statOf(v []float64) stat {
	i := 0
	st, _ := repeat(len(v), func() (float64, error) { i++; return v[i-1], nil })
	return st
}

func fmtMS(v float64) string {
	if v < 1 {
		return fmt.Sprintf("%.0fµs", v*1e3)
	}
	return fmt.Sprintf("%.2fms", v)
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk/s", v/1e3)
	}
	return fmt.Sprintf("%.0f/s", v)
}

// The tiles_components section: the components layer over the components
// bench's synthetic census (1M components, loaded through the import's COPY
// path, which also builds the cluster cells): the z10 tile holding the
// census, cold over HTTP, against the same statement run bare and against
// ST_AsMVT over every component of the tile unclustered (what the tile would
// cost without cluster cells); and a z16 tile in the middle, where every
// component is drawn.
func init() {
	sections["tiles_components"] = section{order: 31, run: benchComponentTiles}
}

// unclusteredComponentsSQL is every current component of tile ($1, $2, $3)
// as one MVT layer, the attributes of the components layer included.
const unclusteredComponentsSQL = `SELECT ST_AsMVT(t, 'components', 4096, 'geom', 'fid') FROM (
    SELECT c.id AS fid, c.code, c.class_code, c.status, c.grid_code,
           ST_AsMVTGeom(c.geom_3857, ST_TileEnvelope($1, $2, $3), 4096, 256, true) AS geom
    FROM components c
    WHERE c.valid_to IS NULL AND c.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => 0.0625)) t`

func benchComponentTiles(ctx context.Context, b *bench) error {
	n := 1_000_000
	if b.quick {
		n = 100_000
	}
	const seed = 20261122
	if err := benchInsertGrids(ctx, b); err != nil {
		return fmt.Errorf("synthetic grids: %w", err)
	}
	feats, rejected, err := grids.ParseComponentsCSV(bytes.NewReader(benchComponentsCSV(n, seed)), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		return fmt.Errorf("synthetic components: %v %v", err, rejected)
	}
	st := postgis.NewStore(b.pool)
	load, err := timeIt(func() error {
		_, err := st.ImportComponents(ctx, feats, grids.ComponentImport{Mode: grids.AllOrNothing, Actor: "bench", Reason: "bench"})
		return err
	})
	if err != nil {
		return err
	}
	feats = nil
	if _, err := b.pool.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	centre := orb.Point{benchLon0 + benchSide*benchCellLon/2, benchLat0 + benchSide*benchCellLat/2}
	at := func(z int) tiles.ID {
		x, y, _, _ := tiles.Covering(orb.Bound{Min: centre, Max: centre}, z)
		return tiles.ID{Z: z, X: x, Y: y}
	}
	z10 := at(10)
	var inTile int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM components WHERE valid_to IS NULL
		AND geom_3857 && ST_TileEnvelope($1, $2, $3)`, z10.Z, z10.X, z10.Y).Scan(&inTile); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d synthetic components (seed %d) imported in %.1f s; %d in tile %s\n", n, seed, load.Seconds(), inTile, z10)

	svc := tiles.NewService(st, 1<<30, 0)
	srv := httptest.NewServer(api.New(api.Config{Tiles: svc}).Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	layers, _ := tiles.ParseLayers("components")
	rounds := 30
	if b.quick {
		rounds = 10
	}
	for _, id := range []tiles.ID{z10, at(14), at(16)} {
		q, args := postgis.TileSQL(layers, id, tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1})
		var cold, floor []time.Duration
		var size, features int
		for range rounds {
			d, err := timeIt(func() error {
				var out []byte
				return b.pool.QueryRow(ctx, q, args...).Scan(&out)
			})
			if err != nil {
				return err
			}
			floor = append(floor, d)
			svc.Cache().Invalidate("*", true, orb.Bound{})
			d, err = timeIt(func() error { return fetchTile(client, srv.URL, "components", id) })
			if err != nil {
				return err
			}
			cold = append(cold, d)
		}
		tile, _, err := svc.Tile(ctx, layers, id)
		if err != nil {
			return err
		}
		size = len(tile.Data)
		if ls, err := mvt.Unmarshal(tile.Data); err == nil && len(ls) == 1 {
			features = len(ls[0].Features)
		}
		work := fmt.Sprintf("tile z%d components over %dk components", id.Z, n/1000)
		target := "≤ 500 KB (the tile cap)"
		if id.Z == 10 {
			target = "≤ 300 ms cold, ≤ 500 KB"
		}
		b.add(work+" cold (HTTP)",
			fmt.Sprintf("%s, %d KB, %d features", latencies(cold), (size+512)/1024, features),
			latencies(floor)+" same statement bare",
			fmt.Sprintf("%.2f×", float64(mean(cold))/float64(mean(floor))), target)
		if id.Z != 10 {
			continue
		}
		// Unclustered: ST_AsMVT of every component of the tile.
		var bare []time.Duration
		var out []byte
		for range 3 {
			d, err := timeIt(func() error { return b.pool.QueryRow(ctx, unclusteredComponentsSQL, id.Z, id.X, id.Y).Scan(&out) })
			if err != nil {
				return err
			}
			bare = append(bare, d)
		}
		b.add(work+" cold vs unclustered ST_AsMVT", fmt.Sprintf("%s, %d KB", round(mean(cold)), (size+512)/1024),
			fmt.Sprintf("%s, %d KB unclustered (%d components)", round(mean(bare)), (len(out)+512)/1024, inTile),
			fmt.Sprintf("1/%.0f", float64(mean(bare))/float64(mean(cold))), "≤ 300 ms cold, ≤ 500 KB")
	}
	return nil
}

func coveringTiles(b orb.Bound, z int) []tiles.ID {
	x0, y0, x1, y1 := tiles.Covering(b, z)
	var ids []tiles.ID
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			ids = append(ids, tiles.ID{Z: z, X: x, Y: y})
		}
	}
	return ids
}

func fetchTile(c *http.Client, base, layers string, id tiles.ID) error {
	return fetchTileAccept(c, base, layers, id, "")
}

// fetchTileAccept fetches a tile with an Accept-Encoding (none if empty).
func fetchTileAccept(c *http.Client, base, layers string, id tiles.ID, accept string) error {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", base, layers, id.Z, id.X, id.Y), nil)
	if err != nil {
		return err
	}
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tile %s %s: status %d", layers, id, resp.StatusCode)
	}
	return nil
}

// hammer fetches the tiles round-robin from conns goroutines for d and
// returns a sample of latencies, the count and the elapsed time.
func hammer(c *http.Client, base, layers string, ids []tiles.ID, conns int, d time.Duration) ([]time.Duration, int, time.Duration, error) {
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for g := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := g; time.Now().Before(stop); i++ {
				t0 := time.Now()
				if err := fetchTile(c, base, layers, ids[i%len(ids)]); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				if i%16 == 0 {
					mine = append(mine, time.Since(t0))
				}
				n.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, int(n.Load()), time.Since(start), firstErr
}

// latencies formats p50/p99 of a sample.
func latencies(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	p := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("p50 %s p99 %s", round(p(0.5)), round(p(0.99)))
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

func mean(ds []time.Duration) time.Duration { return sum(ds) / time.Duration(max(1, len(ds))) }
