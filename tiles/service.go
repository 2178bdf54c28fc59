package tiles

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"golang.org/x/sync/singleflight"

	"gridd/grids"
)

// Tile geometry settings: MVT extent (units per tile side) and the buffer
// (units drawn beyond each side, so that lines and labels meet across tiles).
const (
	Extent = 4096
	Buffer = 256
)

// DefaultMaxTileBytes is the size cap of one tile.
const DefaultMaxTileBytes = 500 << 10

// RenderOptions say how detailed a rendering is.
type RenderOptions struct {
	Extent int
	Buffer int
	// SimplifyScale multiplies every layer's Simplify.
	SimplifyScale float64
}

// Source renders tiles from the system of record.
type Source interface {
	// RenderTile encodes the layers that are visible at t.Z into one MVT,
	// a layer each, in the order given; no visible layer gives empty data.
	RenderTile(ctx context.Context, layers []*Layer, t ID, opt RenderOptions) ([]byte, error)
	// DataBounds is the WGS-84 extent of everything the layers draw.
	DataBounds(ctx context.Context, layers []*Layer) (orb.Bound, error)
}

// Stats counts the service's work since it started.
type Stats struct {
	Hits, Misses, Renders, Capped, OverCap, Invalidations, Dropped uint64
}

// Service serves tiles through the cache and keeps the cache fresh from the
// change feed.
type Service struct {
	src         Source
	cache       *Cache
	maxBytes    int
	group       singleflight.Group
	renderSlots chan struct{} // renderings running; nil: no limit
	renderWait  time.Duration
	zipSlots    chan struct{} // compressions running

	boundsMu sync.Mutex
	bounds   map[string]orb.Bound // DataBounds by layer key, until the next change
	boundsGn uint64               // moves with every change

	hits, misses, renders, capped, overCap, invalidations, dropped atomic.Uint64
}

// NewService builds a tile service over the source with a cache of
// cacheBytes; maxTileBytes caps one tile (0: DefaultMaxTileBytes).
func NewService(src Source, cacheBytes int64, maxTileBytes int) *Service {
	if maxTileBytes <= 0 {
		maxTileBytes = DefaultMaxTileBytes
	}
	return &Service{src: src, cache: NewCache(cacheBytes, Buffer, Extent), maxBytes: maxTileBytes,
		zipSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// ErrBusy fails a cache miss that found every rendering slot busy for the
// whole wait (see LimitRenders).
var ErrBusy = errors.New("tile rendering busy")

// LimitRenders lets at most n tiles be rendered at once; a cache miss that
// finds them all busy waits up to wait for one and then fails with ErrBusy.
// Requests sharing one rendering share its slot, and cache hits are never
// limited. n <= 0 removes the limit. Call it before serving.
func (s *Service) LimitRenders(n int, wait time.Duration) {
	s.renderSlots, s.renderWait = nil, wait
	if n > 0 {
		s.renderSlots = make(chan struct{}, n)
	}
}

// renderSlot takes a rendering slot, waiting up to the limit's wait; the
// release func gives it back.
func (s *Service) renderSlot() (release func(), err error) {
	if s.renderSlots == nil {
		return func() {}, nil
	}
	select {
	case s.renderSlots <- struct{}{}:
	default:
		t := time.NewTimer(s.renderWait)
		defer t.Stop()
		select {
		case s.renderSlots <- struct{}{}:
		case <-t.C:
			return nil, ErrBusy
		}
	}
	return func() { <-s.renderSlots }, nil
}

// Cache exposes the cache, for its size.
func (s *Service) Cache() *Cache { return s.cache }

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{Hits: s.hits.Load(), Misses: s.misses.Load(), Renders: s.renders.Load(),
		Capped: s.capped.Load(), OverCap: s.overCap.Load(),
		Invalidations: s.invalidations.Load(), Dropped: s.dropped.Load()}
}

// Tile returns the tile of the layers at t, from the cache when it holds it
// (hit reports that), else rendered and cached. Concurrent requests for the
// same missing tile share one rendering. A tile over the size cap at full
// detail is rendered again coarser (extent 1024, four times the
// simplification) and counted; if it is still over, it is served and counted
// as over the cap.
func (s *Service) Tile(ctx context.Context, layers []*Layer, t ID) (tile *Tile, hit bool, err error) {
	if err := t.Check(); err != nil {
		return nil, false, err
	}
	if len(layers) == 0 {
		return nil, false, grids.Invalid("layers", "no layer named; valid layers: %s", LayerNames())
	}
	k := CacheKey{Layers: Key(layers), ID: t}
	if tile, ok := s.cache.Get(k); ok {
		s.hits.Add(1)
		s.Compress(tile) // if the request that rendered it has not
		return tile, true, nil
	}
	s.misses.Add(1)
	v, err, _ := s.group.Do(k.Layers+"/"+t.String(), func() (any, error) {
		release, err := s.renderSlot()
		if err != nil {
			return nil, err
		}
		defer release()
		gen := s.cache.Generation()
		// Other requests wait on this rendering: one leaving must not fail it.
		tile, err := s.render(context.WithoutCancel(ctx), layers, t)
		if err != nil {
			return nil, err
		}
		tile.key = k
		if s.cache.Put(k, layers, tile, gen) {
			tile.pending.Store(true)
		}
		return tile, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.(*Tile), false, nil
}

// Compress starts making the compressed forms of a tile Tile has just
// cached, if no one has yet, in the background: at most half the cores at a
// time, counted in the cache's size when done (Ready is closed then). The
// server calls it once it has answered the request that rendered the tile,
// with the plain data, so that compression never delays that answer; the
// next request for the tile calls it too, in case.
func (s *Service) Compress(t *Tile) {
	if t == nil || !t.pending.CompareAndSwap(true, false) {
		return
	}
	go func() {
		s.zipSlots <- struct{}{}
		defer func() { <-s.zipSlots }()
		t.compress()
		s.cache.Resize(t.key, t)
	}()
}

// Render renders a tile without the cache (the export uses it).
func (s *Service) Render(ctx context.Context, layers []*Layer, t ID) (*Tile, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	return s.render(ctx, layers, t)
}

func (s *Service) render(ctx context.Context, layers []*Layer, t ID) (*Tile, error) {
	s.renders.Add(1)
	data, err := s.src.RenderTile(ctx, layers, t, RenderOptions{Extent: Extent, Buffer: Buffer, SimplifyScale: 1})
	if err != nil {
		return nil, fmt.Errorf("render tile %s/%s: %w", Key(layers), t, err)
	}
	capped := false
	if len(data) > s.maxBytes {
		s.capped.Add(1)
		capped = true
		data, err = s.src.RenderTile(ctx, layers, t, RenderOptions{Extent: 1024, Buffer: 64, SimplifyScale: 4})
		if err != nil {
			return nil, fmt.Errorf("render tile %s/%s coarser: %w", Key(layers), t, err)
		}
		if len(data) > s.maxBytes {
			s.overCap.Add(1)
		}
	}
	return NewTile(data, capped), nil
}

// NewTile wraps encoded data with its ETag.
func NewTile(data []byte, capped bool) *Tile {
	sum := sha256.Sum256(data)
	return &Tile{Data: data, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`, Capped: capped}
}

// Apply drops the cached tiles that a committed change touches: those whose
// layers draw the changed table and whose buffered squares meet its extent,
// at every zoom (every tile of those layers when the extent is unknown; every
// tile when the table is "*").
func (s *Service) Apply(c grids.Change) int {
	s.invalidations.Add(1)
	s.boundsMu.Lock()
	s.bounds = nil
	s.boundsGn++
	s.boundsMu.Unlock()
	n := s.cache.Invalidate(c.Table, c.All, c.BBox)
	s.dropped.Add(uint64(n))
	return n
}

// DataBounds is the WGS-84 extent of what the layers draw, kept until the
// next change.
func (s *Service) DataBounds(ctx context.Context, layers []*Layer) (orb.Bound, error) {
	k := Key(layers)
	s.boundsMu.Lock()
	b, ok := s.bounds[k]
	gen := s.boundsGn
	s.boundsMu.Unlock()
	if ok {
		return b, nil
	}
	b, err := s.src.DataBounds(ctx, layers)
	if err != nil {
		return b, err
	}
	s.boundsMu.Lock()
	if s.boundsGn == gen { // no change since the query began
		if s.bounds == nil {
			s.bounds = map[string]orb.Bound{}
		}
		s.bounds[k] = b
	}
	s.boundsMu.Unlock()
	return b, nil
}
