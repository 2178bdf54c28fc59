package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

type divisionRef struct {
	Level string `json:"level"`
	Code  string `json:"code"`
	Name  string `json:"name"`
}

func refsJSON(refs []grids.DivisionRef) []divisionRef {
	out := make([]divisionRef, len(refs))
	for i, r := range refs {
		out[i] = divisionRef{Level: r.Level.String(), Code: r.Code.String(), Name: r.Name}
	}
	return out
}

// GET /v1/divisions/{code}: the division as a GeoJSON Feature with its
// parent chain.
func (s *Server) getDivision(w http.ResponseWriter, r *http.Request) error {
	code, err := geo.ParseCode(chi.URLParam(r, "code"))
	if err != nil {
		return grids.Invalid("code", "%v", err)
	}
	d, chain, err := s.cfg.Divisions.Division(r.Context(), code)
	if err != nil {
		return err
	}
	f := geojson.NewFeature(d.Geom)
	f.ID = d.Code.String()
	f.Properties = geojson.Properties{
		"level":      d.Level.String(),
		"code":       d.Code.String(),
		"name":       d.Name,
		"parents":    refsJSON(chain),
		"valid_from": d.ValidFrom.UTC().Format(time.RFC3339),
	}
	if d.ParentCode != "" {
		f.Properties["parent_code"] = d.ParentCode.String()
	}
	return writeGeoJSON(w, http.StatusOK, f)
}

// GET /v1/divisions?parent=CODE: the current children of a division, or the
// districts when no parent is given.
func (s *Server) listDivisions(w http.ResponseWriter, r *http.Request) error {
	var parent geo.Code
	if p := r.URL.Query().Get("parent"); p != "" {
		c, err := geo.ParseCode(p)
		if err != nil {
			return grids.Invalid("parent", "%v", err)
		}
		parent = c
	}
	kids, err := s.cfg.Divisions.Children(r.Context(), parent)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"parent": parent.String(), "divisions": refsJSON(kids)})
}
