package api

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
	"gridd/tiles"
)

// The map page: index.html is committed; dist/ holds the MapLibre bundle that
// `make web` builds from web/ (npm + esbuild). A binary built without it
// serves the page with a note saying how to build it.
//
//go:embed mapweb
var mapFS embed.FS

// mountMap mounts /map and its assets.
func (s *Server) mountMap(r chi.Router) {
	r.Get("/map", s.handle(s.mapPage))
	r.Get("/map/assets/{file}", s.handle(s.mapAsset))
}

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) error {
	page, err := mapFS.ReadFile("mapweb/index.html")
	if err != nil {
		return err
	}
	if _, err := fs.Stat(mapFS, "mapweb/dist/map.js"); err != nil {
		page = []byte(strings.Replace(string(page), "<body>",
			`<body><p style="position:absolute;z-index:9;left:330px;background:#fee;padding:8px">`+
				`This gridd binary was built without the map bundle: run <code>make web</code> (or <code>make build</code>) and rebuild.</p>`, 1))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(page)
	return err
}

func (s *Server) mapAsset(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "file")
	data, err := mapFS.ReadFile("mapweb/dist/" + name)
	if err != nil || strings.Contains(name, "/") {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no map asset " + name + " (run make web)"}
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(data)
	return err
}

var (
	defaultGlyphsOnce sync.Once
	defaultGlyphs     *tiles.Glyphs
)

// glyphs is the configured glyph server, or one with the built-in font.
func (s *Server) glyphs() *tiles.Glyphs {
	if s.cfg.Glyphs != nil {
		return s.cfg.Glyphs
	}
	defaultGlyphsOnce.Do(func() { defaultGlyphs, _ = tiles.NewGlyphs() })
	return defaultGlyphs
}

// GET /fonts/{stack}/{range}.pbf: a MapLibre glyph range.
func (s *Server) getGlyphs(w http.ResponseWriter, r *http.Request) error {
	start, err := tiles.ParseRange(chi.URLParam(r, "range"))
	if err != nil {
		return grids.Invalid("range", "%v", err)
	}
	data := s.glyphs().Range(chi.URLParam(r, "stack"), start)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Cache-Control", s.cacheControl(86400))
	_, err = w.Write(data)
	return err
}
