package api

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
)

// idParam reads the route's positive numeric {id}; what names its kind in
// the error ("changeset", "change").
func idParam(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return 0, grids.Invalid("id", "%q is not a %s id", chi.URLParam(r, "id"), what)
	}
	return id, nil
}

// POST /v1/changesets: {"message": "...", "operations": [...]}, applied all
// or nothing. 201 with the changeset and its result (created, changed,
// retired, warnings); 412 with the current versions when an operation was
// made against an old one; 422 when the partition would break; 400 for a
// bad request or a hard-limit violation.
func (s *Server) postChangeset(w http.ResponseWriter, r *http.Request) error {
	var req grids.ChangesetRequest
	if err := readJSON(w, r, maxEditBody, &req); err != nil {
		return err
	}
	cs, err := s.cfg.Editor.ApplyChangeset(r.Context(), actor(r), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/changesets/"+strconv.FormatInt(cs.ID, 10))
	return writeJSON(w, http.StatusCreated, cs)
}

// GET /v1/changesets/{id}.
func (s *Server) getChangeset(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "changeset")
	if err != nil {
		return err
	}
	cs, err := s.cfg.Editor.Changeset(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cs)
}

// POST /v1/changesets/{id}/revert, optional body {"message": "..."}: the
// inverse as a new changeset (201), or 409 when later changes touched its
// grids.
func (s *Server) revertChangeset(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "changeset")
	if err != nil {
		return err
	}
	var req struct {
		Message string `json:"message"`
	}
	if err := readOptionalJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	cs, err := s.cfg.Editor.RevertChangeset(r.Context(), actor(r), id, req.Message)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/changesets/"+strconv.FormatInt(cs.ID, 10))
	return writeJSON(w, http.StatusCreated, cs)
}
