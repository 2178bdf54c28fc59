package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"gridd/api"
	"gridd/grids/postgis"
)

// databaseOptions are gridd serve's database time budgets and how long it
// trusts a verified token without asking the database again.
type databaseOptions struct {
	timeouts postgis.Timeouts
	tokenTTL time.Duration
	err      error // a malformed environment variable
}

func databaseFlags(fs *flag.FlagSet) *databaseOptions {
	o := &databaseOptions{timeouts: postgis.ServeTimeouts}
	envDuration := func(key string, def time.Duration) time.Duration {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil && o.err == nil {
			o.err = fmt.Errorf("%s=%q: not a duration (like 30s or 2m)", key, v)
		}
		return d
	}
	t := &o.timeouts
	fs.DurationVar(&t.Statement, "statement-timeout", envDuration("GRIDD_STATEMENT_TIMEOUT", t.Statement),
		"longest any database statement may run, the backstop for reads (env GRIDD_STATEMENT_TIMEOUT; 0: none)")
	fs.DurationVar(&t.Edit, "edit-timeout", envDuration("GRIDD_EDIT_TIMEOUT", t.Edit),
		"longest a statement of an edit may run: changesets, grid, component, management-grid and routing writes (env GRIDD_EDIT_TIMEOUT; 0: none)")
	fs.DurationVar(&t.Lock, "lock-timeout", envDuration("GRIDD_LOCK_TIMEOUT", t.Lock),
		"longest a statement waits for a lock another writer holds, a community's editing lock among them (env GRIDD_LOCK_TIMEOUT; 0: none)")
	fs.DurationVar(&t.Work, "build-timeout", envDuration("GRIDD_BUILD_TIMEOUT", t.Work),
		"longest a statement of a build (POST /v1/builds) or of reading the map for the lookup index may run (env GRIDD_BUILD_TIMEOUT; 0: none)")
	fs.DurationVar(&o.tokenTTL, "token-cache-ttl", envDuration("GRIDD_TOKEN_CACHE_TTL", api.DefaultTokenCacheTTL),
		"how long a verified token is used without asking the database again; while the database is down it is used on (env GRIDD_TOKEN_CACHE_TTL)")
	return o
}
