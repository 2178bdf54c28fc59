package tiles

import (
	"container/list"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// CacheKey names one cached tile: the canonical layer list and the address.
type CacheKey struct {
	Layers string
	ID     ID
}

// Tile is one encoded tile as the cache holds and the server sends it.
type Tile struct {
	// Data is the MVT (protobuf), possibly empty.
	Data []byte
	// ETag is a strong validator of Data, quoted as HTTP wants it.
	ETag string
	// Capped reports that the tile was over the size cap at full detail and
	// was rendered coarser.
	Capped bool

	key          CacheKey    // where the cache holds it
	pending      atomic.Bool // cached, compression not started
	compressOnce sync.Once
	enc          atomic.Pointer[encodings] // nil until compressed
	readyOnce    sync.Once
	ready        chan struct{}
}

// cacheEntry is a tile in the LRU list with what invalidation needs.
type cacheEntry struct {
	key    CacheKey
	tables []string  // change-feed tables of the tile's layers
	bound  orb.Bound // buffered square, Web-Mercator
	tile   *Tile
	size   int64 // bytes counted for it
}

// recentInvalidation remembers an invalidation so that a tile rendered from
// data read before it is not cached after it.
type recentInvalidation struct {
	gen   uint64
	table string
	all   bool
	bound orb.Bound
}

const recentKept = 1024

// Cache is an in-memory LRU of tiles bounded in bytes. It is safe for
// concurrent use. Invalidate drops exactly the tiles whose buffered squares
// meet a changed extent and whose layers draw the changed table.
type Cache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	ll       *list.List
	items    map[CacheKey]*list.Element
	gen      uint64
	recent   []recentInvalidation // ring, the last recentKept invalidations
	buffer   int
	extent   int
}

// NewCache builds a cache holding at most maxBytes of tile data; buffer and
// extent are the tiles' MVT buffer and extent, so that invalidation reaches
// every tile that draws into a changed extent.
func NewCache(maxBytes int64, buffer, extent int) *Cache {
	return &Cache{maxBytes: maxBytes, ll: list.New(), items: map[CacheKey]*list.Element{}, buffer: buffer, extent: extent}
}

// Get returns the cached tile and marks it recently used.
func (c *Cache) Get(k CacheKey) (*Tile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*cacheEntry).tile, true
	}
	return nil, false
}

// Generation is a counter that moves with every invalidation. A caller that
// renders a tile reads it first and passes it to Put.
func (c *Cache) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put caches a tile rendered from data read after generation gen was
// current. When an invalidation since then touched the tile (or too many
// happened to tell), the tile is not cached, since it may predate the change.
// It reports whether the tile was cached.
func (c *Cache) Put(k CacheKey, layers []*Layer, t *Tile, gen uint64) bool {
	e := &cacheEntry{key: k, bound: k.ID.BufferedBound(c.buffer, c.extent), tile: t}
	for _, l := range layers {
		e.tables = append(e.tables, l.Tables()...)
	}
	size := entrySize(e)
	e.size = size
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.maxBytes {
		return false
	}
	if c.gen != gen {
		if c.gen-gen > uint64(len(c.recent)) {
			return false
		}
		for _, r := range c.recent {
			if r.gen > gen && e.touchedBy(r.table, r.all, r.bound) {
				return false
			}
		}
	}
	if el, ok := c.items[k]; ok {
		c.bytes -= el.Value.(*cacheEntry).size
		c.ll.Remove(el)
	}
	c.items[k] = c.ll.PushFront(e)
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.removeElement(c.ll.Back())
	}
	return true
}

// entrySize counts the tile's data, its compressed forms and a small
// overhead.
func entrySize(e *cacheEntry) int64 {
	return int64(len(e.tile.Data)) + e.tile.encodedBytes() + int64(len(e.key.Layers)) + 160
}

// Resize counts the tile's size again (after its compressed forms were
// added) if the cache still holds it under k, and evicts down to the bound.
func (c *Cache) Resize(k CacheKey, t *Tile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok || el.Value.(*cacheEntry).tile != t {
		return
	}
	e := el.Value.(*cacheEntry)
	size := entrySize(e)
	c.bytes += size - e.size
	e.size = size
	for c.bytes > c.maxBytes && c.ll.Len() > 0 {
		c.removeElement(c.ll.Back())
	}
}

func (c *Cache) removeElement(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.ll.Remove(el)
	delete(c.items, e.key)
	c.bytes -= e.size
}

func (e *cacheEntry) touchedBy(table string, all bool, b orb.Bound) bool {
	if table != "*" {
		drawn := false
		for _, t := range e.tables {
			if t == table {
				drawn = true
				break
			}
		}
		if !drawn {
			return false
		}
	}
	return all || e.bound.Intersects(b)
}

// Invalidate drops every cached tile that draws the table (any table when
// table is "*") and whose buffered square meets the WGS-84 bound (every such
// tile when all is set), at every zoom. It returns how many it dropped.
func (c *Cache) Invalidate(table string, all bool, lonLat orb.Bound) int {
	b := MercatorBound(lonLat)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	r := recentInvalidation{gen: c.gen, table: table, all: all, bound: b}
	if len(c.recent) < recentKept {
		c.recent = append(c.recent, r)
	} else {
		c.recent[int(c.gen%recentKept)] = r
	}
	n := 0
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*cacheEntry).touchedBy(table, all, b) {
			c.removeElement(el)
			n++
		}
		el = next
	}
	return n
}

// Len and Bytes report the cache's size.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes is the tile data held, with a small per-entry overhead.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
