package api

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

//go:embed web/edit.html
var editPage []byte

// GET /edit: the browser editor. The page is static; every edit it saves
// needs an editor token, which the user enters in the page.
func (s *Server) editPageHandler(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(editPage)
	return err
}

// GET /v1/grids?community=CODE: the current grids of a community as a
// GeoJSON FeatureCollection (with each grid's version).
func (s *Server) listGrids(w http.ResponseWriter, r *http.Request) error {
	c := strings.TrimSpace(r.URL.Query().Get("community"))
	code, err := geo.ParseCodeAt(c, geo.Community)
	if err != nil {
		return grids.Invalid("community", "%v", err)
	}
	gs, err := s.cfg.Editor.Grids(r.Context(), code)
	if err != nil {
		return err
	}
	fc := geojson.NewFeatureCollection()
	for _, g := range gs {
		fc.Append(gridFeature(g))
	}
	return writeGeoJSON(w, http.StatusOK, fc)
}
