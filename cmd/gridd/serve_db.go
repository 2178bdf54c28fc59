package main

import (
	"flag"
	"time"

	"gridd/api"
	"gridd/grids/postgis"
)

// databaseOptions are gridd serve's database time budgets and how long it
// trusts a verified token without asking the database again.
type databaseOptions struct {
	timeouts postgis.Timeouts
	tokenTTL time.Duration
	env      envDefaults
}

func databaseFlags(fs *flag.FlagSet) *databaseOptions {
	o := &databaseOptions{timeouts: postgis.ServeTimeouts}
	t := &o.timeouts
	fs.DurationVar(&t.Statement, "statement-timeout", o.env.Duration("GRIDD_STATEMENT_TIMEOUT", t.Statement),
		"longest any database statement may run, the backstop for reads (env GRIDD_STATEMENT_TIMEOUT; 0: none)")
	fs.DurationVar(&t.Edit, "edit-timeout", o.env.Duration("GRIDD_EDIT_TIMEOUT", t.Edit),
		"longest a statement of an edit may run: changesets, grid, component, management-grid and routing writes (env GRIDD_EDIT_TIMEOUT; 0: none)")
	fs.DurationVar(&t.Lock, "lock-timeout", o.env.Duration("GRIDD_LOCK_TIMEOUT", t.Lock),
		"longest a statement waits for a lock another writer holds, a community's editing lock among them (env GRIDD_LOCK_TIMEOUT; 0: none)")
	fs.DurationVar(&t.Work, "build-timeout", o.env.Duration("GRIDD_BUILD_TIMEOUT", t.Work),
		"longest a statement of a build (POST /v1/builds) or of reading the map for the lookup index may run (env GRIDD_BUILD_TIMEOUT; 0: none)")
	fs.DurationVar(&o.tokenTTL, "token-cache-ttl", o.env.Duration("GRIDD_TOKEN_CACHE_TTL", api.DefaultTokenCacheTTL),
		"how long a verified token is used without asking the database again; while the database is down it is used on (env GRIDD_TOKEN_CACHE_TTL)")
	return o
}
