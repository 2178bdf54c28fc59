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
	var req reportBody
	if err := readJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	rr, err := req.routeRequest(r)
	if err != nil {
		return err
	}
	out, err := s.cfg.Router.Route(r.Context(), rr)
	if err != nil {
		return lookupError(err)
	}
	return writeJSON(w, http.StatusOK, out)
}

// reportBody is a reported location and class, as POST /v1/route and
// POST /v1/cases take them.
type reportBody struct {
	Lon       *float64 `json:"lon"`
	Lat       *float64 `json:"lat"`
	CRS       string   `json:"crs"`
	Class     string   `json:"class"`
	Kind      string   `json:"kind"`
	Component string   `json:"component"`
	AccuracyM float64  `json:"accuracy_m"`
}

// routeRequest checks the report and makes it a routing request by the
// request's token.
func (b reportBody) routeRequest(r *http.Request) (grids.RouteRequest, error) {
	if b.Lon == nil {
		return grids.RouteRequest{}, grids.Invalid("lon", "is required")
	}
	if b.Lat == nil {
		return grids.RouteRequest{}, grids.Invalid("lat", "is required")
	}
	if err := checkLonLat("", *b.Lon, *b.Lat); err != nil {
		return grids.RouteRequest{}, err
	}
	crs, err := geo.ParseCRS(b.CRS)
	if err != nil {
		return grids.RouteRequest{}, grids.Invalid("crs", "%v", err)
	}
	if b.Class == "" {
		return grids.RouteRequest{}, grids.Invalid("class", "is required (5-digit GB/T 47678.5 code or 4-digit legacy code with its kind)")
	}
	kind := b.Kind
	if kind == "" && b.Component != "" {
		kind = grids.KindComponent
	}
	cl, err := grids.DefaultCatalog.Resolve("class", b.Class, kind, "", false)
	if err != nil {
		return grids.RouteRequest{}, err
	}
	if b.AccuracyM < 0 || b.AccuracyM > 10_000 {
		return grids.RouteRequest{}, grids.Invalid("accuracy_m", "%g is out of range [0, 10000]", b.AccuracyM)
	}
	return grids.RouteRequest{
		InputCRS: crs, Input: orb.Point{*b.Lon, *b.Lat}, Class: cl, Component: b.Component,
		AccuracyM: b.AccuracyM, Actor: actor(r),
	}, nil
}
