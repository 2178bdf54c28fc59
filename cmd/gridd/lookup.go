package main

import (
	"context"

	"gridd/api"
	"gridd/grids"
)

// withLookup adds the grid index and the duty book (which the caller starts
// with Run) and the endpoints that read them to the server's configuration.
func withLookup(e *env, feed *changeFeed, cfg api.Config) (api.Config, *grids.Locator, *grids.Duties) {
	st := feed.Store
	loc := grids.NewLocator(feed, e.log)
	duties := grids.NewDuties(feed, e.log)
	cfg.Lookup = loc
	cfg.Workers = duties
	cfg.WorkerStore = st
	cfg.Router = &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog, Workers: duties}
	cfg.RoutingAdmin = st
	cfg.Cases = st
	cfg.CasePhotos = st
	cfg.Evaluation = st
	cfg.Hotspots = st
	cfg.CaseFeed = func(ctx context.Context, fn func(grids.Change)) error { return feed.Listen(ctx, 0, fn) }
	cfg.Consistency = consistency{st: st, loc: loc}
	ready := cfg.Ready
	cfg.Ready = func(ctx context.Context) error {
		if ready != nil {
			if err := ready(ctx); err != nil {
				return err
			}
		}
		if loc.Index() == nil || duties.Book() == nil {
			return grids.ErrNotReady
		}
		return nil
	}
	return cfg, loc, duties
}
