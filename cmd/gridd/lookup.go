package main

import (
	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
)

// withLookup adds the grid index (which the caller starts with Run) and the
// endpoints that read it to the server's configuration.
func withLookup(e *env, st *postgis.Store, cfg api.Config) (api.Config, *grids.Locator) {
	loc := grids.NewLocator(st, e.log)
	cfg.Lookup = loc
	cfg.Router = &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog}
	cfg.RoutingAdmin = st
	return cfg, loc
}
