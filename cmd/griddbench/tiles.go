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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
	if err := benchDistrict(ctx, b, st); err != nil {
		return err
	}
	all, _ := tiles.ParseLayers(tiles.LayerNames())
	bound, err := st.DataBounds(ctx, all)
	if err != nil {
		return err
	}

	svc, srv := benchTileServer(st)
	defer srv.Close()
	thin := httptest.NewServer(thinTileServer(b.pool))
	defer thin.Close()
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
			if err := benchColdTiles(ctx, b, svc, srv.URL, thin.URL, work, layerList, layers, ids); err != nil {
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

// thinTileServer is the thinnest HTTP tile server over the same statement:
// net/http, the statement on the pool, the bytes written; no router, cache,
// logging or metrics. It shows what an HTTP round trip itself costs a cold
// tile on this machine, apart from what gridd adds to it.
func thinTileServer(pool *pgxpool.Pool) http.Handler {
	opt := tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		layers, err := tiles.ParseLayers(q.Get("layers"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, err := tiles.ParseID(q.Get("z"), q.Get("x"), q.Get("y"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sql, args := postgis.TileSQL(layers, id, opt)
		var out []byte
		if err := pool.QueryRow(r.Context(), sql, args...).Scan(&out); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.Write(out) //nolint:errcheck
	})
}

// benchDistrict loads the demo's divisions and ~100 m stand-in grids into
// the bench database.
func benchDistrict(ctx context.Context, b *bench, st *postgis.Store) error {
	n, err := benchDivisions(ctx, st)
	if err != nil {
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
	fmt.Fprintf(os.Stderr, "  %d demo divisions, %d ~100 m grids\n", n, tag.RowsAffected())
	return nil
}

// benchDivisions imports the demo's divisions and returns how many.
func benchDivisions(ctx context.Context, st *postgis.Store) (int, error) {
	data, err := os.ReadFile("testdata/dongcheng/divisions.geojson")
	if err != nil {
		return 0, fmt.Errorf("demo divisions (run from the repository root): %w", err)
	}
	feats, rejected, err := grids.ParseDivisions(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		return 0, fmt.Errorf("demo divisions: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(ctx, feats, "bench", "bench"); err != nil {
		return 0, err
	}
	return len(feats), nil
}

// browserAccept is the Accept-Encoding browsers send over plain HTTP
// (over HTTPS they add br and zstd).
const browserAccept = "gzip, deflate"

// benchColdTiles compares a cold tile over HTTP (the cache emptied before
// each request, gzip accepted as browsers do, from a client process) with the same statement run
// bare on the same pool, and with the same statement behind the thinnest
// HTTP server (thinTileServer). In each run the tiles are fetched one after
// the other, and for each tile the three sides take turns going first, so
// none always runs on buffers another just warmed. Each run gives the mean
// cost per tile of each side; the row is the median of the runs.
func benchColdTiles(ctx context.Context, b *bench, svc *tiles.Service, base, thinBase, work, layerList string,
	layers []*tiles.Layer, ids []tiles.ID) error {
	var cold, inproc, bare, thin, zip []float64
	var latCold, latBare, latHit, latThin []time.Duration
	var plainBytes, gzBytes, brBytes int
	// Both clients run in processes of their own (remoteClient).
	rc, err := newRemoteClient(base)
	if err != nil {
		return err
	}
	defer rc.Close()
	tc, err := newRemoteClient(thinBase)
	if err != nil {
		return err
	}
	defer tc.Close()
	opt := tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1}
	stopProfile := profileServer(work + " cold")
	defer stopProfile()
	for run := range b.runs {
		var sc, si, sb, st, sz time.Duration
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
				d, err := rc.get(path, browserAccept)
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
				d, err = rc.get(path, browserAccept)
				latHit = append(latHit, d)
				return err
			}
			thinPath := fmt.Sprintf("/?layers=%s&z=%d&x=%d&y=%d", layerList, id.Z, id.X, id.Y)
			doThin := func() error {
				d, err := tc.get(thinPath, browserAccept)
				st += d
				latThin = append(latThin, d)
				return err
			}
			sides := []func() error{doBare, doCold, doThin}
			for k := range sides {
				if err := sides[(run+i+k)%len(sides)](); err != nil {
					return err
				}
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
			d, _ = timeIt(func() error { fresh.Compress(); return nil })
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
		thin = append(thin, st.Seconds()*1e3/k)
	}
	sCold, sIn, sBare, sThin := statOf(cold), statOf(inproc), statOf(bare), statOf(thin)
	fmt.Fprintf(os.Stderr, "  %s cold: mean of %d tiles a run; all requests %s, bare %s, thin server %s; the same request cached %s\n",
		work, len(ids), latencies(latCold), latencies(latBare), latencies(latThin), latencies(latHit))
	b.addStats(work+" cold (HTTP, gzip accepted)", "ms/tile", sCold, &sBare, "bare statement, same pool", fmtMS, "≤ 1.1× bare")
	b.addStats(work+" cold (HTTP) vs the statement behind the thinnest HTTP server", "ms/tile", sCold, &sThin, "net/http, statement, bytes", fmtMS, "")
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
		sGridd, &sPG, fmt.Sprintf("same statements from %d connections", cores), fmtRate, "≥ 10k tiles/s on 2 cores")
	// The client shares the cores: what the server itself spends per tile
	// says what the cores would serve without it.
	sCPU, cCPU := statOf(serverCPU), statOf(clientCPU)
	b.addStats(fmt.Sprintf("%s warm: server CPU per tile (client: %.0fµs; %d cores would serve %s)",
		work, cCPU.Median, cores, fmtRate(float64(cores)*1e6/sCPU.Median)), "µs/tile", sCPU, nil, "",
		func(v float64) string { return fmt.Sprintf("%.0fµs", v) }, fmt.Sprintf("≤ %.0fµs (10k/s on %d cores)", float64(cores)*1e6/10000, cores))
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
// what a server without cluster cells would run, the same 8 x 8 clusters
// aggregated from the components on the fly in PostGIS; and tiles at z14
// and z16 in the middle (z16 draws every component).
func init() {
	sections["tiles_components"] = section{order: 31, run: benchComponentTiles}
}

// clusteredComponentsSQL is the components layer's low-zoom tile ($1, $2,
// $3) aggregated from the current components at request time: 8 x 8
// clusters per tile, each with its count, the major class most of its
// components belong to and their centroid, as the layer draws them from
// component_cells.
const clusteredComponentsSQL = `SELECT ST_AsMVT(t, 'components', 4096, 'geom', 'fid') FROM (
    SELECT 1125899906842624 + (($1::integer::bigint * 1048576 + gx) * 1048576 + gy) AS fid,
           CASE greatest(n01, n02, n03, n04, n05) WHEN 0 THEN NULL WHEN n01 THEN '01' WHEN n02 THEN '02'
                WHEN n03 THEN '03' WHEN n04 THEN '04' ELSE '05' END AS major_code,
           true AS cluster, n AS point_count,
           ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(sx / n, sy / n), 3857), ST_TileEnvelope($1::integer, $2::integer, $3::integer), 4096, 0, true) AS geom
    FROM (
        SELECT floor((ST_X(p) + 20037508.342789244) / (40075016.685578488 / (8 * 2 ^ $1::integer)))::integer AS gx,
               floor((20037508.342789244 - ST_Y(p)) / (40075016.685578488 / (8 * 2 ^ $1::integer)))::integer AS gy,
               count(*)::integer AS n,
               count(*) FILTER (WHERE left(c.class_code, 2) = '01') AS n01, count(*) FILTER (WHERE left(c.class_code, 2) = '02') AS n02,
               count(*) FILTER (WHERE left(c.class_code, 2) = '03') AS n03, count(*) FILTER (WHERE left(c.class_code, 2) = '04') AS n04,
               count(*) FILTER (WHERE left(c.class_code, 2) = '05') AS n05,
               sum(ST_X(p)) AS sx, sum(ST_Y(p)) AS sy
        FROM components c, LATERAL (SELECT gridd_component_pt(c.geom_3857) AS p) q
        WHERE c.valid_to IS NULL AND c.geom_3857 && ST_TileEnvelope($1::integer, $2::integer, $3::integer)
        GROUP BY 1, 2
    ) g
    WHERE gx BETWEEN $2::integer * 8 AND $2::integer * 8 + 7 AND gy BETWEEN $3::integer * 8 AND $3::integer * 8 + 7
) t`

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

	svc, srv := benchTileServer(st)
	defer srv.Close()
	rc, err := newRemoteClient(srv.URL)
	if err != nil {
		return err
	}
	defer rc.Close()
	layers, _ := tiles.ParseLayers("components")
	rounds := 10
	if b.quick {
		rounds = 4
	}
	for _, id := range []tiles.ID{z10, at(14), at(16)} {
		q, args := postgis.TileSQL(layers, id, tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1})
		path := fmt.Sprintf("/tiles/components/%d/%d/%d.mvt", id.Z, id.X, id.Y)
		bareOnce := func() (time.Duration, error) {
			return timeIt(func() error {
				var out []byte
				return b.pool.QueryRow(ctx, q, args...).Scan(&out)
			})
		}
		coldOnce := func() (time.Duration, error) {
			svc.Cache().Invalidate("*", true, orb.Bound{})
			d, err := rc.get(path, browserAccept)
			if err != nil {
				return d, err
			}
			t, _, err := svc.Tile(ctx, layers, id) // let its compression end
			if err == nil {
				<-t.Ready()
			}
			return d, err
		}
		// Each run: rounds of both sides, alternating which goes first.
		var cold, bare []float64
		for run := range b.runs {
			var sc, sb time.Duration
			for r := range rounds {
				first, second := bareOnce, coldOnce
				if (run+r)%2 == 1 {
					first, second = coldOnce, bareOnce
				}
				d1, err := first()
				if err != nil {
					return err
				}
				d2, err := second()
				if err != nil {
					return err
				}
				if (run+r)%2 == 1 {
					d1, d2 = d2, d1
				}
				sb, sc = sb+d1, sc+d2
			}
			cold = append(cold, sc.Seconds()*1e3/float64(rounds))
			bare = append(bare, sb.Seconds()*1e3/float64(rounds))
		}
		tile, _, err := svc.Tile(ctx, layers, id)
		if err != nil {
			return err
		}
		size, gz := len(tile.Data), len(tile.Gzipped())
		features, count := mvtCount(tile.Data)
		work := fmt.Sprintf("tile z%d components over %dk components", id.Z, n/1000)
		target := "≤ 500 KB (the tile cap)"
		if id.Z == 10 {
			target = "≤ 300 ms cold, ≤ 500 KB"
		}
		fmt.Fprintf(os.Stderr, "  %s: %d KB (%d KB gzip), %d features, %d components counted\n", work, (size+512)/1024, (gz+512)/1024, features, count)
		sBare := statOf(bare)
		b.addStats(work+" cold (HTTP, gzip accepted)", "ms/tile", statOf(cold), &sBare, "same statement bare", fmtMS, target)
		if id.Z >= tiles.ComponentsFromZoom {
			continue
		}
		// What a server without cluster cells would run: the clusters
		// aggregated from the components at request time, run once first
		// as the other side was.
		var out []byte
		if err := b.pool.QueryRow(ctx, clusteredComponentsSQL, id.Z, id.X, id.Y).Scan(&out); err != nil {
			return fmt.Errorf("clustered components: %w", err)
		}
		cf, cc := mvtCount(out)
		fmt.Fprintf(os.Stderr, "  %s on the fly: %d KB, %d clusters, %d components counted\n", work, (len(out)+512)/1024, cf, cc)
		sAgg, err := repeat(b.runs, func() (float64, error) {
			d, err := timeIt(func() error { return b.pool.QueryRow(ctx, clusteredComponentsSQL, id.Z, id.X, id.Y).Scan(&out) })
			return d.Seconds() * 1e3, err
		})
		if err != nil {
			return err
		}
		b.addStats(fmt.Sprintf("%s cold vs clusters aggregated on the fly (1/%.0f)", work, sAgg.Median/statOf(cold).Median), "ms/tile", statOf(cold), &sAgg,
			fmt.Sprintf("8 x 8 clusters from %d components at request time", inTile), fmtMS, target)
	}
	return nil
}

// mvtCount decodes a tile and returns its features and the components they
// stand for (a cluster's point_count, else 1).
func mvtCount(data []byte) (features, components int) {
	ls, err := mvt.Unmarshal(data)
	if err != nil {
		return 0, 0
	}
	for _, l := range ls {
		for _, f := range l.Features {
			features++
			switch v := f.Properties["point_count"].(type) {
			case float64:
				components += int(v)
			case int64:
				components += int(v)
			case uint64:
				components += int(v)
			default:
				components++
			}
		}
	}
	return features, components
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
