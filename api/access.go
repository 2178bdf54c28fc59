package api

import (
	"net/http"
	"sync"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
)

// rule is who may call a route.
type rule struct {
	kind ruleKind
	// role is the least role the route needs: always for a write, only with
	// private reads for a read, only with private metrics for /metrics.
	role grids.Role
}

type ruleKind int

const (
	// open routes answer everyone: health, readiness, the static code of the
	// browser pages (the data they load is guarded on its own routes) and
	// CORS preflights (browsers send them without credentials).
	open ruleKind = iota + 1
	// read routes answer everyone unless Config.PrivateReads.
	read
	// need routes need the role always (writes, stored reports).
	need
	// metrics is /metrics: open unless Config.PrivateMetrics.
	metrics
)

var (
	openRule    = rule{kind: open}
	viewerRead  = rule{kind: read, role: grids.RoleViewer}
	metricsRule = rule{kind: metrics, role: grids.RoleViewer}
)

func needs(role grids.Role) rule { return rule{kind: need, role: role} }

// access is the one table of who may call what, by method and route
// pattern. Every route the server mounts must be here: the access
// middleware refuses a route it does not find (TestAccessEveryRoute walks
// the router to check that none is missing).
var access = map[string]rule{
	"GET /healthz": openRule,
	"GET /readyz":  openRule,
	"GET /metrics": metricsRule,
	// The API's description (OpenAPI and its page) holds no data.
	"GET /openapi.json": openRule,
	"GET /docs":         openRule,

	// Browser pages: static code only. With private reads both pages ask
	// for a token and send it with every request to this server.
	"GET /map":               openRule,
	"GET /map/assets/{file}": openRule,
	"GET /dashboard":         openRule, // the page asks for a token: case reads need one
	"GET /edit":              openRule,

	// Tiles and what MapLibre loads with them; preflights are CORS's.
	"GET /tiles/{layers}/{z}/{x}/{y}.mvt":     viewerRead,
	"HEAD /tiles/{layers}/{z}/{x}/{y}.mvt":    viewerRead,
	"OPTIONS /tiles/{layers}/{z}/{x}/{y}.mvt": openRule,
	"GET /tiles/{layers}.json":                viewerRead,
	"HEAD /tiles/{layers}.json":               viewerRead,
	"OPTIONS /tiles/{layers}.json":            openRule,
	"GET /styles/gridd.json":                  viewerRead,
	"HEAD /styles/gridd.json":                 viewerRead,
	"OPTIONS /styles/gridd.json":              openRule,
	"GET /fonts/{stack}/{range}.pbf":          viewerRead,
	"HEAD /fonts/{stack}/{range}.pbf":         viewerRead,
	"OPTIONS /fonts/{stack}/{range}.pbf":      openRule,
	"GET /v1/search":                          viewerRead,
	"HEAD /v1/search":                         viewerRead,
	"OPTIONS /v1/search":                      openRule,

	"GET /v1/divisions":        viewerRead,
	"GET /v1/divisions/{code}": viewerRead,

	"GET /v1/grids":                   viewerRead,
	"GET /v1/grids/{code}":            viewerRead,
	"HEAD /v1/grids/{code}":           viewerRead,
	"PUT /v1/grids/{code}":            needs(grids.RoleEditor),
	"GET /v1/grids/{code}/history":    viewerRead,
	"POST /v1/changesets":             needs(grids.RoleEditor),
	"GET /v1/changesets/{id}":         viewerRead,
	"POST /v1/changesets/{id}/revert": needs(grids.RoleEditor),
	"GET /v1/history":                 viewerRead,
	"GET /v1/history/{id}":            viewerRead,
	"POST /v1/history/{id}/revert":    needs(grids.RoleEditor), // admin for some records: see revertChange
	"POST /v1/builds":                 needs(grids.RoleEditor),
	"GET /v1/builds/{id}":             viewerRead,
	"POST /v1/mgmt-grids":             needs(grids.RoleEditor),
	// Grid workers' names and telephone numbers are personal: a token
	// always; the supervision and command centre keeps the rota.
	"GET /v1/grid-workers":                 needs(grids.RoleViewer),
	"POST /v1/grid-workers":                needs(grids.RoleDispatcher),
	"GET /v1/grid-workers/{id}/duties":     needs(grids.RoleViewer),
	"POST /v1/grid-workers/{id}/duties":    needs(grids.RoleDispatcher),
	"POST /v1/grid-workers/{id}/leave":     needs(grids.RoleDispatcher),
	"POST /v1/grid-worker-duties/{id}/end": needs(grids.RoleDispatcher),
	"GET /v1/mgmt-grids/{code}":            viewerRead,
	"GET /v1/mgmt-grids":                   viewerRead,
	"POST /v1/mgmt-grids/{code}/move":      viewerRead, // a dry run reads; the handler asks a real move for an editor
	"GET /v1/classes":                      viewerRead,
	"GET /v1/classes/{code}":               viewerRead,
	"GET /v1/components":                   viewerRead,
	"POST /v1/components":                  needs(grids.RoleEditor),
	"GET /v1/components/{code}":            viewerRead,
	"HEAD /v1/components/{code}":           viewerRead,
	"PUT /v1/components/{code}":            needs(grids.RoleEditor),
	"DELETE /v1/components/{code}":         needs(grids.RoleEditor),
	"GET /v1/components/{code}/history":    viewerRead,

	// Lookups are field apps' reads: with private reads they need a reporter.
	"GET /v1/lookup":  {kind: read, role: grids.RoleReporter},
	"POST /v1/lookup": {kind: read, role: grids.RoleReporter},
	"POST /v1/route":  needs(grids.RoleReporter),
	// Cases name reporters and what they saw: reading them needs a token
	// always. A step needs at least a supervisor here; which role may take
	// which step is the state machine's (grids.CaseStepTo).
	"POST /v1/cases":                         needs(grids.RoleReporter),
	"GET /v1/cases":                          needs(grids.RoleViewer),
	"GET /v1/cases/{id}":                     needs(grids.RoleViewer),
	"POST /v1/cases/{id}/steps":              needs(grids.RoleSupervisor),
	"POST /v1/cases/{id}/photos":             needs(grids.RoleReporter), // which roles add to which case: grids.CasePhotoAllowed
	"GET /v1/cases/{id}/photos":              needs(grids.RoleViewer),
	"POST /v1/cases/{id}/satisfaction":       needs(grids.RoleReporter), // its reporter, or a supervisor for them: grids.SatisfactionAllowed
	"GET /v1/case-time-limits":               viewerRead,
	"PUT /v1/case-time-limits":               needs(grids.RoleAdmin),
	"GET /v1/cases/stats":                    needs(grids.RoleViewer),
	"GET /v1/cases/feed":                     needs(grids.RoleViewer),
	"GET /v1/cases/hotspots/{z}/{x}/{y}.mvt": needs(grids.RoleViewer),
	"GET /v1/photos/{hash}":                  needs(grids.RoleViewer),
	"GET /v1/evaluation":                     needs(grids.RoleViewer), // rates areas and departments: a token always
	"GET /v1/departments":                    viewerRead,
	"PUT /v1/departments/{code}":             needs(grids.RoleAdmin),
	"DELETE /v1/departments/{code}":          needs(grids.RoleAdmin),
	"GET /v1/routing/rules":                  viewerRead,
	"POST /v1/routing/rules":                 needs(grids.RoleAdmin),
	"DELETE /v1/routing/rules/{id}":          needs(grids.RoleAdmin),

	// Open311 GeoReport v2 (open311.go). Its reads name nobody (no
	// reporter, no actor): public unless private reads, like the map. Its
	// clients send the token as api_key in the form body, which the
	// authenticate middleware does not read (it reads headers only, before
	// any body is parsed): so the POST is open here and its handler
	// authenticates the api_key, or the Authorization header, itself and
	// needs a reporter (open311Principal: 401 without a token, 403 with an
	// invalid or weaker one).
	"GET /open311/v2/services.json":        viewerRead,
	"GET /open311/v2/services.xml":         viewerRead,
	"GET /open311/v2/services/{code}.json": viewerRead,
	"POST /open311/v2/requests.json":       openRule,
	"GET /open311/v2/requests.json":        viewerRead,
	"GET /open311/v2/requests/{id}.json":   viewerRead,
	"GET /open311/v2/tokens/{id}.json":     viewerRead,

	// OGC API - Features. OPTIONS here is Part 4's capability question
	// (QGIS asks it with its credentials), not a CORS preflight.
	"GET /ogc":                                   viewerRead,
	"GET /ogc/":                                  viewerRead,
	"GET /ogc/conformance":                       viewerRead,
	"GET /ogc/collections":                       viewerRead,
	"GET /ogc/collections/{coll}":                viewerRead,
	"GET /ogc/collections/{coll}/schema":         viewerRead,
	"GET /ogc/collections/{coll}/queryables":     viewerRead,
	"GET /ogc/collections/{coll}/items":          viewerRead,
	"HEAD /ogc/collections/{coll}/items":         viewerRead,
	"OPTIONS /ogc/collections/{coll}/items":      viewerRead,
	"POST /ogc/collections/{coll}/items":         needs(grids.RoleEditor),
	"GET /ogc/collections/{coll}/items/{id}":     viewerRead,
	"HEAD /ogc/collections/{coll}/items/{id}":    viewerRead,
	"OPTIONS /ogc/collections/{coll}/items/{id}": viewerRead,
	"PUT /ogc/collections/{coll}/items/{id}":     needs(grids.RoleEditor),
	"PATCH /ogc/collections/{coll}/items/{id}":   needs(grids.RoleEditor),
	"DELETE /ogc/collections/{coll}/items/{id}":  needs(grids.RoleEditor),
}

// routeContexts recycles the routing contexts authorize matches with.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// authorize applies the access table to every request the router mux has
// a route for (unknown paths and methods go on to the 404 and 405 answers).
// It runs before routing, so it finds the route itself, as mux will; a
// route missing from the table is refused.
func (s *Server) authorize(mux chi.Routes) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rctx := chi.RouteContext(r.Context())
			method, path := rctx.RouteMethod, rctx.RoutePath
			if method == "" {
				method = r.Method
			}
			if path == "" {
				if path = r.URL.RawPath; path == "" {
					path = r.URL.Path
				}
			}
			mctx := routeContexts.Get().(*chi.Context)
			mctx.Reset()
			pattern := mux.Find(mctx, method, path)
			routeContexts.Put(mctx)
			if pattern != "" {
				if err := s.allowed(r, method+" "+pattern); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// allowed is nil when the access table lets the request's token (or its
// absence) call the route.
func (s *Server) allowed(r *http.Request, route string) error {
	ru, ok := access[route]
	if !ok {
		s.log.Error("route_without_access_rule", "route", route)
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "no access rule for " + route}
	}
	switch ru.kind {
	case open:
		return nil
	case read:
		if !s.cfg.PrivateReads {
			return nil
		}
	case metrics:
		if !s.cfg.PrivateMetrics {
			return nil
		}
	}
	return needRole(r, ru.role, "this")
}
