package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"gridd/grids"
	"gridd/tiles"
)

// Places finds where a code is on the map, for the map page's search.
type Places interface {
	// Place returns the current division, unit grid, management grid or
	// component with the code, or grids.ErrNotFound.
	Place(ctx context.Context, code string) (grids.Place, error)
}

// cacheControl is the Cache-Control of a read that browsers (and, with
// public reads, CDNs) may keep for maxAge seconds; 0 revalidates on every
// use (tiles: a 304 costs little, and an edit shows at once). With private
// reads only the requesting browser may keep it: a shared cache would hand
// a token holder's answer to anyone.
func (s *Server) cacheControl(maxAge int) string {
	scope := "public"
	if s.cfg.PrivateReads {
		scope = "private"
	}
	if maxAge == 0 {
		return scope + ", max-age=0, must-revalidate"
	}
	return scope + ", max-age=" + strconv.Itoa(maxAge)
}

// mountTiles mounts the tile, TileJSON, style, glyph and search endpoints.
func (s *Server) mountTiles(r chi.Router) {
	svc := s.cfg.Tiles
	s.registerTileMetrics(svc)
	routes := map[string]handlerFunc{
		"/tiles/{layers}/{z}/{x}/{y}.mvt": s.getTile,
		"/tiles/{layers}.json":            s.getTileJSON,
		"/styles/gridd.json":              s.getStyle,
		"/fonts/{stack}/{range}.pbf":      s.getGlyphs,
	}
	if s.cfg.Places != nil {
		routes["/v1/search"] = s.search
	}
	r.Group(func(r chi.Router) {
		r.Use(cors)
		for pattern, h := range routes {
			r.Get(pattern, s.handle(h))
			r.Head(pattern, s.handle(h))
			r.Options(pattern, func(http.ResponseWriter, *http.Request) {}) // answered by cors
		}
	})
}

func (s *Server) registerTileMetrics(svc *tiles.Service) {
	counter := func(name, help string, f func(tiles.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(svc.Stats())) })
	}
	collectors := []prometheus.Collector{
		counter("gridd_tile_cache_hits_total", "Tiles served from the cache.", func(st tiles.Stats) uint64 { return st.Hits }),
		counter("gridd_tile_cache_misses_total", "Tile requests the cache did not hold.", func(st tiles.Stats) uint64 { return st.Misses }),
		counter("gridd_tile_renders_total", "Tiles rendered from PostGIS.", func(st tiles.Stats) uint64 { return st.Renders }),
		counter("gridd_tile_capped_total", "Tiles over the size cap at full detail, rendered coarser.", func(st tiles.Stats) uint64 { return st.Capped }),
		counter("gridd_tile_over_cap_total", "Tiles still over the size cap when coarser.", func(st tiles.Stats) uint64 { return st.OverCap }),
		counter("gridd_tile_invalidations_total", "Changes from the change feed applied to the tile cache.", func(st tiles.Stats) uint64 { return st.Invalidations }),
		counter("gridd_tile_cache_dropped_total", "Cached tiles dropped because a change touched them.", func(st tiles.Stats) uint64 { return st.Dropped }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridd_tile_cache_bytes", Help: "Bytes of tiles in the cache."},
			func() float64 { return float64(svc.Cache().Bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridd_tile_cache_tiles", Help: "Tiles in the cache."},
			func() float64 { return float64(svc.Cache().Len()) }),
	}
	for _, c := range collectors {
		// Handler may be built more than once; the first registration stands.
		if err := s.registry.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			panic(err)
		}
	}
}

// cors lets pages on any origin fetch tiles, documents and glyphs.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag, X-Tile-Cache, X-Gridd-LSN")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			// Authorization: a dashboard on another site sends its token
			// when reads are private.
			h.Set("Access-Control-Allow-Headers", "Authorization, X-API-Key, If-None-Match, Accept-Encoding, Content-Type, X-Gridd-Min-LSN")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// baseURL is the scheme and host clients reach this server at.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// GET /tiles/{layers}/{z}/{x}/{y}.mvt: one MVT with a layer each.
func (s *Server) getTile(w http.ResponseWriter, r *http.Request) error {
	layers, err := tiles.ParseLayers(chi.URLParam(r, "layers"))
	if err != nil {
		return err
	}
	id, err := tiles.ParseID(chi.URLParam(r, "z"), chi.URLParam(r, "x"), chi.URLParam(r, "y"))
	if err != nil {
		return err
	}
	t, hit, err := s.cfg.Tiles.Tile(r.Context(), layers, id)
	if errors.Is(err, tiles.ErrBusy) {
		return busy("tile renderings")
	}
	if err != nil {
		return err
	}
	// The cache holds each tile plain and, soon after it is cached,
	// compressed (gzip and brotli); the smallest form the client accepts is
	// sent as stored, with its own ETag.
	rep := t.Select(r.Header.Get("Accept-Encoding"))
	h := w.Header()
	h.Set("Content-Type", "application/vnd.mapbox-vector-tile")
	h.Set("ETag", rep.ETag)
	h.Set("Cache-Control", s.cacheControl(0))
	h.Set("Vary", "Accept-Encoding")
	if hit {
		h.Set("X-Tile-Cache", "hit")
	} else {
		h.Set("X-Tile-Cache", "miss")
	}
	if etagMatch(r.Header.Get("If-None-Match"), rep.ETag) {
		w.WriteHeader(http.StatusNotModified)
		s.cfg.Tiles.Compress(t)
		return nil
	}
	if rep.Encoding != "" {
		h.Set("Content-Encoding", rep.Encoding)
	}
	h.Set("Content-Length", strconv.Itoa(len(rep.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(rep.Body) //nolint:errcheck
	}
	if !hit {
		// Answered: now the new tile's compressed forms are made.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		s.cfg.Tiles.Compress(t)
	}
	return nil
}

// etagMatch reports whether an If-None-Match header names the ETag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.TrimPrefix(v, "W/") == etag {
			return true
		}
	}
	return false
}

// GET /tiles/{layers}.json: TileJSON 3.0.0.
func (s *Server) getTileJSON(w http.ResponseWriter, r *http.Request) error {
	layers, err := tiles.ParseLayers(chi.URLParam(r, "layers"))
	if err != nil {
		return err
	}
	b, err := s.cfg.Tiles.DataBounds(r.Context(), layers)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", s.cacheControl(60))
	return writeJSON(w, http.StatusOK, tiles.TileJSON(s.baseURL(r), layers, b))
}

// GET /styles/gridd.json: the MapLibre style.
func (s *Server) getStyle(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", s.cacheControl(60))
	return writeJSON(w, http.StatusOK, tiles.Style(s.baseURL(r), tiles.StyleOptions{
		Basemap: s.cfg.Basemap, BasemapAttribution: s.cfg.BasemapAttribution}))
}

// GET /v1/search?code=...: where a code is, for flying to it.
func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	code, err := textParam(r.URL.Query(), "code")
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return grids.Invalid("code", "missing: give ?code= a division, grid or component code")
	}
	if len(code) > 64 {
		return grids.Invalid("code", "longer than 64 characters")
	}
	p, err := s.cfg.Places.Place(r.Context(), code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"kind": p.Kind, "code": p.Code, "name": p.Name,
		"bbox": []float64{p.BBox.Min[0], p.BBox.Min[1], p.BBox.Max[0], p.BBox.Max[1]},
	})
}
