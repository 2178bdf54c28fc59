package main

import (
	"context"
	"flag"
	"os"
	"strings"
	"time"

	"gridd/api"
	"gridd/grids/postgis"
)

// databaseOptions are gridd serve's database time budgets and how long it
// trusts a verified token without asking the database again.
type databaseOptions struct {
	timeouts postgis.Timeouts
	tokenTTL time.Duration
	// readDB is the streaming replica the map is read from ("": the
	// primary); follow how often the change log is read there; maxLag
	// the replica lag beyond which the instance is not ready; retention
	// how long the change log keeps its rows.
	readDB         string
	follow, maxLag time.Duration
	retention      time.Duration
	env            envDefaults
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
	fs.StringVar(&o.readDB, "read-db", os.Getenv("GRIDD_READ_DATABASE_URL"),
		"comma-separated PostgreSQL URLs of streaming replicas of --db to read the map from, one at a time, the next when one stops answering: the lookup index, tiles, the change log (env GRIDD_READ_DATABASE_URL; default: --db)")
	fs.DurationVar(&o.follow, "follow-interval", o.env.Duration("GRIDD_FOLLOW_INTERVAL", postgis.DefaultFollowInterval),
		"how often the change log is read on --read-db, which sends no notifications (env GRIDD_FOLLOW_INTERVAL)")
	fs.DurationVar(&o.maxLag, "max-replica-lag", o.env.Duration("GRIDD_MAX_REPLICA_LAG", postgis.DefaultMaxReplicaLag),
		"replica lag beyond which /readyz says not ready (env GRIDD_MAX_REPLICA_LAG; 0: no bound)")
	fs.DurationVar(&o.retention, "change-retention", o.env.Duration("GRIDD_CHANGE_RETENTION", postgis.DefaultChangeRetention),
		"how long the change log keeps its rows; an instance cut off for longer reloads everything (env GRIDD_CHANGE_RETENTION)")
	return o
}

// attachReplica sends the store's map reads to the replicas of --read-db,
// if given, and measures their lag until ctx ends.
func attachReplica(ctx context.Context, e *env, st *postgis.Store, o *databaseOptions) error {
	if o.readDB == "" {
		return nil
	}
	var urls []string
	for _, u := range strings.Split(o.readDB, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if err := st.AttachReplicas(ctx, urls, o.timeouts, o.follow, o.maxLag); err != nil {
		return err
	}
	e.log.Info("reading the map from replicas", "replicas", len(urls), "follow_interval", o.follow, "max_lag", o.maxLag)
	go st.MonitorReplica(ctx, time.Second)
	return nil
}

// pruneChanges deletes the change log's rows past the retention every hour
// until ctx ends. Every instance runs it; it is one short statement.
func pruneChanges(ctx context.Context, e *env, st *postgis.Store, keep time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.PruneChanges(ctx, keep); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("change_log_prune_failed", "error", err)
		} else if n > 0 {
			e.log.Info("change_log_pruned", "rows", n, "retention", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
