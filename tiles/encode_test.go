package tiles

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/paulmach/orb"
)

func TestSelectByAcceptEncoding(t *testing.T) {
	data := []byte(strings.Repeat("grid 110101001007001 community 110101001007 ", 200))
	tile := NewTile(data, false)
	if r := tile.Select("gzip, br"); r.Encoding != "" || !bytes.Equal(r.Body, data) || r.ETag != tile.ETag {
		t.Fatalf("before compression: %q %s, want the plain data", r.Encoding, r.ETag)
	}
	tile.compress()
	<-tile.Ready()
	gz, br := tile.Select("gzip"), tile.Select("br")
	if gz.Encoding != "gzip" || br.Encoding != "br" {
		t.Fatalf("codings %q %q", gz.Encoding, br.Encoding)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, data) {
		t.Error("gzip form does not decode to the data")
	}
	if plain, _ := io.ReadAll(brotli.NewReader(bytes.NewReader(br.Body))); !bytes.Equal(plain, data) {
		t.Error("brotli form does not decode to the data")
	}
	if gz.ETag == tile.ETag || br.ETag == tile.ETag || gz.ETag == br.ETag || tile.ETagOf("gzip") != gz.ETag {
		t.Errorf("ETags %s %s %s, want one per coding", tile.ETag, gz.ETag, br.ETag)
	}
	smaller := "gzip"
	if len(br.Body) < len(gz.Body) {
		smaller = "br"
	}
	for accept, want := range map[string]string{
		"":                        "",
		"identity":                "",
		"gzip, deflate, br, zstd": smaller,
		"*":                       smaller,
		"*;q=0":                   "",
		"GZIP":                    "gzip",
		"x-gzip":                  "gzip",
		"br;q=0.9, gzip":          "gzip",
		"gzip;q=0.2, br;q=0.3":    "br",
		"gzip;q=0, *":             "br",
		"br;q=0, *;q=0.5":         "gzip",
		"gzip;q=bad":              "",
		"deflate":                 "",
	} {
		if got := tile.Select(accept).Encoding; got != want {
			t.Errorf("Accept-Encoding %q: %q, want %q", accept, got, want)
		}
	}
	// A tile too small to gain is served plain whatever is accepted.
	small := NewTile([]byte{0x1a, 0x02}, false)
	small.compress()
	if r := small.Select("gzip, br"); r.Encoding != "" {
		t.Errorf("2-byte tile served as %q", r.Encoding)
	}
}

func TestCacheCountsCompressedForms(t *testing.T) {
	grid := Lookup("grids")
	c := NewCache(1<<20, Buffer, Extent)
	k := CacheKey{"grids", ID{14, 1, 1}}
	tile := NewTile([]byte(strings.Repeat("0123456789abcdef", 1000)), false)
	if !c.Put(k, []*Layer{grid}, tile, c.Generation()) {
		t.Fatal("not cached")
	}
	before := c.Bytes()
	tile.compress()
	c.Resize(k, tile)
	if got, want := c.Bytes(), before+tile.encodedBytes(); got != want || tile.encodedBytes() == 0 {
		t.Errorf("cache bytes %d after compression, want %d", got, want)
	}
	c.Invalidate("*", true, orb.Bound{})
	if c.Bytes() != 0 || c.Len() != 0 {
		t.Errorf("after invalidation: %d bytes, %d tiles", c.Bytes(), c.Len())
	}
	// Resizing a tile the cache no longer holds changes nothing.
	c.Resize(k, tile)
	if c.Bytes() != 0 {
		t.Errorf("resize of a dropped tile counted %d bytes", c.Bytes())
	}
}

// Brotli writers are pooled and reset between tiles: every tile, whatever
// came before it in the same writer, must decode to its own bytes.
func TestPooledCompressionRoundTrips(t *testing.T) {
	rng := uint64(1)
	next := func() byte { rng = rng*6364136223846793005 + 1442695040888963407; return byte(rng >> 56) }
	for i, n := range []int{64, 70_000, 100, 5_000, 300_000, 64, 5_000, 1 << 16, 1<<16 + 1} {
		data := make([]byte, n)
		for j := range data {
			if j%7 == 0 {
				data[j] = next() // some noise among repeats
			} else {
				data[j] = byte(j % 251)
			}
		}
		tile := NewTile(data, false)
		tile.Compress()
		e := tile.enc.Load()
		gz, err := gzip.NewReader(bytes.NewReader(e.gz))
		if err != nil {
			t.Fatalf("tile %d: gzip: %v", i, err)
		}
		if got, err := io.ReadAll(gz); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("tile %d (%d bytes): gzip form decodes to %d bytes, %v", i, n, len(got), err)
		}
		if got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(e.br))); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("tile %d (%d bytes): brotli form decodes to %d bytes, %v", i, n, len(got), err)
		}
	}
}
