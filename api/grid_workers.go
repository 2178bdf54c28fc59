package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
)

// Grid workers (网格员) and their duties over HTTP, for the supervision and
// command centre's staff: who works, on which management grid, from when to
// when. Reading needs a viewer token (names and telephone numbers are
// personal); changing needs a dispatcher. Every change goes into the history with the
// token's actor and the reason given.
func (s *Server) mountGridWorkers(r chi.Router) {
	r.Method(http.MethodGet, "/v1/grid-workers", s.handle(s.listGridWorkers))
	r.Method(http.MethodPost, "/v1/grid-workers", s.handle(s.addGridWorker))
	r.Method(http.MethodGet, "/v1/grid-workers/{id}/duties", s.handle(s.listDuties))
	r.Method(http.MethodPost, "/v1/grid-workers/{id}/duties", s.handle(s.assignDuty))
	r.Method(http.MethodPost, "/v1/grid-workers/{id}/leave", s.handle(s.retireGridWorker))
	r.Method(http.MethodPost, "/v1/grid-worker-duties/{id}/end", s.handle(s.endDuty))
}

// GET /v1/grid-workers[?mgmt_grid=CODE]: the current workers; with a
// management grid, those with a duty on it that has not ended.
func (s *Server) listGridWorkers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "mgmt_grid"); err != nil {
		return err
	}
	ws, err := s.cfg.WorkerStore.Workers(r.Context(), strings.TrimSpace(q.Get("mgmt_grid")))
	if err != nil {
		return err
	}
	if ws == nil {
		ws = []grids.GridWorker{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"workers": ws})
}

// POST /v1/grid-workers {"name","phone","role","reason"}
func (s *Server) addGridWorker(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name   string `json:"name"`
		Phone  string `json:"phone"`
		Role   string `json:"role"`
		Reason string `json:"reason"`
	}
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	gw, err := grids.CheckGridWorker(grids.GridWorker{Name: body.Name, Phone: body.Phone, Role: body.Role})
	if err != nil {
		return err
	}
	gw, err = s.cfg.WorkerStore.AddWorker(r.Context(), gw, actor(r), reasonOr(body.Reason, "grid worker added"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/grid-workers/"+strconv.FormatInt(gw.ID, 10)+"/duties")
	return writeJSON(w, http.StatusCreated, gw)
}

// GET /v1/grid-workers/{id}/duties: the worker's duties, oldest first.
func (s *Server) listDuties(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "grid worker")
	if err != nil {
		return err
	}
	ds, err := s.cfg.WorkerStore.Duties(r.Context(), id)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []grids.Duty{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"duties": ds})
}

// POST /v1/grid-workers/{id}/duties {"mgmt_grid","from","to","reason"}:
// from and to are RFC 3339 times; to may be left out (open-ended).
func (s *Server) assignDuty(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "grid worker")
	if err != nil {
		return err
	}
	var body struct {
		MgmtGrid string     `json:"mgmt_grid"`
		From     *time.Time `json:"from"`
		To       *time.Time `json:"to"`
		Reason   string     `json:"reason"`
	}
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	d := grids.Duty{WorkerID: id, MgmtGrid: body.MgmtGrid, Ends: body.To}
	if body.From != nil {
		d.Starts = *body.From
	}
	if d, err = grids.CheckDuty(d); err != nil {
		return err
	}
	d, err = s.cfg.WorkerStore.AssignDuty(r.Context(), d, actor(r), reasonOr(body.Reason, "grid worker assigned"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

// POST /v1/grid-worker-duties/{id}/end {"at","reason"}: the duty ends at
// at (default now).
func (s *Server) endDuty(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "duty")
	if err != nil {
		return err
	}
	at, reason, err := readWhen(w, r, "grid worker duty ended")
	if err != nil {
		return err
	}
	d, err := s.cfg.WorkerStore.EndDuty(r.Context(), id, at, actor(r), reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// POST /v1/grid-workers/{id}/leave {"at","reason"}: the worker leaves at
// at (default now); their running duties end then, later ones are
// cancelled.
func (s *Server) retireGridWorker(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "grid worker")
	if err != nil {
		return err
	}
	at, reason, err := readWhen(w, r, "grid worker left")
	if err != nil {
		return err
	}
	gw, err := s.cfg.WorkerStore.RetireWorker(r.Context(), id, at, actor(r), reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, gw)
}

// readWhen reads a body {"at", "reason"}: at defaults to now, reason to
// def.
func readWhen(w http.ResponseWriter, r *http.Request, def string) (time.Time, string, error) {
	var body struct {
		At     *time.Time `json:"at"`
		Reason string     `json:"reason"`
	}
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return time.Time{}, "", err
	}
	at := time.Now()
	if body.At != nil {
		at = *body.At
	}
	return at, reasonOr(body.Reason, def), nil
}

func reasonOr(reason, def string) string {
	if strings.TrimSpace(reason) == "" {
		return def
	}
	return reason
}
