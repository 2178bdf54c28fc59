package main

import (
	"context"
	"slices"
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
	next int
	subs map[int]func(grids.Change)
}

// Listen subscribes fn to the shared feed until ctx ends. The poll interval
// is the shared listener's, set in run. Subscribers come and go (each open
// dashboard's /v1/cases/feed is one).
func (f *changeFeed) Listen(ctx context.Context, _ time.Duration, fn func(grids.Change)) error {
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[int]func(grids.Change){}
	}
	id := f.next
	f.next++
	f.subs[id] = fn
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	delete(f.subs, id)
	f.mu.Unlock()
	return ctx.Err()
}

// run delivers the store's change feed to every subscriber, in order, until
// ctx ends.
func (f *changeFeed) run(ctx context.Context, e *env, poll time.Duration) {
	err := f.Store.Listen(ctx, poll, func(c grids.Change) {
		f.mu.Lock()
		ids := make([]int, 0, len(f.subs))
		for id := range f.subs {
			ids = append(ids, id)
		}
		slices.Sort(ids) // in order of subscription: the index and tiles first
		subs := make([]func(grids.Change), len(ids))
		for i, id := range ids {
			subs[i] = f.subs[id]
		}
		f.mu.Unlock()
		for _, fn := range subs {
			fn(c)
		}
	})
	if err != nil && ctx.Err() == nil {
		e.log.Error("change_feed_stopped", "error", err)
	}
}
