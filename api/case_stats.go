package api

import (
	"net/http"

	"gridd/grids"
)

// GET /v1/cases/stats?from=&to=: the cases opened in [from, to) per week
// and per major class, for the dashboard's charts in one request (dates
// are midnight China time, as in /v1/evaluation).
func (s *Server) caseStats(w http.ResponseWriter, r *http.Request) error {
	st, ok := s.cfg.Cases.(grids.CaseStatser)
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "this server keeps no case statistics"}
	}
	q := r.URL.Query()
	from, err := ParseEvaluationTime("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := ParseEvaluationTime("to", q.Get("to"))
	if err != nil {
		return err
	}
	out, err := st.CaseStats(r.Context(), from, to)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	return writeJSON(w, http.StatusOK, out)
}
