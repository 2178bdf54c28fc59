package api

import (
	"math"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"gridd/geo"
	"gridd/grids"
)

// GET /v1/departments
func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.cfg.RoutingAdmin.Departments(r.Context())
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []grids.Department{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"departments": ds})
}

// PUT /v1/departments/{code} {"name","contact","territory_code","reason"}
func (s *Server) putDepartment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name          string `json:"name"`
		Contact       string `json:"contact"`
		TerritoryCode string `json:"territory_code"`
		Reason        string `json:"reason"`
	}
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	d := grids.Department{Code: chi.URLParam(r, "code"), Name: body.Name, Contact: body.Contact, TerritoryCode: geo.Code(body.TerritoryCode)}
	created, err := s.cfg.RoutingAdmin.PutDepartment(r.Context(), d, actor(r), body.Reason)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, d)
}

// DELETE /v1/departments/{code}?reason=..
func (s *Server) deleteDepartment(w http.ResponseWriter, r *http.Request) error {
	code, err := pathText(r, "code")
	if err != nil {
		return err
	}
	reason, err := textParam(r.URL.Query(), "reason")
	if err != nil {
		return err
	}
	if err := s.cfg.RoutingAdmin.RetireDepartment(r.Context(), code, actor(r), reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /v1/routing/rules
func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.cfg.RoutingAdmin.Rules(r.Context())
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []grids.Rule{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rules": rs})
}

// POST /v1/routing/rules {"class","kind","scheme"?,"scope","department","priority"?,"note"?,"reason"?}
func (s *Server) postRule(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Class      string `json:"class"`
		Kind       string `json:"kind"`
		Scheme     string `json:"scheme"`
		Scope      string `json:"scope"`
		Department string `json:"department"`
		Priority   int    `json:"priority"`
		Note       string `json:"note"`
		Reason     string `json:"reason"`
	}
	if err := readJSON(w, r, maxSmallBody, &body); err != nil {
		return err
	}
	rule, err := ParseRule(body.Class, body.Kind, body.Scheme, body.Scope, body.Department, body.Priority, body.Note)
	if err != nil {
		return err
	}
	rule, err = s.cfg.RoutingAdmin.AddRule(r.Context(), rule, actor(r), body.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rule)
}

// ParseRule validates a rule as the API and CLI give it.
func ParseRule(class, kind, scheme, scope, department string, priority int, note string) (grids.Rule, error) {
	if priority < math.MinInt32 || priority > math.MaxInt32 {
		return grids.Rule{}, grids.Invalid("priority", "want a whole number from %d to %d, got %d", math.MinInt32, math.MaxInt32, priority)
	}
	if kind == "" {
		return grids.Rule{}, grids.Invalid("kind", "is required for a rule (component or matter)")
	}
	cl, err := grids.DefaultCatalog.Resolve("class", class, kind, scheme, true)
	if err != nil {
		return grids.Rule{}, err
	}
	sc, err := grids.ParseScope(scope)
	if err != nil {
		return grids.Rule{}, err
	}
	if err := grids.CheckDepartment(grids.Department{Code: department, Name: "-"}); err != nil {
		return grids.Rule{}, grids.Invalid("department", "%v", err)
	}
	return grids.Rule{Class: cl, Scope: sc, Department: grids.DepartmentRef{Code: department}, Priority: priority, Note: note}, nil
}

// DELETE /v1/routing/rules/{id}?reason=..
func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return grids.Invalid("id", "%q is not a rule id", chi.URLParam(r, "id"))
	}
	reason, err := textParam(r.URL.Query(), "reason")
	if err != nil {
		return err
	}
	if err := s.cfg.RoutingAdmin.RetireRule(r.Context(), id, actor(r), reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
