package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/geo"
	"gridd/grids"
)

// Cases: a report opens a case (POST /v1/cases: routed as POST /v1/route,
// stored, and answered with the open cases that may be the same problem);
// each step of the loop is POST /v1/cases/{id}/steps, which the state
// machine (grids.CaseStepTo) allows by state and role; GET answers a case
// with its reports and event log.
func (s *Server) mountCases(r chi.Router) {
	r.Method(http.MethodPost, "/v1/cases", s.handle(s.postCase))
	r.Method(http.MethodGet, "/v1/cases", s.handle(s.listCases))
	r.Method(http.MethodGet, "/v1/cases/{id}", s.handle(s.getCase))
	r.Method(http.MethodPost, "/v1/cases/{id}/steps", s.handle(s.postCaseStep))
	s.mountCaseSatisfaction(r)
	r.Method(http.MethodGet, "/v1/cases/stats", s.handle(s.caseStats))
	r.Method(http.MethodGet, "/v1/case-time-limits", s.handle(s.getTimeLimits))
	r.Method(http.MethodPut, "/v1/case-time-limits", s.handle(s.putTimeLimits))
	if s.cfg.CaseFeed != nil {
		r.Method(http.MethodGet, "/v1/cases/feed", s.handle(s.caseFeed))
	}
	if s.cfg.Hotspots != nil {
		r.Method(http.MethodGet, "/v1/cases/hotspots/{z}/{x}/{y}.mvt", s.handle(s.hotspotTile))
	}
}

// caseBody is a report that opens a case: the location and class as
// POST /v1/route takes them, what the reporter saw, and the urgency.
type caseBody struct {
	reportBody
	Description string `json:"description"`
	Urgency     string `json:"urgency"`
}

// maxCaseDescription bounds a case's description (characters).
const maxCaseDescription = 2000

func (s *Server) postCase(w http.ResponseWriter, r *http.Request) error {
	var req caseBody
	if err := readJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	p, _ := principalOf(r)
	c, err := s.openCase(r, req, p.Role)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/cases/"+strconv.FormatInt(c.ID, 10))
	return s.writeCase(w, r, http.StatusCreated, c)
}

// caseAnswer is a case as the case endpoints answer it: with the grid
// workers on duty now where it lies, when the server knows them
// (Config.Workers), so that a dispatcher sees whom to call.
type caseAnswer struct {
	grids.Case
	GridWorkers     []grids.OnDuty `json:"grid_workers"`
	GridWorkersNote string         `json:"grid_workers_note,omitempty"`
}

func (s *Server) writeCase(w http.ResponseWriter, r *http.Request, status int, c grids.Case) error {
	if s.cfg.Workers == nil {
		return writeJSON(w, status, c)
	}
	loc := grids.Location{Grid: grids.LocatedGrid{Code: c.Grid}}
	for _, m := range c.Mgmt {
		loc.Mgmt = append(loc.Mgmt, geo.Named{Code: m})
	}
	now := time.Now()
	ros, err := s.cfg.Workers.RosterOf(r.Context(), loc, now)
	if err != nil {
		return err
	}
	return writeJSON(w, status, caseAnswer{Case: c, GridWorkers: append([]grids.OnDuty{}, ros.Workers...),
		GridWorkersNote: grids.WorkerNote(c.Grid.String(), ros, now)})
}

// openCase checks a report, routes it and opens its case, reported by the
// request's actor with role (POST /v1/cases and Open311's POST requests).
func (s *Server) openCase(r *http.Request, req caseBody, role grids.Role) (grids.Case, error) {
	if n := len([]rune(req.Description)); n > maxCaseDescription {
		return grids.Case{}, grids.Invalid("description", "%d characters; at most %d", n, maxCaseDescription)
	}
	rr, err := req.routeRequest(r)
	if err != nil {
		return grids.Case{}, err
	}
	if req.Urgency != "" && req.Urgency != grids.UrgencyNormal && req.Urgency != grids.UrgencyUrgent {
		return grids.Case{}, grids.Invalid("urgency", "%q: want normal or urgent", req.Urgency)
	}
	routed, err := s.cfg.Router.Route(r.Context(), rr)
	if err != nil {
		return grids.Case{}, lookupError(err)
	}
	return s.cfg.Cases.OpenCase(r.Context(), grids.NewCase{Routed: routed, Request: rr, Role: role,
		Description: strings.TrimSpace(req.Description), Urgency: req.Urgency})
}

func caseID(r *http.Request) (int64, error) { return pathID(r, "id", "case") }

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	c, err := s.cfg.Cases.Case(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+strconv.Itoa(c.Version)+`"`)
	return s.writeCase(w, r, http.StatusOK, c)
}

// GET /v1/cases?state=&department=&area=&since=&until=&limit=&after=
func (s *Server) listCases(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f grids.CaseFilter
	var err error
	if v := q.Get("state"); v != "" {
		if f.State, err = grids.ParseCaseState(v); err != nil {
			return err
		}
	}
	f.Department = q.Get("department")
	if v := q.Get("area"); v != "" {
		c, err := geo.ParseCode(v)
		if err != nil {
			return grids.Invalid("area", "%v", err)
		}
		f.Area = c
	}
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				return grids.Invalid(name, "%q is not an RFC 3339 time (2026-05-01T08:00:00+08:00)", v)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return grids.Invalid("limit", "%q: want 1 to 1000", v)
		}
	}
	if v := q.Get("after"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterID < 1 {
			return grids.Invalid("after", "%q is not a case id", v)
		}
	}
	cases, err := s.cfg.Cases.Cases(r.Context(), f)
	if err != nil {
		return err
	}
	if cases == nil {
		cases = []grids.Case{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"cases": cases})
}

// POST /v1/cases/{id}/steps {"step", "version"?, "reason"?, "note"?, ...}.
// The version may also come as If-Match (the ETag of GET /v1/cases/{id}).
func (s *Server) postCaseStep(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var req grids.CaseStepRequest
	if err := readJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	if m := r.Header.Get("If-Match"); m != "" && req.Version == 0 {
		v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(m, "W/"), `"`))
		if err != nil {
			return grids.Invalid("If-Match", "%q is not a case version", m)
		}
		req.Version = v
	}
	p, _ := principalOf(r)
	c, err := s.cfg.Cases.StepCase(r.Context(), id, req, grids.CaseActor{Name: actor(r), Role: p.Role, Department: p.Department})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+strconv.Itoa(c.Version)+`"`)
	return s.writeCase(w, r, http.StatusOK, c)
}
