package api_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/tiles"
)

// decodeBody undoes a response's content coding.
func decodeBody(t *testing.T, r tileResp) []byte {
	t.Helper()
	switch enc := r.header.Get("Content-Encoding"); enc {
	case "":
		return r.body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		return b
	case "br":
		b, err := io.ReadAll(brotli.NewReader(bytes.NewReader(r.body)))
		if err != nil {
			t.Fatalf("brotli body: %v", err)
		}
		return b
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
		return nil
	}
}

// waitCompressed waits until the cache holds the tile's compressed forms.
func (e *tileEnv) waitCompressed(t *testing.T, layers string, id tiles.ID) *tiles.Tile {
	t.Helper()
	ls, _ := tiles.ParseLayers(layers)
	tile, hit, err := e.svc.Tile(e.ctx, ls, id)
	if err != nil || !hit {
		t.Fatalf("tile %s %s not cached (%v)", layers, id, err)
	}
	select {
	case <-tile.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("tile %s %s not compressed within 30 s", layers, id)
	}
	return tile
}

// TestTileEncodings: every coding a client may accept decodes to the very
// bytes PostGIS's tile statement returns; each coding has its own ETag,
// answered with 304 on If-None-Match; the smaller accepted coding is sent.
func TestTileEncodings(t *testing.T) {
	e := newTileEnv(t, 0)
	for _, c := range []struct {
		layers string
		id     tiles.ID
	}{
		{"grids", tileAt(116.41, 39.91, 14)},
		{"streets,communities,grids", tileAt(116.42, 39.91, 13)},
		{"grids", tileAt(116.4025, 39.9175, 16)},
	} {
		url := fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", e.ts.URL, c.layers, c.id.Z, c.id.X, c.id.Y)
		ls, _ := tiles.ParseLayers(c.layers)
		q, args := postgis.TileSQL(ls, c.id, tiles.RenderOptions{Extent: tiles.Extent, Buffer: tiles.Buffer, SimplifyScale: 1})
		var want []byte
		if err := e.st.Pool().QueryRow(e.ctx, q, args...).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if len(want) < 200 {
			t.Fatalf("%s: tile of %d bytes, too small to test compression", url, len(want))
		}
		// The request that renders the tile gets it plain, whatever it
		// accepts: compression happens after caching.
		first := fetch(t, url, map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"})
		if first.status != 200 || first.header.Get("X-Tile-Cache") != "miss" || !bytes.Equal(decodeBody(t, first), want) {
			t.Fatalf("%s: first fetch %d %v, or its body is not PostGIS's tile", url, first.status, first.header)
		}
		tile := e.waitCompressed(t, c.layers, c.id)
		gz, br := tile.Gzipped(), tile.Select("br").Body
		if len(gz) >= len(want) || len(br) >= len(want) {
			t.Fatalf("%s: gzip %d and brotli %d bytes, plain %d", url, len(gz), len(br), len(want))
		}
		smaller := "gzip"
		if len(br) < len(gz) {
			smaller = "br"
		}
		cases := []struct{ accept, enc string }{
			{"", ""},
			{"identity", ""},
			{"gzip", "gzip"},
			{"br", "br"},
			{"gzip, deflate, br, zstd", smaller}, // Chrome, Firefox over HTTPS
			{"gzip, deflate", "gzip"},            // browsers over plain HTTP
			{"*", smaller},
			{"br;q=0, gzip", "gzip"},
			{"gzip;q=0.5, br", "br"},
			{"br;q=0.5, gzip", "gzip"},
			{"gzip;q=0, br;q=0", ""},
			{"deflate, zstd", ""},
		}
		etags := map[string]string{}
		for _, tc := range cases {
			r := fetch(t, url, map[string]string{"Accept-Encoding": tc.accept})
			if r.status != 200 || r.header.Get("Content-Encoding") != tc.enc || r.header.Get("X-Tile-Cache") != "hit" {
				t.Errorf("%s with Accept-Encoding %q: %d, Content-Encoding %q, want %q from the cache", url, tc.accept,
					r.status, r.header.Get("Content-Encoding"), tc.enc)
				continue
			}
			if got := decodeBody(t, r); !bytes.Equal(got, want) {
				t.Errorf("%s with Accept-Encoding %q: decodes to %d bytes that differ from PostGIS's %d", url, tc.accept, len(got), len(want))
			}
			if n, _ := strconv.Atoi(r.header.Get("Content-Length")); n != len(r.body) {
				t.Errorf("%s %q: Content-Length %q for %d bytes", url, tc.accept, r.header.Get("Content-Length"), len(r.body))
			}
			if r.header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s %q: Vary %q", url, tc.accept, r.header.Get("Vary"))
			}
			etag := r.header.Get("ETag")
			if prev, ok := etags[tc.enc]; ok && prev != etag {
				t.Errorf("%s: coding %q has two ETags %s and %s", url, tc.enc, prev, etag)
			}
			etags[tc.enc] = etag
			// Revalidation with the ETag of what was sent: 304, weak or strong.
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
				nm := fetch(t, url, map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": inm})
				if nm.status != http.StatusNotModified || len(nm.body) != 0 || nm.header.Get("ETag") != etag {
					t.Errorf("%s %q If-None-Match %s: %d %v, want 304 with the ETag", url, tc.accept, inm, nm.status, nm.header)
				}
			}
			// HEAD says what GET would send.
			req, _ := http.NewRequest(http.MethodHead, url, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Encoding") != tc.enc ||
				resp.Header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
				t.Errorf("%s %q HEAD: %v, want the GET's ETag, coding and length", url, tc.accept, resp.Header)
			}
		}
		if len(etags) != 3 || etags[""] == etags["gzip"] || etags[""] == etags["br"] || etags["gzip"] == etags["br"] {
			t.Errorf("%s: ETags by coding %v, want three distinct", url, etags)
		}
		// A validator of another coding is not this representation's.
		if r := fetch(t, url, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etags[""]}); r.status != 200 {
			t.Errorf("%s: gzip request with the plain ETag: %d, want 200", url, r.status)
		}
	}
}

// TestTileEncodingsDroppedByEdit: an edit drops the tile in every coding:
// after it, no coding is served from before it, old ETags no longer answer
// 304, and the new compressed forms decode to the new tile.
func TestTileEncodingsDroppedByEdit(t *testing.T) {
	e := newTileEnv(t, 0)
	// The edit moves one grid with raw SQL, leaving a gap the partition
	// guard would refuse (TestTileFreshAfterEdit does the same).
	if _, err := e.st.Pool().Exec(e.ctx, `ALTER TABLE unit_grids
		DISABLE TRIGGER gridd_partition_guard_ins, DISABLE TRIGGER gridd_partition_guard_upd`); err != nil {
		t.Fatal(err)
	}
	go e.st.Listen(e.ctx, 200*time.Millisecond, func(c grids.Change) { e.svc.Apply(c) }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)

	id := tileAt(116.4025, 39.9175, 15)
	url := fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", e.ts.URL, id.Z, id.X, id.Y)
	version := func(body []byte) any {
		ls, err := mvt.Unmarshal(body)
		if err != nil {
			t.Fatalf("tile does not decode: %v", err)
		}
		for _, f := range ls[0].Features {
			if _, isPoint := f.Geometry.(orb.Point); f.Properties["code"] == "110101001007001" && !isPoint {
				return f.Properties["version"]
			}
		}
		return nil
	}
	fetch(t, url, nil)
	e.waitCompressed(t, "grids", id)
	accepts := []string{"", "gzip", "br"}
	old := map[string]string{}
	for _, a := range accepts {
		r := fetch(t, url, map[string]string{"Accept-Encoding": a})
		if r.header.Get("Content-Encoding") != a || fmt.Sprint(version(decodeBody(t, r))) != "1" {
			t.Fatalf("before the edit, %q: coding %q, version %v", a, r.header.Get("Content-Encoding"), version(decodeBody(t, r)))
		}
		old[a] = r.header.Get("ETag")
	}

	before := e.svc.Stats()
	if _, err := e.st.Pool().Exec(e.ctx, `UPDATE unit_grids SET version = 2,
		geom = ST_MakeEnvelope(116.400, 39.915, 116.404, 39.920, 4326) WHERE code = '110101001007001'`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.svc.Stats().Invalidations == before.Invalidations {
		if time.Now().After(deadline) {
			t.Fatal("no invalidation within 5 s of the commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Every coding, asked first and with its old ETag: a fresh tile, never
	// a 304 or a stored form from before the edit.
	for i, a := range accepts {
		r := fetch(t, url, map[string]string{"Accept-Encoding": a, "If-None-Match": old[a]})
		if r.status != 200 || fmt.Sprint(version(decodeBody(t, r))) != "2" {
			t.Errorf("after the edit, %q with the old ETag: %d, version %v, want 200 with version 2", a, r.status, version(decodeBody(t, r)))
		}
		if i == 0 && r.header.Get("X-Tile-Cache") != "miss" {
			t.Errorf("after the edit, the first request was a cache %s", r.header.Get("X-Tile-Cache"))
		}
	}
	e.waitCompressed(t, "grids", id)
	for _, a := range accepts {
		r := fetch(t, url, map[string]string{"Accept-Encoding": a, "If-None-Match": old[a]})
		if r.status != 200 || r.header.Get("Content-Encoding") != a || r.header.Get("ETag") == old[a] ||
			fmt.Sprint(version(decodeBody(t, r))) != "2" {
			t.Errorf("after the edit, compressed again, %q: %d coding %q ETag %s (old %s), version %v",
				a, r.status, r.header.Get("Content-Encoding"), r.header.Get("ETag"), old[a], version(decodeBody(t, r)))
		}
	}
}
