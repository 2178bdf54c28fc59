package tiles

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// Content codings the cache keeps a tile in. Each is made once per cached
// tile, off the request path (see Service), and served as stored.
const (
	EncodingIdentity = ""
	EncodingGzip     = "gzip"
	EncodingBrotli   = "br"
)

// Compression settings of the stored codings. A profile of cold tiles
// (pprof, the tiles bench) found brotli's quality 9 spending 70 % of its time
// clearing its 4 MB match finder for tiles of a few KB, and costing ten
// times quality 5 for under 1 % smaller tiles; quality 11 is 7 % smaller
// still at fifty times the CPU. So: brotli quality 5 with a window just
// large enough for the tile, gzip at its default level.
const (
	gzipLevel      = gzip.DefaultCompression
	brotliQuality  = 5
	compressMinLen = 64 // smaller tiles are served as they are
)

// brotliWindow is the smallest window (log2, 16 to 24) that holds n bytes.
func brotliWindow(n int) int {
	w := 16
	for w < 24 && 1<<w < n {
		w++
	}
	return w
}

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzipLevel); return w }}

// brotliWriters pools brotli writers by window (index: log2 window - 16).
// A writer made afresh allocates and clears its match finder's tables, which
// cost more than compressing a tile of a few KB: reset writers compress a
// z16 tile (5 KB) in about 0.14 ms instead of 0.5 ms, a z14 one (44 KB) in
// 1.4 ms instead of 2.5 ms, to the same bytes.
var brotliWriters [24 - 16 + 1]sync.Pool

func brotliBytes(data []byte) []byte {
	var b bytes.Buffer
	win := brotliWindow(len(data))
	pool := &brotliWriters[win-16]
	w, _ := pool.Get().(*brotli.Writer)
	if w == nil {
		w = brotli.NewWriterOptions(&b, brotli.WriterOptions{Quality: brotliQuality, LGWin: win})
	} else {
		w.Reset(&b)
	}
	w.Write(data) //nolint:errcheck // writes to memory
	w.Close()
	pool.Put(w)
	return b.Bytes()
}

// encodings are a tile's stored compressed forms; nil where the coding did
// not make the tile smaller.
type encodings struct {
	gz, br []byte
}

// Compress makes the tile's compressed forms now, if they are not made yet
// (the server makes them in the background, see Service.Compress).
func (t *Tile) Compress() { t.compress() }

// compress makes the tile's compressed forms, once; Ready is closed after.
func (t *Tile) compress() {
	t.compressOnce.Do(func() {
		defer close(t.readyCh())
		e := &encodings{gz: gzipBytes(t.Data)}
		if len(t.Data) >= compressMinLen {
			e.br = brotliBytes(t.Data)
		}
		t.enc.Store(e)
	})
}

func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&b)
	zw.Write(data) //nolint:errcheck // writes to memory
	zw.Close()
	gzipWriters.Put(zw)
	return b.Bytes()
}

// readyCh is the channel closed when the compressed forms exist.
func (t *Tile) readyCh() chan struct{} {
	t.readyOnce.Do(func() { t.ready = make(chan struct{}) })
	return t.ready
}

// Ready is closed once the tile's compressed forms exist. A tile the cache
// keeps is compressed soon after it is served (see Service.Compress); until
// then it is served as it is. A tile the cache did not keep is never
// compressed, and Ready stays open.
func (t *Tile) Ready() <-chan struct{} { return t.readyCh() }

// Gzipped returns the tile's data gzip-compressed: the stored form once the
// tile is compressed, else compressed now (gzip only, and not stored: the
// export writes tiles it does not serve).
func (t *Tile) Gzipped() []byte {
	if e := t.enc.Load(); e != nil {
		return e.gz
	}
	return gzipBytes(t.Data)
}

// encodedBytes is the size of the compressed forms held (for the cache's
// accounting).
func (t *Tile) encodedBytes() int64 {
	e := t.enc.Load()
	if e == nil {
		return 0
	}
	return int64(len(e.gz) + len(e.br))
}

// Representation is what is sent for a request: the bytes, their content
// coding ("" for none) and their entity tag.
type Representation struct {
	Body     []byte
	Encoding string
	ETag     string
}

// Select picks the representation of the tile for a request's
// Accept-Encoding (RFC 9110 12.5.3): among the stored forms the client
// accepts, the one of highest q-value, the smaller on a tie; the plain data
// when no compressed form is stored yet, none is accepted, or none is
// smaller. Each coding has its own strong ETag, since its bytes differ.
func (t *Tile) Select(acceptEncoding string) Representation {
	plain := Representation{Body: t.Data, ETag: t.ETag}
	e := t.enc.Load()
	if e == nil || acceptEncoding == "" || len(t.Data) < compressMinLen {
		return plain
	}
	qGzip, qBr := acceptQ(acceptEncoding)
	best, bestQ := plain, 0.0
	for _, c := range []struct {
		body []byte
		name string
		q    float64
	}{{e.br, EncodingBrotli, qBr}, {e.gz, EncodingGzip, qGzip}} {
		if c.q <= 0 || c.body == nil || len(c.body) >= len(t.Data) {
			continue
		}
		if c.q > bestQ || (c.q == bestQ && len(c.body) < len(best.Body)) {
			best, bestQ = Representation{Body: c.body, Encoding: c.name, ETag: codingETag(t.ETag, c.name)}, c.q
		}
	}
	return best
}

// ETagOf is the entity tag of the tile's data in a coding.
func (t *Tile) ETagOf(encoding string) string { return codingETag(t.ETag, encoding) }

func codingETag(etag, encoding string) string {
	if encoding == EncodingIdentity {
		return etag
	}
	return strings.TrimSuffix(etag, `"`) + "." + encoding + `"`
}

// acceptQ reads the q-values of gzip and br in an Accept-Encoding header
// ("*" stands for any coding not named; a coding not named and no "*" is
// 0).
func acceptQ(h string) (gz, br float64) {
	gz, br = -1, -1
	star := 0.0
	for h != "" {
		var part string
		part, h, _ = strings.Cut(h, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 {
					f = 0
				}
				q = min(f, 1)
			}
		}
		switch {
		case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
			gz = max(gz, q)
		case strings.EqualFold(name, "br"):
			br = max(br, q)
		case name == "*":
			star = q
		}
	}
	if gz < 0 {
		gz = star
	}
	if br < 0 {
		br = star
	}
	return gz, br
}
