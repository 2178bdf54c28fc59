package api

import (
	"context"
	"net/http"
	"time"
)

// Limits bound the expensive work a server runs at once. A request beyond
// a limit waits up to Wait for a slot and is then answered 503 with
// Retry-After. A zero field takes its default (sized for 2 cores); a
// negative count removes the limit.
type Limits struct {
	// BatchLookups is how many batch lookups (POST /v1/lookup) with bodies
	// over 64 KiB, or of unknown length, run at once (default 4). A batch
	// of 100,000 points holds about 40 MB while it runs and already uses
	// every core; smaller batches cost about what single lookups do and are
	// not limited.
	BatchLookups int
	// TileRenders is how many tiles are rendered in PostGIS at once
	// (default 4); tiles served from the cache are never limited. New sets
	// it on Config.Tiles (tiles.Service.LimitRenders).
	TileRenders int
	// Wait is how long a request waits for a slot (default 1 s).
	Wait time.Duration
}

// Default limits.
const (
	DefaultBatchLookups = 4
	DefaultTileRenders  = 4
	DefaultLimitWait    = time.Second
)

// smallBatchBytes is the largest batch body (about 1,600 points) that is
// not limited.
const smallBatchBytes = 64 << 10

// busyRetryAfter is the Retry-After, in seconds, of a 503 for a full limit.
const busyRetryAfter = 1

// applyLimits fills in the defaults and sets up the limits.
func (s *Server) applyLimits() {
	l := &s.cfg.Limits
	if l.BatchLookups == 0 {
		l.BatchLookups = DefaultBatchLookups
	}
	if l.TileRenders == 0 {
		l.TileRenders = DefaultTileRenders
	}
	if l.Wait <= 0 {
		l.Wait = DefaultLimitWait
	}
	s.batches = newSlots(l.BatchLookups, l.Wait)
	if s.cfg.Tiles != nil {
		s.cfg.Tiles.LimitRenders(l.TileRenders, l.Wait)
	}
}

// slots is a counting semaphore whose acquire waits a bounded time.
type slots struct {
	c    chan struct{}
	wait time.Duration
}

// newSlots returns n slots, or nil (no limit) when n is not positive.
func newSlots(n int, wait time.Duration) *slots {
	if n <= 0 {
		return nil
	}
	return &slots{c: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting up to the wait for one; false when none
// came free or ctx ended first.
func (l *slots) acquire(ctx context.Context) bool {
	select {
	case l.c <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.c <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (l *slots) release() { <-l.c }

// busy is the 503 for a full limit.
func busy(what string) error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: busyRetryAfter,
		Message: "too many " + what + " at once; retry shortly"}
}

// limitBatches runs large batch lookups within their limit.
func (s *Server) limitBatches(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.batches == nil || (r.ContentLength >= 0 && r.ContentLength <= smallBatchBytes) {
			next.ServeHTTP(w, r)
			return
		}
		if !s.batches.acquire(r.Context()) {
			s.writeError(w, r, busy("batch lookups"))
			return
		}
		defer s.batches.release()
		next.ServeHTTP(w, r)
	})
}
