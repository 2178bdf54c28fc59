package grids

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// IndexSource is the storage the Locator reads: a consistent snapshot of the
// current grids, and the change feed.
type IndexSource interface {
	IndexInput(ctx context.Context) (geo.IndexInput, error)
	// IndexInputIn is IndexInput restricted to the grids whose boxes meet
	// area (a superset is fine).
	IndexInputIn(ctx context.Context, area orb.Bound) (geo.IndexInput, error)
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
	Grid       LocatedGrid `json:"grid"`
	Community  geo.Named   `json:"community"`
	Street     geo.Named   `json:"street"`
	District   geo.Named   `json:"district"`
	Mgmt       []geo.Named `json:"mgmt_grids"`
	Snapped    bool        `json:"snapped"`
	DistanceM  float64     `json:"distance_m"`
	Candidates []Candidate `json:"candidates"`
	// MapVersion is the change-feed version of the index that answered.
	MapVersion int64 `json:"map_version"`
}

// Locator answers point lookups from an in-memory view of the current grids
// and keeps it fresh from the change feed. A change to unit grids with a
// known extent, or to management-grid membership (announced with the extent
// of the grids concerned), is applied as a patch: the current grids of that
// extent are read and laid over the index (geo.View), which costs
// milliseconds however large the map. Anything else (divisions, management
// grids, a lost connection, a patch layer grown past a twentieth of the
// index) starts a full rebuild off to the side; patches keep being applied
// meanwhile and are replayed onto the new index before it is swapped in.
// Every swap is one atomic store: readers never block and always see one
// whole view.
type Locator struct {
	src  IndexSource
	log  *slog.Logger
	view atomic.Pointer[geo.View]
	seen atomic.Int64 // highest map version the view or the feed accounts for

	mu      sync.Mutex
	pending []Change
	dirty   chan struct{}
	// enqueued counts the changes handed to the loop; applied, how many of
	// the first changes the view reflects (WaitApplied).
	enqueued, applied atomic.Uint64

	// Rebuilt, when set, is called after every swap with the new view and
	// whether it came from a full rebuild (for metrics and tests).
	Rebuilt func(v *geo.View, full bool, took time.Duration)
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
	"mgmt_grid_members": true,
}

// patchedTables are the indexed tables whose changes, announced with their
// extent, are applied as patches; changes to the others rebuild the index.
var patchedTables = map[string]bool{"unit_grids": true, "mgmt_grid_members": true}

// Load builds the whole index from the source now and swaps it in.
func (l *Locator) Load(ctx context.Context) error {
	start := time.Now()
	ix, err := l.build(ctx)
	if err != nil {
		return err
	}
	l.swap(geo.NewView(ix), true, time.Since(start))
	return nil
}

// IndexBuilderSource is an IndexSource that can stream the current grids
// straight into an index (postgis.Store does), so that a full load never
// holds the map as Go values beside the index being built.
type IndexBuilderSource interface {
	BuildIndex(ctx context.Context) (*geo.Index, error)
}

func (l *Locator) build(ctx context.Context) (*geo.Index, error) {
	if bs, ok := l.src.(IndexBuilderSource); ok {
		ix, err := bs.BuildIndex(ctx)
		if err != nil {
			return nil, fmt.Errorf("load grid index: %w", err)
		}
		return ix, nil
	}
	in, err := l.src.IndexInput(ctx)
	if err != nil {
		return nil, fmt.Errorf("load grid index: %w", err)
	}
	ix, err := geo.NewIndex(in)
	if err != nil {
		return nil, fmt.Errorf("build grid index: %w", err)
	}
	return ix, nil
}

func (l *Locator) swap(v *geo.View, full bool, took time.Duration) {
	l.view.Store(v)
	if full {
		// A full build leaves its scratch (sort keys, boxes, the old
		// index once readers let go) to the collector, which would keep
		// those pages until the heap next grows: collect now and give
		// them back, so that the resident size is the index's.
		debug.FreeOSMemory()
	}
	l.see(v.MapVersion())
	l.log.Debug("grid_index_swapped", "grids", v.Len(), "delta", v.DeltaLen(), "full", full, "map_version", v.MapVersion(), "took", took)
	if l.Rebuilt != nil {
		l.Rebuilt(v, full, took)
	}
}

// patch lays the current grids of area over v.
func (l *Locator) patch(ctx context.Context, v *geo.View, area orb.Bound) (*geo.View, error) {
	in, err := l.src.IndexInputIn(ctx, area)
	if err != nil {
		return nil, fmt.Errorf("read changed grids: %w", err)
	}
	return v.Patch(area, in)
}

// enqueue records a change for the loop.
func (l *Locator) enqueue(c Change) {
	l.mu.Lock()
	l.pending = append(l.pending, c)
	l.enqueued.Add(1)
	l.mu.Unlock()
	select {
	case l.dirty <- struct{}{}:
	default:
	}
}

// take returns the pending changes and how many changes have been handed
// to the loop up to the last of them.
func (l *Locator) take() ([]Change, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = nil
	return p, l.enqueued.Load()
}

// Enqueued is how many changes the feed has handed to the index so far.
func (l *Locator) Enqueued() uint64 { return l.enqueued.Load() }

// Applied is how many of the changes handed to the index (counted from the
// first) the view answering lookups reflects.
func (l *Locator) Applied() uint64 { return l.applied.Load() }

func (l *Locator) markApplied(n uint64) {
	for {
		old := l.applied.Load()
		if n <= old || l.applied.CompareAndSwap(old, n) {
			return
		}
	}
}

type fullResult struct {
	ix   *geo.Index
	err  error
	took time.Duration
}

// Run loads the index, then follows the change feed until ctx ends. A
// failed load is logged and retried; until the first load succeeds,
// lookups answer ErrNotReady. poll is the feed's version-check interval.
// Run returns ctx's error.
func (l *Locator) Run(ctx context.Context, poll time.Duration) error {
	go l.src.Listen(ctx, poll, func(c Change) { //nolint:errcheck // ends with ctx
		if c.Table == "*" || indexedTables[c.Table] {
			l.enqueue(c)
		}
		l.see(c.Version)
	})
	// The feed's own poll cannot see a change committed between the first
	// load and the listener's start; this check compares the version with
	// what the view and the feed account for, and covers that gap.
	// A version can be ahead for a moment while its notification is on the
	// way, so only a version still unaccounted for at the next tick counts.
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		var ahead int64 // a version the previous tick found ahead of seen
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, err := l.src.MapVersion(ctx)
			if err != nil {
				continue
			}
			if ahead > 0 && ahead > l.seen.Load() {
				l.enqueue(Change{All: true, Table: "*", Op: "POLL", Version: v})
				ahead = 0
				continue
			}
			ahead = 0
			if v > l.seen.Load() {
				ahead = v
			}
		}
	}()
	l.enqueue(Change{All: true, Table: "*", Op: "START"})

	fullDone := make(chan fullResult, 1)
	running, again := false, false
	var since []orb.Bound // patch areas applied since the running full rebuild started
	// taken counts the changes taken so far; needFull, the count up to the
	// last change that needs a full rebuild not started yet (0: none);
	// covered, the count the running rebuild includes.
	var taken, needFull, covered uint64
	startFull := func() {
		covered, needFull = needFull, 0
		running, again, since = true, false, nil
		go func() {
			start := time.Now()
			ix, err := l.build(ctx)
			fullDone <- fullResult{ix, err, time.Since(start)}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.dirty:
		case res := <-fullDone:
			running = false
			if res.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				l.log.Error("grid_index_load_failed", "error", res.err)
				needFull = max(needFull, covered) // still to be read
				go func() {
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
						l.enqueue(Change{All: true, Table: "*", Op: "RETRY"})
					}
				}()
				continue
			}
			// Replay the patches of changes that may have committed after
			// the rebuild's snapshot; each reads the current state, so
			// replaying one already included changes nothing.
			v := geo.NewView(res.ix)
			failed := false
			for _, area := range since {
				nv, err := l.patch(ctx, v, area)
				if err != nil {
					l.log.Error("grid_index_patch_failed", "error", err)
					failed = true
					break
				}
				v = nv
			}
			since = nil
			if failed {
				needFull = max(needFull, covered)
				startFull()
				continue
			}
			l.swap(v, true, res.took)
			if again {
				startFull()
			} else if needFull == 0 {
				// The rebuild read everything taken before it started, and
				// the patches of everything taken since were replayed.
				l.markApplied(taken)
			}
			continue
		}
		var areas []orb.Bound
		full := false
		cs, n := l.take()
		taken = n
		for _, c := range cs {
			if c.All || !patchedTables[c.Table] {
				full = true
			} else {
				areas = append(areas, c.BBox)
			}
		}
		if running {
			since = append(since, areas...)
		}
		if v := l.view.Load(); v != nil && len(areas) > 0 {
			start := time.Now()
			for _, area := range areas {
				nv, err := l.patch(ctx, v, area)
				if err != nil {
					l.log.Error("grid_index_patch_failed", "error", err)
					full = true
					break
				}
				v = nv
			}
			l.swap(v, false, time.Since(start))
			if v.DeltaLen() > 1000 && v.DeltaLen() > v.Base().Len()/20 {
				full = true
			}
		} else if len(areas) > 0 && !running {
			full = true
		}
		if full {
			needFull = taken
			if running {
				again = true
			} else {
				startFull()
			}
		} else if !running && needFull == 0 {
			l.markApplied(taken)
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

// Index is the current view, or nil before the first load.
func (l *Locator) Index() *geo.View { return l.view.Load() }

// ErrNotReady: the index has not been loaded yet.
var ErrNotReady = errors.New("grid index not loaded yet")

// Lookup finds the grid owning p (WGS-84). See LocateIn.
func (l *Locator) Lookup(p orb.Point, opt LookupOptions) (Location, error) {
	ix := l.view.Load()
	if ix == nil {
		return Location{}, ErrNotReady
	}
	return LocateIn(ix, p, opt)
}

// LocateIn answers a lookup from one index: the owner of p if a grid covers
// it; else the nearest grid within MaxSnapM, marked snapped; else
// ErrOutside. With AccuracyM, every other grid within that distance is
// listed in Candidates, nearest first.
func LocateIn(ix *geo.View, p orb.Point, opt LookupOptions) (Location, error) {
	id, ok := ix.Owner(p)
	var loc Location
	if !locate(ix, p, id, ok, opt, &loc) {
		return Location{}, outside(p)
	}
	return loc, nil
}

// locate is LocateIn for a point whose owner (if ok) is already known. It
// fills loc, reusing its candidate slice, and reports false when p is
// outside every grid and too far from any to snap.
func locate(ix *geo.View, p orb.Point, id int, ok bool, opt LookupOptions, loc *Location) bool {
	snap := opt.MaxSnapM
	if snap == 0 {
		snap = DefaultMaxSnapM
	}
	cands := loc.Candidates[:0]
	if cands == nil {
		cands = []Candidate{}
	}
	if ok {
		*loc = location(ix, id)
	} else {
		if snap < 0 {
			return false
		}
		near := ix.Near(p, snap)
		if len(near) == 0 {
			return false
		}
		id = near[0].ID
		*loc = location(ix, id)
		loc.Snapped = true
		loc.DistanceM = round2(near[0].DistanceM)
	}
	if opt.AccuracyM > 0 {
		for _, n := range ix.Near(p, opt.AccuracyM) {
			if n.ID != id {
				cands = append(cands, Candidate{Grid: ix.Code(n.ID), DistanceM: round2(n.DistanceM)})
			}
		}
	}
	loc.Candidates = cands
	return true
}

// Batch is many points looked up together from one view. Their owners are
// found up front in one pass (geo.View.Owners), faster than point by point
// over a large map; Locate then describes each point as LocateIn would.
type Batch struct {
	ix    *geo.View
	pts   []orb.Point
	owner []int32
	opt   LookupOptions
}

// NewBatch finds the owners of pts (WGS-84) in ix using up to workers
// goroutines.
func NewBatch(ix *geo.View, pts []orb.Point, opt LookupOptions, workers int) *Batch {
	b := &Batch{ix: ix, pts: pts, owner: make([]int32, len(pts)), opt: opt}
	ix.Owners(pts, b.owner, workers)
	return b
}

// Touch reads ahead what describing points lo to hi will read (their
// grids' records), so that the cache misses of several points overlap;
// call it before Locating them, and keep the result alive
// (runtime.KeepAlive) so that the reads stay.
func (b *Batch) Touch(lo, hi int) uint64 { return b.ix.TouchInfo(b.owner[lo:hi]) }

// Locate fills loc with the answer for point i, reusing loc's candidate
// slice, and reports false where LocateIn would answer ErrOutside. It may
// be called from several goroutines, each with its own loc.
func (b *Batch) Locate(i int, loc *Location) bool {
	id := b.owner[i]
	return locate(b.ix, b.pts[i], int(id), id >= 0, b.opt, loc)
}

func outside(p orb.Point) error {
	return fmt.Errorf("%w: no unit grid at or near lon %g, lat %g", ErrOutside, p[0], p[1])
}

func location(ix *geo.View, id int) Location {
	in := ix.Info(id)
	if in.Mgmt == nil {
		in.Mgmt = []geo.Named{}
	}
	return Location{
		Grid:       LocatedGrid{Code: in.Code, AreaM2: round2(in.AreaM2), Version: in.Version},
		Community:  in.Community,
		Street:     in.Street,
		District:   in.District,
		Mgmt:       in.Mgmt,
		MapVersion: ix.MapVersion(),
	}
}

// round2 rounds metres to centimetres for output.
func round2(m float64) float64 { return float64(int64(m*100+0.5)) / 100 }
