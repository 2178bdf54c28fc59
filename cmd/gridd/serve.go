package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()

	feed := &changeFeed{Store: st}
	cfg, loc := withLookup(e, feed, withTiles(ctx, e, feed, tileOpts, api.Config{
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
		FeatureEditors: map[string]api.FeatureEditor{"components": api.ComponentFeatures(st)},
		PrivateReads:   !*publicReads,
		Version:        versionString(),
	}))
	srv := api.New(cfg)
	// A revoked token stops working at once (migration 0013); after a
	// reconnect ("*") a revocation may have been missed.
	go feed.Listen(ctx, 0, func(c grids.Change) { //nolint:errcheck // ends with ctx
		if c.Table == "*" || c.Table == "api_tokens" {
			srv.ForgetTokens()
		}
	})
	watchIndex(srv.Registry(), loc)
	go loc.Run(ctx, 500*time.Millisecond) //nolint:errcheck // ends with ctx; failures are logged
	go feed.run(ctx, e, 500*time.Millisecond)
	hs := &http.Server{Addr: *addr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
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
