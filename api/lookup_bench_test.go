package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/synth"
)

type benchLookup struct{ ix *geo.View }

// benchIndex indexes a side × side jittered lattice of ~100 m grids from
// 116.0, 39.5 (320: about 100k grids over 0.288°; 1000: a million over 0.9°).
func benchIndex(b *testing.B, side int) *geo.Index {
	b.Helper()
	lat := synth.Lattice{Origin: orb.Point{116.0, 39.5}, NX: side, NY: side, Cell: 0.0009, Jitter: 0.2, District: "110101", Street: "001", PerCommunity: 999}
	ix, err := geo.NewIndex(geo.IndexInput{Grids: lat.Grids(1)})
	if err != nil {
		b.Fatal(err)
	}
	return ix
}

func (b benchLookup) Index() *geo.View { return b.ix }

// BenchmarkBatchLookup: one POST /v1/lookup of 100,000 random points over
// about 100k grids, handler only (no network).
func BenchmarkBatchLookup(b *testing.B) {
	ix := benchIndex(b, 320)
	rng := rand.New(rand.NewSource(1))
	pts := make([][2]float64, MaxBatchPoints)
	for i := range pts {
		pts[i] = [2]float64{116.0 + rng.Float64()*0.288, 39.5 + rng.Float64()*0.288}
	}
	body, _ := json.Marshal(map[string]any{"points": pts})
	h := New(Config{Lookup: benchLookup{geo.NewView(ix)}}).Handler()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/lookup", bytes.NewReader(body)))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	b.ReportMetric(float64(b.N*MaxBatchPoints)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkGetLookup: GET /v1/lookup through the router, handler only.
func BenchmarkGetLookup(b *testing.B) {
	ix := benchIndex(b, 320)
	h := New(Config{Lookup: benchLookup{geo.NewView(ix)}}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/v1/lookup?lon=116.1234567&lat=39.6234567", nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkHTTPGetLookup: GET /v1/lookup over loopback with keep-alive,
// eight clients, client and server in this process.
func BenchmarkHTTPGetLookup(b *testing.B) {
	ix := benchIndex(b, 320)
	ts := httptest.NewServer(New(Config{Lookup: benchLookup{geo.NewView(ix)}}).Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8}}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewSource(1))
		for pb.Next() {
			url := ts.URL + "/v1/lookup?lon=" + strconv.FormatFloat(116.0+rng.Float64()*0.288, 'f', 7, 64) + "&lat=" + strconv.FormatFloat(39.5+rng.Float64()*0.288, 'f', 7, 64)
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkHTTPBatchLookup: POST /v1/lookup of 100,000 random points over
// a million grids, over loopback, client and server in this process; the
// points written with 7 decimals as GPS apps send them, and with every
// digit of a float64.
func BenchmarkHTTPBatchLookup(b *testing.B) {
	ix := benchIndex(b, 1000)
	rng := rand.New(rand.NewSource(1))
	pts := make([]orb.Point, MaxBatchPoints)
	for i := range pts {
		pts[i] = orb.Point{116.0 + rng.Float64()*0.9, 39.5 + rng.Float64()*0.9}
	}
	ts := httptest.NewServer(New(Config{Lookup: benchLookup{geo.NewView(ix)}}).Handler())
	defer ts.Close()
	for _, digits := range []int{7, -1} {
		body := BatchBody(pts, digits)
		b.Run(fmt.Sprintf("decimals=%d", digits), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				resp, err := http.Post(ts.URL+"/v1/lookup", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*MaxBatchPoints)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// bookDirectory answers rosters from a fixed duty book.
type bookDirectory struct{ b *grids.DutyBook }

func (d bookDirectory) RosterOf(_ context.Context, loc grids.Location, at time.Time) (grids.Roster, error) {
	return d.b.Roster(loc.Mgmt, at), nil
}

// BenchmarkGetLookupWorkers: GET /v1/lookup with a token, naming the grid
// workers on duty (here: none, the grid is in no management grid, so the
// answer carries the note), handler only; against BenchmarkGetLookup.
func BenchmarkGetLookupWorkers(b *testing.B) {
	ix := benchIndex(b, 320)
	h := New(Config{Lookup: benchLookup{geo.NewView(ix)}, Workers: bookDirectory{grids.NewDutyBook(nil, nil)}}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/v1/lookup?lon=116.1234567&lat=39.6234567", nil)
	// Workers are named to token holders: the request carries a verified
	// token's principal, as the authentication middleware leaves it.
	req = req.WithContext(context.WithValue(req.Context(), principalKey{}, principal{}))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
