package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
	"gridd/grids/catalog"
)

// Classes is what the class endpoints need.
type Classes interface {
	Classes(ctx context.Context, kind catalog.Kind, major string) ([]catalog.Class, error)
	Class(ctx context.Context, kind catalog.Kind, code string) (catalog.Class, error)
	LegacyClass(ctx context.Context, kind catalog.Kind, code string) (catalog.LegacyClass, error)
}

func (s *Server) mountClasses(r chi.Router) {
	r.Method(http.MethodGet, "/v1/classes", s.handle(s.listClasses))
	r.Method(http.MethodGet, "/v1/classes/{code}", s.handle(s.getClass))
}

// kindParam reads ?kind=component|matter (also event), def when absent.
func kindParam(r *http.Request, def catalog.Kind) (catalog.Kind, error) {
	k := r.URL.Query().Get("kind")
	if k == "" {
		return def, nil
	}
	kind, err := catalog.ParseKind(k)
	if err != nil {
		return "", grids.Invalid("kind", "%v", err)
	}
	return kind, nil
}

// GET /v1/classes[?kind=component|matter&major=01]: the class catalogue.
func (s *Server) listClasses(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r, "")
	if err != nil {
		return err
	}
	major := r.URL.Query().Get("major")
	if major != "" && (len(major) != 2 || !digits(major)) {
		return grids.Invalid("major", "want a 2-digit major class code, got %q", major)
	}
	cs, err := s.cfg.Classes.Classes(r.Context(), kind, major)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []catalog.Class{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"standard": catalog.Standard, "classes": cs})
}

// GET /v1/classes/{code}[?kind=component|matter]: a 5-digit class, or a
// 4-digit legacy (CJ/T 214) class with its crosswalk to the new directory.
// The kind defaults to component: legacy components and events share codes.
func (s *Server) getClass(w http.ResponseWriter, r *http.Request) error {
	code := chi.URLParam(r, "code")
	kind, err := kindParam(r, catalog.Component)
	if err != nil {
		return err
	}
	switch {
	case len(code) == 5 && digits(code):
		c, err := s.cfg.Classes.Class(r.Context(), kind, code)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	case len(code) == 4 && digits(code):
		l, err := s.cfg.Classes.LegacyClass(r.Context(), kind, code)
		if err != nil {
			return err
		}
		out := map[string]any{"legacy": l}
		if l.NewCode != "" {
			c, err := s.cfg.Classes.Class(r.Context(), kind, l.NewCode)
			if err != nil {
				return err
			}
			out["class"] = c
		}
		return writeJSON(w, http.StatusOK, out)
	}
	return grids.Invalid("code", "want a 5-digit class code (%s) or a 4-digit legacy code (CJ/T 214), got %q", catalog.Standard, code)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
