package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
)

// mountHistory mounts recorded changes and their revert.
func (s *Server) mountHistory(r chi.Router) {
	r.Method(http.MethodGet, "/v1/history", s.handle(s.listHistory))
	r.Method(http.MethodGet, "/v1/history/{id}", s.handle(s.getChange))
	r.Method(http.MethodPost, "/v1/history/{id}/revert", s.handle(s.revertChange))
}

// GET /v1/history?entity=department&code=..: the recorded changes of one
// record, oldest first, each with the id to revert it by.
func (s *Server) listHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "entity", "code"); err != nil {
		return err
	}
	entity, code := q.Get("entity"), q.Get("code")
	if entity == "" {
		return grids.Invalid("entity", "is required: component, department, routing_rule, unit_grid, mgmt_grid, district, street, community or line_layer")
	}
	if code == "" {
		return grids.Invalid("code", "is required: the record's code (a rule's id)")
	}
	hs, err := s.cfg.History.History(r.Context(), entity, code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entity": entity, "code": code, "history": hs})
}

// GET /v1/history/{id}: one recorded change.
func (s *Server) getChange(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "change")
	if err != nil {
		return err
	}
	h, err := s.cfg.History.HistoryEntry(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}

// POST /v1/history/{id}/revert {"reason": ".."}: undoes one change of a
// component (editor) or of a department or routing rule (admin) by applying
// the inverse change; answers 201 with the history entry that records it,
// 409 when the record has changed since or the change is a grid change.
func (s *Server) revertChange(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "change")
	if err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := readOptionalJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	h, err := s.cfg.History.HistoryEntry(r.Context(), id)
	if err != nil {
		return err
	}
	if h.Entity == grids.EntityDepartment || h.Entity == grids.EntityRoutingRule {
		if err := needRole(r, grids.RoleAdmin, "reverting a change to a "+h.Entity); err != nil {
			return err
		}
	}
	out, err := s.cfg.History.RevertChange(r.Context(), id, actor(r), body.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}
