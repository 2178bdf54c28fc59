package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"gridd/grids/postgis"
	"gridd/tiles"
)

// The scaleout section compares one gridd serve with two: A on the primary
// and B reading the map from a streaming standby (GRIDD_BENCH_STANDBY_URL;
// make bench starts the private cluster's). The same client load (HTTP
// lookups of random points, then warm z14 tiles, from client processes of
// their own) goes to A alone, then is split evenly between A and B. On a
// machine of two cores the servers and clients share the cores, so the
// figures show what a second instance costs, not what it gains on a
// machine of its own: the CPU per request is the figure that carries over.
func init() {
	sections["scaleout"] = section{order: 55, run: benchScaleOut}
}

func benchScaleOut(ctx context.Context, b *bench) error {
	const work = "two instances (A on the primary, B on a standby) against one"
	standby, err := standbyURL(b)
	if err != nil {
		return err
	}
	if standby == "" {
		b.add(work, "not run: no GRIDD_BENCH_STANDBY_URL (make bench starts a standby)", "", "", "")
		return nil
	}
	st := postgis.NewStore(b.pool)
	if err := benchDistrict(ctx, b, st); err != nil {
		return err
	}
	if err := waitForStandby(ctx, standby); err != nil {
		return err
	}
	a, err := startGridd(ctx, b.url)
	if err != nil {
		return err
	}
	defer a.stop()
	bb, err := startGridd(ctx, b.url, "--read-db", standby)
	if err != nil {
		return err
	}
	defer bb.stop()

	all, _ := tiles.ParseLayers("grids")
	bound, err := st.DataBounds(ctx, all)
	if err != nil {
		return err
	}
	ids := coveringTiles(bound, 14)
	paths := make([]string, len(ids))
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for i, id := range ids {
		for _, s := range []*gridServer{a, bb} {
			if err := fetchTileAccept(client, s.base, "grids", id, browserAccept); err != nil {
				return err
			}
		}
		paths[i] = fmt.Sprintf("/tiles/grids/%d/%d/%d.mvt", id.Z, id.X, id.Y)
	}
	time.Sleep(time.Second) // the cached tiles compressed

	dur := 3 * time.Second
	if b.quick {
		dur = time.Second
	}
	cores := runtime.NumCPU()
	conns := 4 * cores
	ext := fmt.Sprintf("%.9f,%.9f,%.9f,%.9f", bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1])
	lookups := func(s *gridServer, workers, seed int) (float64, error) {
		var r httpResult
		err := child("http", []string{"GRIDDBENCH_HTTP=" + s.base, "GRIDDBENCH_HTTP_MODE=get", "GRIDDBENCH_HTTP_CRS=",
			"GRIDDBENCH_HTTP_SECONDS=" + strconv.FormatFloat(dur.Seconds(), 'f', -1, 64), "GRIDDBENCH_HTTP_WORKERS=" + strconv.Itoa(workers),
			"GRIDDBENCH_HTTP_DECIMALS=7", "GRIDDBENCH_HTTP_EXT=" + ext, "GRIDDBENCH_HTTP_SEED=" + strconv.Itoa(seed)}, &r)
		if err == nil && r.Failed > 0 {
			err = fmt.Errorf("lookups on %s: %d failed (status %s)", s.base, r.Failed, r.Status)
		}
		return float64(r.Requests) / r.Seconds, err
	}
	tileRate := func(s *gridServer, workers, _ int) (float64, error) {
		res, err := tileLoad(tileClientJob{Base: s.base, Paths: paths, Conns: workers, Duration: dur, Accept: browserAccept})
		return float64(res.Requests) / res.Seconds, err
	}
	// measure runs load against the servers at once, conns split evenly,
	// and returns the total rate and the servers' CPU µs per request.
	measure := func(load func(*gridServer, int, int) (float64, error), servers []*gridServer, seed int) (float64, float64, error) {
		var wg sync.WaitGroup
		rates := make([]float64, len(servers))
		errs := make([]error, len(servers))
		cpu0 := make([]float64, len(servers))
		for i, s := range servers {
			cpu0[i] = s.cpuSeconds()
		}
		for i, s := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rates[i], errs[i] = load(s, conns/len(servers), seed+i)
			}()
		}
		wg.Wait()
		var total, cpu float64
		for i, s := range servers {
			if errs[i] != nil {
				return 0, 0, errs[i]
			}
			total += rates[i]
			cpu += s.cpuSeconds() - cpu0[i]
		}
		return total, cpu * 1e6 / (total * dur.Seconds()), nil
	}
	for _, kind := range []struct {
		what string
		load func(*gridServer, int, int) (float64, error)
		unit string
	}{{"HTTP GET /v1/lookup", lookups, "requests/s"}, {"warm z14 grid tiles, gzip accepted", tileRate, "tiles/s"}} {
		if _, _, err := measure(kind.load, []*gridServer{a}, 1); err != nil { // warm-up
			return err
		}
		var oneCPU, twoCPU []float64
		var one, two []float64
		for run := range b.runs {
			r1, c1, err := measure(kind.load, []*gridServer{a}, 10+run)
			if err != nil {
				return err
			}
			r2, c2, err := measure(kind.load, []*gridServer{a, bb}, 20+run)
			if err != nil {
				return err
			}
			one, two = append(one, r1), append(two, r2)
			oneCPU, twoCPU = append(oneCPU, c1), append(twoCPU, c2)
		}
		sOne := statOf(one)
		b.addStats(fmt.Sprintf("%s, %d client connections, %s; server CPU per request %.0fµs (two) vs %.0fµs (one), %d cores shared with the clients",
			kind.what, conns, work, statOf(twoCPU).Median, statOf(oneCPU).Median, cores),
			kind.unit, statOf(two), &sOne, "one instance, the same load", fmtRate, "")
	}
	fmt.Fprintf(os.Stderr, "  scaleout: %d warm tiles, standby %s\n", len(paths), "attached")
	return nil
}

// standbyURL is the bench database on the standby of GRIDD_BENCH_STANDBY_URL
// ("" when it is not set).
func standbyURL(b *bench) (string, error) {
	standby := os.Getenv("GRIDD_BENCH_STANDBY_URL")
	if standby == "" {
		return "", nil
	}
	su, err := parseURL(standby)
	if err != nil {
		return "", fmt.Errorf("GRIDD_BENCH_STANDBY_URL: %w", err)
	}
	bu, err := parseURL(b.url)
	if err != nil {
		return "", err
	}
	su.Path = bu.Path // the bench's database, replicated
	return su.String(), nil
}
