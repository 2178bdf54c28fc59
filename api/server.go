// Package api is gridd's HTTP face: the chi router, thin handlers, the JSON
// and GeoJSON shapes, and the one table that maps domain errors to statuses.
// It talks to the domain through small interfaces declared here.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gridd/geo"
	"gridd/grids"
	"gridd/tiles"
)

// Divisions is what the division endpoints need.
type Divisions interface {
	Division(ctx context.Context, code geo.Code) (grids.Division, []grids.DivisionRef, error)
	Children(ctx context.Context, parent geo.Code) ([]grids.DivisionRef, error)
}

// Config wires a Server. Nil parts leave their endpoints unmounted.
type Config struct {
	Logger *slog.Logger
	// Ready reports whether the server can do its work (database reachable,
	// schema current); /readyz answers 503 with its error otherwise.
	Ready     func(context.Context) error
	Divisions Divisions
	// Editor serves grid reads, history, changesets and revert; writes need
	// an editor token.
	Editor grids.Editor
	// Features serves OGC API - Features under /ogc (Part 4 edits of grids
	// go through Editor).
	Features Features
	// FeatureEditors take Part 4 edits of collections other than grids,
	// keyed by collection id (the collection must also be in Features).
	FeatureEditors map[string]FeatureEditor
	// Tokens authenticates API tokens; with none, every write is refused.
	Tokens Tokens
	// TokenCacheTTL is how long a verified token is used without asking
	// Tokens again; zero is DefaultTokenCacheTTL.
	TokenCacheTTL time.Duration
	// PrivateReads makes every read need a token (lookups a reporter's,
	// everything else a viewer's: tiles, TileJSON, style, glyphs, search,
	// divisions, grids, history, OGC API...); by default they are public.
	// The access table (access.go) says which route is which.
	PrivateReads bool
	// PrivateMetrics makes /metrics need a viewer token.
	PrivateMetrics bool
	// Limits bound the expensive work served at once.
	Limits Limits
	// Lookup answers point lookups (GET and POST /v1/lookup).
	Lookup Lookup
	// Workers names the grid workers on duty in GET /v1/lookup answers;
	// nil: the answers name none.
	Workers grids.WorkerDirectory
	// WorkerStore keeps grid workers and their duties (/v1/grid-workers).
	WorkerStore grids.WorkerStore
	// Router routes reports (POST /v1/route).
	Router Router
	// Cases keeps cases (/v1/cases; needs Router too).
	Cases grids.CaseStore
	// CasePhotos keeps photos of cases (/v1/cases/{id}/photos and
	// /v1/photos/{hash}; needs Cases and Router too).
	CasePhotos CasePhotos
	// Evaluation evaluates the record of cases (/v1/evaluation).
	Evaluation grids.Evaluator
	// CaseFeed pushes case changes to dashboards (/v1/cases/feed; needs
	// Cases too).
	CaseFeed CaseFeed
	// Hotspots draws reports aggregated in H3 cells as vector tiles
	// (/v1/cases/hotspots; needs Cases too).
	Hotspots Hotspots
	// RoutingAdmin manages departments and routing rules.
	RoutingAdmin grids.RoutingAdmin
	// Classes serves the class catalogue; Components the component CRUD.
	Classes    Classes
	Components Components
	// History reads recorded changes and reverts those of components,
	// departments and routing rules (/v1/history).
	History grids.HistoryStore
	// Builder builds unit grids (POST /v1/builds).
	Builder Builder
	// MgmtGrids defines, lists and reads management grids, and moves unit
	// grids between them.
	MgmtGrids MgmtGrids
	// Version is reported by /healthz.
	Version string
	// Tiles serves vector tiles, TileJSON, the style, glyphs and the map page.
	Tiles *tiles.Service
	// Places answers the map page's code search (/v1/search).
	Places Places
	// PublicURL is the scheme and host clients reach the server at, for the
	// URLs in TileJSON and the style; empty takes them from each request.
	PublicURL string
	// Basemap is an optional raster tile URL template drawn under the style's
	// layers, with its attribution.
	Basemap, BasemapAttribution string
	// Glyphs serves the style's label glyphs; nil uses the built-in Latin font.
	Glyphs *tiles.Glyphs
	// Consistency, when set, makes writes report the WAL position after
	// them and reads wait for one (consistency.go).
	Consistency Consistency
}

// Server serves gridd's HTTP API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	tokens   tokenCache
	builds   buildJobs
	batches  *slots // large batch lookups running; nil: no limit
	feeds    *slots // case feeds open
}

// New builds a Server with its own metrics registry.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry()}
	s.applyLimits()
	s.feeds = newSlots(maxCaseFeeds, 0)
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridd_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gridd_http_request_duration_seconds", Help: "HTTP request duration by route pattern.",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
	}, []string{"route"})
	s.registry.MustRegister(s.requests, s.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

// Registry is where other parts of the server register their metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Handler returns the router with every mounted endpoint.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, s.observe, s.authenticate, s.authorize(r), s.consistency)
	r.NotFound(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + r.URL.Path}
	}))
	r.MethodNotAllowed(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: r.Method + " is not allowed on " + r.URL.Path}
	}))
	r.Get("/healthz", s.handle(s.healthz))
	r.Get("/readyz", s.handle(s.readyz))
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	r.Method(http.MethodGet, "/openapi.json", s.handle(s.openAPIHandler(r)))
	r.Method(http.MethodGet, "/docs", s.handle(s.docsHandler(r)))
	if s.cfg.Divisions != nil {
		r.Method(http.MethodGet, "/v1/divisions", s.handle(s.listDivisions))
		r.Method(http.MethodGet, "/v1/divisions/{code}", s.handle(s.getDivision))
	}
	if s.cfg.Editor != nil {
		s.mountEditing(r)
	}
	if s.cfg.Features != nil {
		s.mountOGC(r)
	}
	if s.cfg.Tiles != nil {
		s.mountTiles(r)
		s.mountMap(r)
		s.mountDashboard(r)
	}
	if s.cfg.Lookup != nil || s.cfg.Router != nil || s.cfg.RoutingAdmin != nil {
		s.mountLookup(r)
	}
	if s.cfg.Cases != nil && s.cfg.Router != nil {
		s.mountCases(r)
		if s.cfg.CasePhotos != nil {
			s.mountCasePhotos(r)
		}
	}
	if s.cfg.Cases != nil && s.cfg.Router != nil {
		s.mountOpen311(r) // when Cases is also an Open311Store
	}
	if s.cfg.Evaluation != nil {
		s.mountEvaluation(r)
	}
	if s.cfg.Classes != nil {
		s.mountClasses(r)
	}
	if s.cfg.Components != nil {
		s.mountComponents(r)
	}
	if s.cfg.History != nil {
		s.mountHistory(r)
	}
	if s.cfg.Builder != nil {
		r.Method(http.MethodPost, "/v1/builds", s.handle(s.startBuild))
		r.Method(http.MethodGet, "/v1/builds/{id}", s.handle(s.getBuild))
	}
	if s.cfg.WorkerStore != nil {
		s.mountGridWorkers(r)
	}
	if s.cfg.MgmtGrids != nil {
		r.Method(http.MethodPost, "/v1/mgmt-grids", s.handle(s.createMgmtGrid))
		r.Method(http.MethodGet, "/v1/mgmt-grids/{code}", s.handle(s.getMgmtGrid))
		r.Method(http.MethodGet, "/v1/mgmt-grids", s.handle(s.listMgmtGrids))
		r.Method(http.MethodPost, "/v1/mgmt-grids/{code}/move", s.handle(s.moveUnitGrid))
	}
	return r
}

// highVolume are the routes a map or a fleet of field apps calls many
// times a second. Their successful requests are logged at debug level only;
// /metrics counts them like every other route.
var highVolume = map[string]bool{
	"/v1/lookup":                      true,
	"/tiles/{layers}/{z}/{x}/{y}.mvt": true,
	"/fonts/{stack}/{range}.pbf":      true,
}

// observe logs one line per request and counts it, keyed by route pattern.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		s.requests.WithLabelValues(route, r.Method, http.StatusText(status)).Inc()
		s.duration.WithLabelValues(route).Observe(d.Seconds())
		level := slog.LevelInfo
		if status < 400 && highVolume[route] {
			level = slog.LevelDebug
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", status), slog.Duration("duration", d))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			// The driver's words name the database host and user: they go
			// to the log, the open endpoint says only what is wrong.
			msg := err.Error()
			if errors.Is(err, grids.ErrUnavailable) {
				s.log.LogAttrs(r.Context(), slog.LevelWarn, "not_ready", slog.String("error", msg))
				msg = "database unreachable"
			}
			return &Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: msg, RetryAfter: 5}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
