package api

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
)

// Reporters' satisfaction (满意度): POST /v1/cases/{id}/satisfaction
// {"rating": "satisfied" | "basically_satisfied" | "dissatisfied",
// "comment"?} once a case is closed, by the reporter who reported it (a
// reporter token of the same name) or a supervisor (or admin) on their
// behalf; once per case. 201 with the rating as stored; 403 for another
// reporter or role, 409 for a case not closed or rated already, 400 for a
// rating not one of the three. The rating is logged as a 'rate' event of
// the case, and the evaluation's satisfaction is the share of ratings
// satisfied or basically satisfied.
func (s *Server) mountCaseSatisfaction(r chi.Router) {
	if _, ok := s.cfg.Cases.(grids.CaseRater); !ok {
		return
	}
	r.Method(http.MethodPost, "/v1/cases/{id}/satisfaction", s.handle(s.postCaseSatisfaction))
}

func (s *Server) postCaseSatisfaction(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var req grids.SatisfactionRequest
	if err := readJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	if err := grids.CheckSatisfaction(req); err != nil {
		return err
	}
	p, _ := principalOf(r)
	sat, err := s.cfg.Cases.(grids.CaseRater).RateCase(r.Context(), id, req, grids.CaseActor{Name: actor(r), Role: p.Role, Department: p.Department})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/cases/"+strconv.FormatInt(id, 10))
	return writeJSON(w, http.StatusCreated, sat)
}
