package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// benchEditToReplica times an edit's way to an instance that reads the map
// from a streaming standby, as gridd serve --read-db does: its store reads
// the change log on the standby every 100 ms (woken at once by the
// primary's notifications, then waiting for the standby to replay), and its
// lookup index follows it. A split changeset of a grid commits on the
// primary and the instance's lookup at a point of the grid's east half is
// polled every millisecond until it names the grid version the split made
// there. The
// standby is GRIDD_BENCH_STANDBY_URL's server (make bench starts one with
// scripts/db.sh standby-start); without it the row says so. The edits
// commit with synchronous_commit on.
func benchEditToReplica(ctx context.Context, b *bench, st *postgis.Store, side int, gridOf func(int, string) geo.Code) error {
	const work = "edit on the primary → lookups of an instance reading a standby"
	standby, err := standbyURL(b)
	if err != nil {
		return err
	}
	if standby == "" {
		b.add(work, "not run: no GRIDD_BENCH_STANDBY_URL (make bench starts a standby)", "", "", "≤ 1 s")
		return nil
	}
	if err := waitForStandby(ctx, standby); err != nil {
		return err
	}
	bu, err := parseURL(b.url)
	if err != nil {
		return err
	}
	rs, err := postgis.OpenWith(ctx, b.url, postgis.Timeouts{})
	if err != nil {
		return err
	}
	defer rs.Close()
	// The edits commit as by default, flushed at once: the private
	// cluster turns synchronous_commit off for speed, and a standby
	// receives only flushed WAL (up to 3 × wal_writer_delay later).
	eu := *bu
	q := eu.Query()
	q.Set("synchronous_commit", "on")
	eu.RawQuery = q.Encode()
	es, err := postgis.OpenWith(ctx, eu.String(), postgis.Timeouts{})
	if err != nil {
		return err
	}
	defer es.Close()
	if err := rs.AttachReplicas(ctx, []string{standby}, postgis.Timeouts{}, postgis.DefaultFollowInterval, 0); err != nil {
		return err
	}
	feedCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	loc := grids.NewLocator(rs, nil)
	go loc.Run(feedCtx, 500*time.Millisecond) //nolint:errcheck // ends with feedCtx
	for {
		if _, err := loc.Lookup(orb.Point{116.3, 39.8}, grids.LookupOptions{}); !errors.Is(err, grids.ErrNotReady) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	edits := min(50, side*side)
	if b.quick {
		edits = min(10, side*side)
	}
	var lat []float64
	for k := range edits {
		code := gridOf(k, "019")
		g, err := st.Grid(ctx, code)
		if err != nil {
			return err
		}
		c := g.Geom.Bound().Center()
		east := orb.Point{c[0] + editBenchDLon/4, c[1]}
		ln := geojson.NewGeometry(orb.LineString{{c[0], c[1] - 0.01}, {c[0], c[1] + 0.01}})
		cs, err := es.ApplyChangeset(ctx, "bench", grids.ChangesetRequest{Message: "bench split",
			Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{{Code: code, Version: g.Version}}, Line: ln}}})
		if err != nil {
			return fmt.Errorf("split %s: %w", code, err)
		}
		t0 := time.Now()
		// The east half is a grid the split created or changed.
		var after []grids.GridVersion
		after = append(append(after, cs.Result.Created...), cs.Result.Changed...)
		for {
			l, err := loc.Lookup(east, grids.LookupOptions{})
			if err == nil && slices.Contains(after, grids.GridVersion{Code: l.Grid.Code, Version: l.Grid.Version}) {
				break
			}
			if time.Since(t0) > time.Minute {
				return fmt.Errorf("the standby's instance still answers %v a minute after the split of %s", l.Grid.Code, code)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(t0).Seconds()*1e3)
	}
	sorted := append([]float64(nil), lat...)
	sort.Float64s(sorted)
	p99 := sorted[min(len(sorted)-1, int(0.99*float64(len(sorted))))]
	b.addStats(fmt.Sprintf("%s, %d splits, p99 %s (the log read every %s)", work, len(lat), fmtMS(p99), postgis.DefaultFollowInterval),
		"ms", statOf(lat), nil, "", fmtMS, "≤ 1 s")
	return nil
}

// waitForStandby waits until the standby has replayed the bench database's
// creation and its grids.
func waitForStandby(ctx context.Context, standby string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := pgx.Connect(ctx, standby)
		if err == nil {
			var n int
			err = conn.QueryRow(ctx, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL`).Scan(&n)
			conn.Close(ctx)
			if err == nil && n > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the standby has not replayed the bench's database within a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
