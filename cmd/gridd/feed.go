package main

import (
	"context"
	"sync"
	"time"

	"gridd/grids"
	"gridd/grids/postgis"
)

// changeFeed shares one change-feed listener (one connection, one version
// poll) among the parts of the server that follow the map: the lookup index
// and the tile cache. Everything else it passes through to the store.
type changeFeed struct {
	*postgis.Store
	mu   sync.Mutex
	subs []func(grids.Change)
}

// Listen subscribes fn to the shared feed until ctx ends. The poll interval
// is the shared listener's, set in run.
func (f *changeFeed) Listen(ctx context.Context, _ time.Duration, fn func(grids.Change)) error {
	f.mu.Lock()
	f.subs = append(f.subs, fn)
	f.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// run delivers the store's change feed to every subscriber, in order, until
// ctx ends.
func (f *changeFeed) run(ctx context.Context, e *env, poll time.Duration) {
	err := f.Store.Listen(ctx, poll, func(c grids.Change) {
		f.mu.Lock()
		subs := f.subs
		f.mu.Unlock()
		for _, fn := range subs {
			fn(c)
		}
	})
	if err != nil && ctx.Err() == nil {
		e.log.Error("change_feed_stopped", "error", err)
	}
}
