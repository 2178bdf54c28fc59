package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The lookup index is one large, long-lived and pointer-free part of the
// heap (about 270 MB for a million grids). With Go's default GOGC of 100 the
// heap may grow to twice what is live before a collection, so a server
// holding a large index lets as much garbage pile up as the index weighs:
// after a few minutes of batch lookups over a million grids, 993 MB of RSS
// for a 327 MB process. Collecting more often costs little here, since the
// collector marks the index without scanning it. So serve keeps the garbage
// allowed between collections near a fixed budget instead: GOGC is set to
// the budget as a percentage of the live heap, between 25 and 100, and
// followed as the live heap changes (an index reload, a city loaded). An
// operator's GOGC or GOMEMLIMIT is left as it is.
const (
	gcBudget       = 128 << 20
	gcPercentMin   = 25
	gcPercentMax   = 100
	gcTuneEvery    = 5 * time.Second
	liveHeapMetric = "/gc/heap/live:bytes"
)

// gcPercentFor is the GOGC that allows about gcBudget bytes of garbage over
// a live heap of live bytes, in steps of 5.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcPercentMax
	}
	p := int(uint64(gcBudget)*100/live) / 5 * 5
	return max(gcPercentMin, min(gcPercentMax, p))
}

// tuneGC follows the live heap until ctx ends (see above).
func tuneGC(ctx context.Context, log *slog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: liveHeapMetric}}
	current := gcPercentMax
	t := time.NewTicker(gcTuneEvery)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live := sample[0].Value.Uint64()
			if p := gcPercentFor(live); p != current {
				debug.SetGCPercent(p)
				log.Debug("gc: GOGC set for the live heap", "gogc", p, "live_mb", live>>20)
				current = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
