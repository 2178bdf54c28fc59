package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

// mountEditing mounts the grid, history and changeset endpoints; writes
// need an editor token.
func (s *Server) mountEditing(r chi.Router) {
	read, edit := s.handle, s.handle // who may call which: the access table
	r.Method(http.MethodGet, "/edit", s.handle(s.editPageHandler))
	r.Method(http.MethodGet, "/v1/grids", read(s.listGrids))
	r.Method(http.MethodGet, "/v1/grids/{code}", read(s.getGrid))
	r.Method(http.MethodHead, "/v1/grids/{code}", read(s.getGrid))
	r.Method(http.MethodPut, "/v1/grids/{code}", edit(s.putGrid))
	r.Method(http.MethodGet, "/v1/grids/{code}/history", read(s.gridHistory))
	r.Method(http.MethodPost, "/v1/changesets", edit(s.postChangeset))
	r.Method(http.MethodGet, "/v1/changesets/{id}", read(s.getChangeset))
	r.Method(http.MethodPost, "/v1/changesets/{id}/revert", edit(s.revertChangeset))
}

func gridCode(r *http.Request) (geo.Code, error) {
	c, err := geo.ParseCodeAt(chi.URLParam(r, "code"), geo.Grid)
	if err != nil {
		return "", grids.Invalid("code", "%v", err)
	}
	return c, nil
}

// etag is the strong ETag of a version of a grid or a component.
func etag(v int) string { return fmt.Sprintf(`"v%d"`, v) }

// parseETag reads If-Match: "vN" (a list takes its first entry).
func parseETag(h string) (int, error) {
	h = strings.TrimSpace(strings.Split(h, ",")[0])
	if strings.HasPrefix(h, "W/") {
		return 0, grids.Invalid("If-Match", "a weak ETag cannot match; send the ETag as returned")
	}
	v, err := strconv.Atoi(strings.TrimPrefix(strings.Trim(h, `"`), "v"))
	if err != nil || v < 1 {
		return 0, grids.Invalid("If-Match", "%q is not an ETag of a version (\"v3\")", h)
	}
	return v, nil
}

func gridFeature(g grids.UnitGrid) *geojson.Feature {
	f := geojson.NewFeature(g.Geom)
	f.ID = g.Code.String()
	f.Properties = geojson.Properties{
		"code": g.Code.String(), "community_code": g.CommunityCode.String(), "street_code": g.StreetCode.String(),
		"district_code": g.DistrictCode.String(), "area_m2": g.AreaM2, "version": g.Version,
		"valid_from": g.ValidFrom.UTC().Format(time.RFC3339),
	}
	for k, v := range map[string]string{"land_use": g.LandUse, "mgmt_level": g.MgmtLevel, "responsible": g.Responsible, "note": g.Note} {
		if v != "" {
			f.Properties[k] = v
		}
	}
	return f
}

// GET /v1/grids/{code}: the current grid as a GeoJSON Feature, with its
// version as a strong ETag.
func (s *Server) getGrid(w http.ResponseWriter, r *http.Request) error {
	code, err := gridCode(r)
	if err != nil {
		return err
	}
	g, err := s.cfg.Editor.Grid(r.Context(), code)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(g.Version))
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag(g.Version)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return writeGeoJSON(w, http.StatusOK, gridFeature(g))
}

// PUT /v1/grids/{code} with If-Match: a GeoJSON Feature whose properties
// may change land_use, mgmt_level, responsible and note and whose geometry,
// when given, redraws the grid (the neighbours give up or take the
// difference). "message" in the properties is the reason recorded.
func (s *Server) putGrid(w http.ResponseWriter, r *http.Request) error {
	code, err := gridCode(r)
	if err != nil {
		return err
	}
	im := r.Header.Get("If-Match")
	if im == "" {
		return &Error{Status: http.StatusPreconditionRequired, Code: "precondition_required",
			Message: "PUT on a grid needs If-Match with the ETag from GET /v1/grids/" + code.String()}
	}
	v, err := parseETag(im)
	if err != nil {
		return err
	}
	var f gridFeatureBody
	if err := readJSON(w, r, maxEditBody, &f); err != nil {
		return err
	}
	var geom orb.Polygon
	if f.Geometry != nil {
		p, ok := f.Geometry.Geometry().(orb.Polygon)
		if !ok {
			return grids.Invalid("geometry", "want a Polygon")
		}
		geom = p
	}
	if geom == nil && f.Properties.GridAttributes == (grids.GridAttributes{}) {
		return grids.Invalid("body", "nothing to change: give a geometry or properties")
	}
	cs, err := s.cfg.Editor.UpdateGrid(r.Context(), actor(r), grids.GridRef{Code: code, Version: v},
		f.Properties.GridAttributes, geom, f.Properties.Message)
	if err != nil {
		return err
	}
	g, err := s.cfg.Editor.Grid(r.Context(), code)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(g.Version))
	return writeJSON(w, http.StatusOK, map[string]any{"changeset": cs, "grid": gridFeature(g)})
}

// GET /v1/grids/{code}/history: every change of the code, oldest first.
func (s *Server) gridHistory(w http.ResponseWriter, r *http.Request) error {
	code, err := gridCode(r)
	if err != nil {
		return err
	}
	hs, err := s.cfg.Editor.GridHistory(r.Context(), code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": code, "history": hs})
}
