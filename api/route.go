package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
)

// Router is what POST /v1/route needs.
type Router interface {
	Route(ctx context.Context, req grids.RouteRequest) (grids.Routed, error)
}

// mountLookup mounts lookups (public reads, or reporter with private
// reads), routing (reporter: it stores a report), and department and rule
// management (reads public or viewer; writes admin).
func (s *Server) mountLookup(r chi.Router) {
	if s.cfg.Lookup != nil {
		r.Method(http.MethodGet, "/v1/lookup", s.handle(s.getLookup))
		r.Method(http.MethodPost, "/v1/lookup", s.limitBatches(s.handle(s.postLookup)))
	}
	if s.cfg.Router != nil {
		r.Method(http.MethodPost, "/v1/route", s.handle(s.postRoute))
	}
	if s.cfg.RoutingAdmin != nil {
		r.Method(http.MethodGet, "/v1/departments", s.handle(s.listDepartments))
		r.Method(http.MethodPut, "/v1/departments/{code}", s.handle(s.putDepartment))
		r.Method(http.MethodDelete, "/v1/departments/{code}", s.handle(s.deleteDepartment))
		r.Method(http.MethodGet, "/v1/routing/rules", s.handle(s.listRules))
		r.Method(http.MethodPost, "/v1/routing/rules", s.handle(s.postRule))
		r.Method(http.MethodDelete, "/v1/routing/rules/{id}", s.handle(s.deleteRule))
	}
}

// POST /v1/route {"lon","lat","crs","class","kind"?,"component"?,"accuracy_m"?}
// → the lookup result plus "department" and "reason"; the report is stored.
func (s *Server) postRoute(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Lon       *float64 `json:"lon"`
		Lat       *float64 `json:"lat"`
		CRS       string   `json:"crs"`
		Class     string   `json:"class"`
		Kind      string   `json:"kind"`
		Component string   `json:"component"`
		AccuracyM float64  `json:"accuracy_m"`
	}
	if err := readJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	if req.Lon == nil {
		return grids.Invalid("lon", "is required")
	}
	if req.Lat == nil {
		return grids.Invalid("lat", "is required")
	}
	if err := checkLonLat("", *req.Lon, *req.Lat); err != nil {
		return err
	}
	crs, err := geo.ParseCRS(req.CRS)
	if err != nil {
		return grids.Invalid("crs", "%v", err)
	}
	if req.Class == "" {
		return grids.Invalid("class", "is required (5-digit GB/T 47678.5 code or 4-digit legacy code with its kind)")
	}
	kind := req.Kind
	if kind == "" && req.Component != "" {
		kind = grids.KindComponent
	}
	cl, err := grids.DefaultCatalog.Resolve("class", req.Class, kind, "", false)
	if err != nil {
		return err
	}
	if req.AccuracyM < 0 || req.AccuracyM > 10_000 {
		return grids.Invalid("accuracy_m", "%g is out of range [0, 10000]", req.AccuracyM)
	}
	out, err := s.cfg.Router.Route(r.Context(), grids.RouteRequest{
		InputCRS: crs, Input: orb.Point{*req.Lon, *req.Lat}, Class: cl, Component: req.Component,
		AccuracyM: req.AccuracyM, Actor: actor(r),
	})
	if err != nil {
		return lookupError(err)
	}
	return writeJSON(w, http.StatusOK, out)
}
