package grids

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// IndexSource is the storage the Locator reads: a consistent snapshot of the
// current grids, and the change feed.
type IndexSource interface {
	IndexInput(ctx context.Context) (geo.IndexInput, error)
	MapVersion(ctx context.Context) (int64, error)
	Listen(ctx context.Context, poll time.Duration, fn func(Change)) error
}

// DefaultMaxSnapM is how far outside every grid a point may lie and still be
// assigned to the nearest grid.
const DefaultMaxSnapM = 50.0

// LookupOptions tune a lookup.
type LookupOptions struct {
	// MaxSnapM: a point outside every grid but within this many metres of
	// one is assigned to the nearest. Zero means DefaultMaxSnapM; negative
	// disables snapping.
	MaxSnapM float64
	// AccuracyM: every other grid closer than this is listed as a candidate.
	AccuracyM float64
}

// LocatedGrid names a unit grid in a lookup result.
type LocatedGrid struct {
	Code    geo.Code `json:"code"`
	AreaM2  float64  `json:"area_m2"`
	Version int      `json:"version"`
}

// Candidate is another grid within the reporter's accuracy.
type Candidate struct {
	Grid      geo.Code `json:"grid"`
	DistanceM float64  `json:"distance_m"`
}

// Location is the answer to "where is this point": its grid, the divisions
// above it, the management grids containing the grid, and nearby grids.
type Location struct {
	Grid       LocatedGrid     `json:"grid"`
	Community  geo.Named   `json:"community"`
	Street     geo.Named   `json:"street"`
	District   geo.Named   `json:"district"`
	Mgmt       []geo.Named `json:"mgmt_grids"`
	Snapped    bool        `json:"snapped"`
	DistanceM  float64     `json:"distance_m"`
	Candidates []Candidate `json:"candidates,omitempty"`
	// MapVersion is the change-feed version of the index that answered.
	MapVersion int64 `json:"map_version"`
}

// Locator answers point lookups from an in-memory index of the current grids
// and keeps it fresh from the change feed: every committed change to grids,
// divisions or management grids triggers a rebuild off to the side, and the
// new index replaces the old one with one atomic store. Readers never block
// and always see one whole index.
type Locator struct {
	src   IndexSource
	log   *slog.Logger
	idx   atomic.Pointer[geo.Index]
	dirty chan struct{}
	seen  atomic.Int64 // highest map version the index or the feed accounts for
	// Rebuilt, when set, is called after every swap (for metrics and tests).
	Rebuilt func(ix *geo.Index, took time.Duration)
}

// NewLocator returns a Locator with no index yet; call Load or Run.
func NewLocator(src IndexSource, log *slog.Logger) *Locator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Locator{src: src, log: log, dirty: make(chan struct{}, 1)}
}

// indexedTables are the tables whose changes the index depends on.
var indexedTables = map[string]bool{
	"unit_grids": true, "districts": true, "streets": true, "communities": true, "mgmt_grids": true,
}

// Load builds the index from the source now and swaps it in.
func (l *Locator) Load(ctx context.Context) error {
	start := time.Now()
	in, err := l.src.IndexInput(ctx)
	if err != nil {
		return fmt.Errorf("load grid index: %w", err)
	}
	ix, err := geo.NewIndex(in)
	if err != nil {
		return fmt.Errorf("build grid index: %w", err)
	}
	l.idx.Store(ix)
	l.see(ix.MapVersion())
	took := time.Since(start)
	l.log.Debug("grid_index_rebuilt", "grids", ix.Len(), "map_version", ix.MapVersion(), "took", took)
	if l.Rebuilt != nil {
		l.Rebuilt(ix, took)
	}
	return nil
}

// Run loads the index, then follows the change feed until ctx ends,
// rebuilding after every relevant change (changes that arrive during a
// rebuild are folded into one more). A failed load is logged and retried;
// until the first load succeeds, lookups answer ErrNotReady. poll is the
// feed's version-check interval. Run returns ctx's error.
func (l *Locator) Run(ctx context.Context, poll time.Duration) error {
	// Listen before loading so that no change between the two is missed.
	go l.src.Listen(ctx, poll, func(c Change) { //nolint:errcheck // ends with ctx
		if c.All || indexedTables[c.Table] {
			l.markDirty()
		}
		l.see(c.Version)
	})
	// The feed's own poll cannot see a change committed between the first
	// load and the listener's start; this check compares the version with
	// what the index and the feed account for, and covers that gap.
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if v, err := l.src.MapVersion(ctx); err == nil && v > l.seen.Load() {
				l.markDirty()
			}
		}
	}()
	l.markDirty()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.dirty:
		}
		if err := l.Load(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			l.log.Error("grid_index_load_failed", "error", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
			l.markDirty()
		}
	}
}

func (l *Locator) see(v int64) {
	for {
		old := l.seen.Load()
		if v <= old || l.seen.CompareAndSwap(old, v) {
			return
		}
	}
}

func (l *Locator) markDirty() {
	select {
	case l.dirty <- struct{}{}:
	default:
	}
}

// Index is the current index, or nil before the first load.
func (l *Locator) Index() *geo.Index { return l.idx.Load() }

// ErrNotReady: the index has not been loaded yet.
var ErrNotReady = errors.New("grid index not loaded yet")

// Lookup finds the grid owning p (WGS-84). See LocateIn.
func (l *Locator) Lookup(p orb.Point, opt LookupOptions) (Location, error) {
	ix := l.idx.Load()
	if ix == nil {
		return Location{}, ErrNotReady
	}
	return LocateIn(ix, p, opt)
}

// LocateIn answers a lookup from one index: the owner of p if a grid covers
// it; else the nearest grid within MaxSnapM, marked snapped; else
// ErrOutside. With AccuracyM, every other grid within that distance is
// listed in Candidates, nearest first.
func LocateIn(ix *geo.Index, p orb.Point, opt LookupOptions) (Location, error) {
	snap := opt.MaxSnapM
	if snap == 0 {
		snap = DefaultMaxSnapM
	}
	id, ok := ix.Owner(p)
	var loc Location
	if ok {
		loc = location(ix, id)
	} else {
		if snap < 0 {
			return Location{}, outside(p)
		}
		near := ix.Near(p, snap)
		if len(near) == 0 {
			return Location{}, outside(p)
		}
		id = near[0].ID
		loc = location(ix, id)
		loc.Snapped = true
		loc.DistanceM = round2(near[0].DistanceM)
	}
	if opt.AccuracyM > 0 {
		for _, n := range ix.Near(p, opt.AccuracyM) {
			if n.ID != id {
				loc.Candidates = append(loc.Candidates, Candidate{Grid: ix.Code(n.ID), DistanceM: round2(n.DistanceM)})
			}
		}
	}
	return loc, nil
}

func outside(p orb.Point) error {
	return fmt.Errorf("%w: no unit grid at or near lon %g, lat %g", ErrOutside, p[0], p[1])
}

func location(ix *geo.Index, id int) Location {
	in := ix.Info(id)
	return Location{
		Grid:       LocatedGrid{Code: in.Code, AreaM2: in.AreaM2, Version: in.Version},
		Community:  in.Community,
		Street:     in.Street,
		District:   in.District,
		Mgmt:       in.Mgmt,
		MapVersion: ix.MapVersion(),
	}
}

// round2 rounds metres to centimetres for output.
func round2(m float64) float64 { return float64(int64(m*100+0.5)) / 100 }
