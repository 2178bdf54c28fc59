package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
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

	svc := tiles.NewService(st, 1<<30, 0)
	srv := httptest.NewServer(api.New(api.Config{Tiles: svc}).Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

	samples := 60
	warmFor := 2 * time.Second
	if b.quick {
		samples, warmFor = 15, 500*time.Millisecond
	}
	for _, layerList := range []string{"grids", "streets,communities,grids"} {
		layers, _ := tiles.ParseLayers(layerList)
		for _, z := range []int{10, 12, 14, 16} {
			ids := coveringTiles(bound, z)
			rounds := max(1, (samples+len(ids)-1)/len(ids))
			var cold, inproc, floor []time.Duration
			for range rounds {
				for _, id := range ids {
					// Floor: the bare statement.
					q, args := postgis.TileSQL(layers, id, tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1})
					d, err := timeIt(func() error {
						var out []byte
						return b.pool.QueryRow(ctx, q, args...).Scan(&out)
					})
					if err != nil {
						return err
					}
					floor = append(floor, d)
					// gridd cold: the cache does not hold the tile.
					svc.Cache().Invalidate("*", true, orb.Bound{})
					d, err = timeIt(func() error { return fetchTile(client, srv.URL, layerList, id) })
					if err != nil {
						return err
					}
					cold = append(cold, d)
					// gridd cold in process: the service without HTTP.
					svc.Cache().Invalidate("*", true, orb.Bound{})
					d, err = timeIt(func() error { _, _, err := svc.Tile(ctx, layers, id); return err })
					if err != nil {
						return err
					}
					inproc = append(inproc, d)
				}
			}
			work := fmt.Sprintf("tile z%d %s", z, layerList)
			b.add(work+" cold (HTTP)", latencies(cold), latencies(floor),
				fmt.Sprintf("%.2f×", float64(mean(cold))/float64(mean(floor))), "≤ 1.2× bare ST_AsMVT")
			b.add(work+" cold (in process)", latencies(inproc), latencies(floor),
				fmt.Sprintf("%.2f×", float64(mean(inproc))/float64(mean(floor))), "≤ 1.2× bare ST_AsMVT")

			// Warm: every tile cached, 8 keep-alive connections.
			for _, id := range ids {
				if err := fetchTile(client, srv.URL, layerList, id); err != nil {
					return err
				}
			}
			warm, n, elapsed, err := hammer(client, srv.URL, layerList, ids, 8, warmFor)
			if err != nil {
				return err
			}
			b.add(work+" warm", fmt.Sprintf("%s %s", rate(n, elapsed), latencies(warm)),
				rate(len(floor), sum(floor)), fmt.Sprintf("%.0f×", (float64(n)/elapsed.Seconds())/(float64(len(floor))/sum(floor).Seconds())),
				"≥ 10k tiles/s on 2 cores")
		}
	}
	return nil
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
	resp, err := c.Get(fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", base, layers, id.Z, id.X, id.Y))
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
