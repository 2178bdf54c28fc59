package api

import (
	"net/http"

	"gridd/grids"
)

// The supervision centre's table of time limits (处置时限): GET
// /v1/case-time-limits lists it (defaults have no class), PUT replaces it
// whole with {"limits": [...]} (an admin's), checked first: every stage
// needs a default for both urgencies, classes must be in the catalogue,
// limits in the work-clock notation (1wh, 2wd, 4h, 30m, 3d). Cases keep
// their deadlines; stages started afterwards take the new limits.

type timeLimitsBody struct {
	Limits []grids.TimeLimit `json:"limits"`
}

func (s *Server) timeLimitStore() (grids.TimeLimitStore, error) {
	st, ok := s.cfg.Cases.(grids.TimeLimitStore)
	if !ok {
		return nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "this server keeps no time limits"}
	}
	return st, nil
}

func (s *Server) getTimeLimits(w http.ResponseWriter, r *http.Request) error {
	st, err := s.timeLimitStore()
	if err != nil {
		return err
	}
	ls, err := st.TimeLimits(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, timeLimitsBody{Limits: ls})
}

func (s *Server) putTimeLimits(w http.ResponseWriter, r *http.Request) error {
	st, err := s.timeLimitStore()
	if err != nil {
		return err
	}
	var body timeLimitsBody
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	if err := st.ReplaceTimeLimits(r.Context(), body.Limits); err != nil {
		return err
	}
	return s.getTimeLimits(w, r)
}
