package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"time"

	"gridd/api"
	"gridd/grids"
)

func init() {
	commands["serve"] = command{help: "serve the HTTP API, tiles and map (migrates first)", run: runServe}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	db := dbFlag(fs)
	addr := fs.String("addr", envOr("GRIDD_ADDR", ":8080"), "listen address (env GRIDD_ADDR)")
	tileOpts := tileFlags(fs)
	publicReads := fs.Bool("public-reads", envOr("GRIDD_PUBLIC_READS", "true") == "true",
		"serve reads (map, tiles, lookups, grids) without a token (env GRIDD_PUBLIC_READS)")
	publicMetrics := fs.Bool("public-metrics", false,
		"serve /metrics without a token (env GRIDD_PUBLIC_METRICS; default: as --public-reads)")
	o := serveFlags(fs)
	dbo := databaseFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dbo.env.err != nil {
		return dbo.env.err
	}
	if o.env.err != nil {
		return o.env.err
	}
	metricsOpen := *publicReads
	if v := os.Getenv("GRIDD_PUBLIC_METRICS"); v != "" {
		metricsOpen = v == "true"
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "public-metrics" {
			metricsOpen = *publicMetrics
		}
	})
	st, err := openStoreWith(ctx, e, *db, true, dbo.timeouts)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := attachReplica(ctx, e, st, dbo); err != nil {
		return err
	}
	go pruneChanges(ctx, e, st, dbo.retention)

	feed := &changeFeed{Store: st}
	cfg, loc, duties := withLookup(e, feed, withTiles(ctx, e, feed, tileOpts, api.Config{
		Logger:     e.log,
		Ready:      st.Ready,
		Divisions:  st,
		Editor:     st,
		Features:   st,
		Tokens:     st,
		Classes:    st,
		Components: st,
		Builder:    st,
		History:    st,
		MgmtGrids:  st,
		// QGIS edits components over OGC API - Features Part 4.
		FeatureEditors: api.ComponentFeatureEditors(st),
		PrivateReads:   !*publicReads,
		TokenCacheTTL:  dbo.tokenTTL,
		PrivateMetrics: !metricsOpen,
		Limits:         o.limits,
		Version:        versionString(),
	}))
	srv := api.New(cfg)
	// A revoked token stops working at once (migration 0013); after a
	// reconnect a revocation may have been missed.
	go feed.Listen(ctx, 0, func(c grids.Change) { //nolint:errcheck // ends with ctx
		if c.Table == "*" || c.Table == "api_tokens" || c.Table == grids.NotificationsLost {
			srv.ForgetTokens()
		}
	})
	watchIndex(srv.Registry(), loc)
	watchFollow(srv.Registry(), st)
	// The feed first: once it has its cursor, the index's first load
	// cannot miss a change committed before the feed would deliver it.
	go feed.run(ctx, e, 500*time.Millisecond)
	select {
	case <-st.Following():
	case <-time.After(5 * time.Second): // the database is down: the version check covers the gap
	case <-ctx.Done():
	}
	go loc.Run(ctx, 500*time.Millisecond) //nolint:errcheck // ends with ctx; failures are logged
	go duties.Run(ctx)                    //nolint:errcheck // ends with ctx; failures are logged
	go tuneGC(ctx, e.log)
	go flagOverdue(ctx, st, e.log, 30*time.Second)
	go indexReportCells(ctx, st, e.log)
	hs := &http.Server{Addr: *addr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: o.readTimeout, WriteTimeout: o.writeTimeout, IdleTimeout: o.idleTimeout}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	e.log.Info("serving", "addr", *addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting_down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveOptions are gridd serve's limits and timeouts.
type serveOptions struct {
	limits api.Limits
	// readTimeout bounds reading a whole request, body included: a client
	// trickling a body is cut off. writeTimeout bounds a request from its
	// headers to the end of its response: a client that stops reading is
	// cut off. idleTimeout closes keep-alive connections left idle.
	readTimeout, writeTimeout, idleTimeout time.Duration
	env                                    envDefaults
}

// Default timeouts. The largest legitimate bodies (a 64 MiB batch, an
// 8 MiB changeset) need 1 MiB/s to arrive within a minute; the largest
// responses (a 100,000-point batch, about 25 MB; a tile is at most 500 KiB;
// builds run in the background) need 85 kB/s within five minutes.
const (
	defaultReadTimeout  = time.Minute
	defaultWriteTimeout = 5 * time.Minute
	defaultIdleTimeout  = 2 * time.Minute
)

func serveFlags(fs *flag.FlagSet) *serveOptions {
	o := &serveOptions{}
	fs.IntVar(&o.limits.BatchLookups, "max-batch-lookups", o.env.Int("GRIDD_MAX_BATCH_LOOKUPS", api.DefaultBatchLookups),
		"batch lookups over 64 KiB run at once; more wait, then get 503 (env GRIDD_MAX_BATCH_LOOKUPS; -1: no limit)")
	fs.IntVar(&o.limits.TileRenders, "max-tile-renders", o.env.Int("GRIDD_MAX_TILE_RENDERS", api.DefaultTileRenders),
		"tiles rendered in PostGIS at once; cached tiles are not limited (env GRIDD_MAX_TILE_RENDERS; -1: no limit)")
	fs.DurationVar(&o.limits.Wait, "busy-wait", o.env.Duration("GRIDD_BUSY_WAIT", api.DefaultLimitWait),
		"how long a request beyond a limit waits before its 503 (env GRIDD_BUSY_WAIT)")
	fs.DurationVar(&o.readTimeout, "read-timeout", o.env.Duration("GRIDD_READ_TIMEOUT", defaultReadTimeout),
		"time to read a whole request, body included (env GRIDD_READ_TIMEOUT; 0: none)")
	fs.DurationVar(&o.writeTimeout, "write-timeout", o.env.Duration("GRIDD_WRITE_TIMEOUT", defaultWriteTimeout),
		"time from a request's headers to the end of its response (env GRIDD_WRITE_TIMEOUT; 0: none)")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", o.env.Duration("GRIDD_IDLE_TIMEOUT", defaultIdleTimeout),
		"how long an idle keep-alive connection stays open (env GRIDD_IDLE_TIMEOUT)")
	return o
}
