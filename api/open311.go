package api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
	"gridd/grids/catalog"
)

// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2/) on gridd's
// cases, so that 311 apps and client libraries work unchanged:
//
//	GET  /open311/v2/services.json (.xml)   the catalogue's full classes as services
//	GET  /open311/v2/services/{code}.json   a service's definition (no attributes)
//	POST /open311/v2/requests.json          report a problem: opens a case as POST /v1/cases
//	GET  /open311/v2/requests.json          requests by id, service, time and status
//	GET  /open311/v2/requests/{id}.json     one request
//	GET  /open311/v2/tokens/{id}.json       404: gridd answers the request id at once
//
// Service codes are "<scheme>-<kind>-<class>": gb2026-matter-06010 (GB/T
// 47678.5-2026, 5 digits), legacy-component-0101 (CJ/T 214-2007, 4 digits).
// The class code alone is not enough: both standards reuse the same numbers
// for components and for matters (GB/T 47678.5 has 153 such numbers).
//
// A request is a case: service_request_id is the case id; status is
// "closed" for gridd's closed and rejected cases and "open" for every
// other state (the state itself is in service_notice); status_notes is the
// last step's reason or note. A request names nobody: no reporter, no actor
// of a step, nothing the reporter said beyond the description.
//
// The POST's errors are Open311's: an array [{"code": status,
// "description": "..."}] with the HTTP status (400 a missing or bad field,
// 401 no api_key, 403 an invalid api_key or one without the reporter role,
// 404 a location outside every grid). The reads' errors (404 an unknown
// service, request or token, 400 a bad filter) have the statuses Open311
// gives them and gridd's error body, which the OpenAPI document describes
// for every route (Open311 clients read the status of a failed GET: the
// npm client reads nothing else).
//
// The face is mounted when Config.Cases also implements Open311Store (the
// PostGIS store does).

// Open311Store is what the Open311 face reads beyond grids.CaseStore
// (grids/postgis/open311.go implements it); Config.Cases provides it.
type Open311Store interface {
	// Open311Cases lists cases newest first, at most limit: by ids when
	// given (nothing else applies), else by classes and states (any when
	// empty) and created time in [since, until) (zero: no bound).
	Open311Cases(ctx context.Context, ids []int64, classes []grids.Class, states []grids.CaseState,
		since, until time.Time, limit int) ([]grids.Case, error)
	// CaseLastSteps is the last step taken on each case (none for a case
	// only reported).
	CaseLastSteps(ctx context.Context, ids []int64) (map[int64]grids.CaseEvent, error)
	// DivisionNames are the current names of division codes.
	DivisionNames(ctx context.Context, codes []string) (map[string]string, error)
}

// Limits of GET /open311/v2/requests.json: without a time, the last 90
// days; at most 1000 requests (the spec's defaults).
const (
	open311DefaultSpan = 90 * 24 * time.Hour
	open311MaxRequests = 1000
)

// mountOpen311 mounts the Open311 face when the case store can serve it.
func (s *Server) mountOpen311(r chi.Router) {
	if _, ok := s.cfg.Cases.(Open311Store); !ok || s.cfg.Router == nil {
		return
	}
	r.Method(http.MethodGet, "/open311/v2/services.json", s.handle(s.open311Services))
	r.Method(http.MethodGet, "/open311/v2/services.xml", s.handle(s.open311Services))
	r.Method(http.MethodGet, "/open311/v2/services/{code}.json", s.handle(s.open311Service))
	r.Method(http.MethodPost, "/open311/v2/requests.json", s.open311(s.postOpen311Request))
	r.Method(http.MethodGet, "/open311/v2/requests.json", s.handle(s.listOpen311Requests))
	r.Method(http.MethodGet, "/open311/v2/requests/{id}.json", s.handle(s.getOpen311Request))
	r.Method(http.MethodGet, "/open311/v2/tokens/{id}.json", s.handle(s.getOpen311Token))
}

func (s *Server) open311Store() Open311Store { return s.cfg.Cases.(Open311Store) }

// open311Error is one entry of an Open311 error answer.
type open311Error struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// open311 adapts a handler: its error is written as Open311's array of
// errors, with the status gridd gives it.
func (s *Server) open311(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		status, _, msg := statusOf(err)
		msg = clipMessage(msg)
		if status >= 500 {
			s.log.LogAttrs(r.Context(), slog.LevelError, "request_failed",
				slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		}
		if secs := retryAfter(err); secs > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridd"`)
		}
		writeJSON(w, status, []open311Error{{Code: status, Description: msg}}) //nolint:errcheck
	}
}

func writeOpen311XML(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	if _, err := w.Write([]byte(xml.Header)); err != nil {
		return err
	}
	return xml.NewEncoder(w).Encode(v)
}

func notFound311(format string, args ...any) error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Services.

// open311Svc is a service of the list.
type open311Svc struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

// serviceCode is a class's Open311 service code.
func serviceCode(cl grids.Class) string { return cl.Scheme + "-" + cl.Kind + "-" + cl.Code }

// parseServiceCode reads a service code back: a full class of the
// catalogue.
func parseServiceCode(code string) (grids.ClassInfo, bool) {
	parts := strings.Split(code, "-")
	if len(parts) != 3 {
		return grids.ClassInfo{}, false
	}
	ci, ok := grids.DefaultCatalog.Lookup(grids.Class{Scheme: parts[0], Kind: parts[1], Code: parts[2]})
	if !ok || ci.Major() {
		return grids.ClassInfo{}, false
	}
	return ci, true
}

var standardNames = map[string]string{grids.SchemeGB2026: "GB/T 47678.5-2026", grids.SchemeLegacy: "CJ/T 214-2007"}
var kindNames = map[string]string{grids.KindMatter: "matter (事项)", grids.KindComponent: "component (部件)"}

func newOpen311Svc(ci grids.ClassInfo) open311Svc {
	return open311Svc{
		ServiceCode: serviceCode(ci.Class),
		ServiceName: ci.Name,
		Description: fmt.Sprintf("%s %s class %s %s, major class %s %s", standardNames[ci.Scheme], kindNames[ci.Kind],
			ci.Code, ci.Name, ci.Code[:2], ci.MajorName),
		Type:     "realtime",
		Keywords: strings.Join([]string{ci.Name, ci.MajorName, ci.Code, ci.Kind, ci.Scheme}, ", "),
		Group:    ci.MajorName,
	}
}

// open311Services is every full class of the catalogue as a service:
// GB/T 47678.5-2026 first, then the legacy classes, each components first
// in the directory's order.
var open311Services = sync.OnceValue(func() []open311Svc {
	var out []open311Svc
	add := func(scheme string, kind catalog.Kind, code string) {
		if ci, ok := grids.DefaultCatalog.Lookup(grids.Class{Scheme: scheme, Kind: string(kind), Code: code}); ok {
			out = append(out, newOpen311Svc(ci))
		}
	}
	for _, cl := range catalog.Classes() {
		add(grids.SchemeGB2026, cl.Kind, cl.Code)
	}
	for _, cl := range catalog.LegacyClasses() {
		add(grids.SchemeLegacy, cl.Kind, cl.Code)
	}
	return out
})

// GET /open311/v2/services.json (or .xml).
func (s *Server) open311Services(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", s.cacheControl(300))
	if strings.HasSuffix(r.URL.Path, ".xml") {
		return writeOpen311XML(w, http.StatusOK, struct {
			XMLName  xml.Name `xml:"services"`
			Services []open311Svc
		}{Services: open311Services()})
	}
	return writeJSON(w, http.StatusOK, open311Services())
}

// GET /open311/v2/services/{code}.json: no service takes attributes.
func (s *Server) open311Service(w http.ResponseWriter, r *http.Request) error {
	code := chi.URLParam(r, "code")
	ci, ok := parseServiceCode(code)
	if !ok {
		return notFound311("no service %q: codes are <scheme>-<kind>-<class>, e.g. gb2026-matter-06010 (GET services.json lists them)", code)
	}
	w.Header().Set("Cache-Control", s.cacheControl(300))
	return writeJSON(w, http.StatusOK, map[string]any{"service_code": serviceCode(ci.Class), "attributes": []any{}})
}

// Requests.

// open311Principal is who posts a request: the token of the Authorization
// (or X-API-Key) header, which the authenticate middleware verified, else
// the form's api_key, as Open311 clients send it, verified here. It needs
// the reporter role: no token is a 401, an unknown, revoked or weaker one
// a 403.
func (s *Server) open311Principal(r *http.Request) (principal, error) {
	p, ok := principalOf(r)
	if !ok {
		key := strings.TrimSpace(r.PostFormValue("api_key"))
		if key == "" {
			return p, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "api_key is required: a gridd API token with role reporter or above"}
		}
		var err error
		if p, err = s.lookupToken(r.Context(), key); err != nil {
			if errors.Is(err, grids.ErrNotFound) {
				return p, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "invalid api_key: the token is unknown or revoked"}
			}
			return p, err
		}
	}
	if p.Role < grids.RoleReporter {
		return p, &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "api_key " + p.Name + " has role " + p.Role.String() + "; reporting needs reporter or above"}
	}
	return p, nil
}

// POST /open311/v2/requests.json, form-encoded: service_code, lat and long
// (WGS-84), description, api_key; address_string, address_id, media_url,
// email, device_id, account_id, first_name, last_name, phone and
// attribute[...] are accepted and not kept (gridd locates by the point, and
// keeps no personal data of the public). The case is opened as POST
// /v1/cases opens it: routed, then stored by Cases.OpenCase.
func (s *Server) postOpen311Request(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxSmallBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxSmallBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the form is larger than %d bytes", maxSmallBody)}
		}
		return grids.Invalid("body", "not a form (application/x-www-form-urlencoded): %v", err)
	}
	p, err := s.open311Principal(r)
	if err != nil {
		return err
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))

	code := strings.TrimSpace(r.PostFormValue("service_code"))
	if code == "" {
		return grids.Invalid("service_code", "is required (GET services.json lists them)")
	}
	ci, ok := parseServiceCode(code)
	if !ok {
		return grids.Invalid("service_code", "no service %q: codes are <scheme>-<kind>-<class>, e.g. gb2026-matter-06010 (GET services.json lists them)", code)
	}
	var body caseBody
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"lat", &body.Lat}, {"long", &body.Lon}} {
		v := strings.TrimSpace(r.PostFormValue(f.name))
		if v == "" {
			return grids.Invalid(f.name, "is required: gridd routes a request by its point (lat and long, WGS-84); an address alone cannot be located")
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return grids.Invalid(f.name, "%q is not a number", v)
		}
		*f.dst = &x
	}
	body.Class, body.Kind = ci.Code, ci.Kind
	body.Description = strings.TrimSpace(r.PostFormValue("description"))
	c, err := s.openCase(r, body, p.Role)
	if err != nil {
		return err
	}
	notice := fmt.Sprintf("Received as case %d in unit grid %s", c.ID, c.Grid)
	if c.Routed != nil {
		notice += ", for " + departmentName(c.Routed)
	}
	notice += "; the supervision centre files it next."
	if n := len(c.Duplicates); n > 0 {
		notice += fmt.Sprintf(" %d open request(s) nearby may be the same problem.", n)
	}
	return writeJSON(w, http.StatusCreated, []map[string]any{{
		"service_request_id": strconv.FormatInt(c.ID, 10), "service_notice": notice, "account_id": nil, "token": nil,
	}})
}

func departmentName(d *grids.DepartmentRef) string {
	if d.Name != "" {
		return d.Name
	}
	return d.Code
}

// open311Request is a request as GET requests.json answers it.
type open311Request struct {
	ServiceRequestID  string  `json:"service_request_id"`
	Status            string  `json:"status"`
	StatusNotes       string  `json:"status_notes"`
	ServiceName       string  `json:"service_name"`
	ServiceCode       string  `json:"service_code"`
	Description       string  `json:"description"`
	AgencyResponsible string  `json:"agency_responsible"`
	ServiceNotice     string  `json:"service_notice"`
	RequestedDatetime string  `json:"requested_datetime"`
	UpdatedDatetime   string  `json:"updated_datetime"`
	Address           string  `json:"address"`
	AddressID         string  `json:"address_id"`
	Lat               float64 `json:"lat"`
	Long              float64 `json:"long"`
}

// open311Status is a state as Open311 says it.
func open311Status(st grids.CaseState) string {
	if st.Open() {
		return "open"
	}
	return "closed"
}

// statusNotes says where a case stands in words: the last step's reason
// or note, why a rejected case was rejected, or what the step did.
func statusNotes(c grids.Case, last grids.CaseEvent, stepped bool) string {
	text := last.Reason
	if text == "" {
		text = last.Note
	}
	if c.State == grids.CaseRejected {
		if c.RejectKind == grids.RejectDuplicate {
			s := fmt.Sprintf("Rejected: a duplicate of request %d.", c.DuplicateOf)
			if text != "" {
				s += " " + text
			}
			return s
		}
		return strings.TrimSpace("Rejected: not in scope. " + text)
	}
	if text != "" {
		return text
	}
	if !stepped {
		return "Reported; waiting to be filed by the supervision centre."
	}
	switch grids.CaseStep(last.Step) {
	case grids.StepFile:
		return "Filed as a case; waiting to be dispatched."
	case grids.StepDispatch:
		if c.Department != nil {
			return "Dispatched to " + departmentName(c.Department) + "."
		}
		return "Dispatched."
	case grids.StepVerify:
		return "Checked on site: fixed; waiting to be closed."
	case grids.StepClose:
		return "Closed after the on-site check."
	case grids.StepResume:
		return "Resumed."
	}
	return "Now " + string(c.State) + "."
}

// open311Requests makes cases requests.
func (s *Server) open311Requests(ctx context.Context, st Open311Store, cases []grids.Case) ([]open311Request, error) {
	out := []open311Request{}
	if len(cases) == 0 {
		return out, nil
	}
	ids := make([]int64, len(cases))
	codeSet := map[string]bool{}
	for i, c := range cases {
		ids[i] = c.ID
		codeSet[c.District], codeSet[c.Street], codeSet[c.Community] = true, true, true
	}
	steps, err := st.CaseLastSteps(ctx, ids)
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(codeSet))
	for c := range codeSet {
		codes = append(codes, c)
	}
	names, err := st.DivisionNames(ctx, codes)
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		last, stepped := steps[c.ID]
		agency := ""
		if c.Department != nil {
			agency = departmentName(c.Department)
		} else if c.Routed != nil {
			agency = departmentName(c.Routed)
		}
		out = append(out, open311Request{
			ServiceRequestID:  strconv.FormatInt(c.ID, 10),
			Status:            open311Status(c.State),
			StatusNotes:       statusNotes(c, last, stepped),
			ServiceName:       c.Class.Name,
			ServiceCode:       serviceCode(c.Class.Class),
			Description:       c.Description,
			AgencyResponsible: agency,
			ServiceNotice:     "gridd case state: " + string(c.State),
			RequestedDatetime: c.Created.UTC().Format(time.RFC3339),
			UpdatedDatetime:   c.Updated.UTC().Format(time.RFC3339),
			Address:           names[c.District] + names[c.Street] + names[c.Community],
			AddressID:         string(c.Grid),
			Lat:               c.Location[1],
			Long:              c.Location[0],
		})
	}
	return out, nil
}

// parseOpen311Time reads start_date and end_date: W3C date and time
// (RFC 3339, or without seconds, or a date).
func parseOpen311Time(name, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, grids.Invalid(name, "%q is not a W3C date and time (2026-05-01T08:00:00+08:00)", v)
}

// GET /open311/v2/requests.json?service_request_id=&service_code=&start_date=&end_date=&status=
// service_request_id (comma-separated) overrides the other filters; empty
// parameters are absent. Without dates: the last 90 days.
func (s *Server) listOpen311Requests(w http.ResponseWriter, r *http.Request) error {
	st := s.open311Store()
	q := r.URL.Query()
	var ids []int64
	for _, v := range strings.Split(q.Get("service_request_id"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return grids.Invalid("service_request_id", "%q is not a request id", v)
		}
		ids = append(ids, id)
	}
	if len(ids) > open311MaxRequests {
		return grids.Invalid("service_request_id", "%d ids; at most %d", len(ids), open311MaxRequests)
	}
	var classes []grids.Class
	for _, v := range strings.Split(q.Get("service_code"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		ci, ok := parseServiceCode(v)
		if !ok {
			return grids.Invalid("service_code", "no service %q (GET services.json lists them)", v)
		}
		classes = append(classes, ci.Class)
	}
	var states []grids.CaseState
	for _, v := range strings.Split(q.Get("status"), ",") {
		switch strings.TrimSpace(strings.ToLower(v)) {
		case "":
		case "open":
			for _, st := range grids.CaseStates {
				if st.Open() {
					states = append(states, st)
				}
			}
		case "closed":
			states = append(states, grids.CaseRejected, grids.CaseClosed)
		default:
			return grids.Invalid("status", "%q: want open or closed (comma-separated)", v)
		}
	}
	var since, until time.Time
	var err error
	if v := strings.TrimSpace(q.Get("start_date")); v != "" {
		if since, err = parseOpen311Time("start_date", v); err != nil {
			return err
		}
	}
	if v := strings.TrimSpace(q.Get("end_date")); v != "" {
		if until, err = parseOpen311Time("end_date", v); err != nil {
			return err
		}
	}
	if since.IsZero() {
		end := until
		if end.IsZero() {
			end = time.Now()
		}
		since = end.Add(-open311DefaultSpan)
	}
	cases, err := st.Open311Cases(r.Context(), ids, classes, states, since, until, open311MaxRequests)
	if err != nil {
		return err
	}
	reqs, err := s.open311Requests(r.Context(), st, cases)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reqs)
}

// GET /open311/v2/requests/{id}.json: an array of the one request.
func (s *Server) getOpen311Request(w http.ResponseWriter, r *http.Request) error {
	st := s.open311Store()
	v := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return notFound311("no request %q", v)
	}
	cases, err := st.Open311Cases(r.Context(), []int64{id}, nil, nil, time.Time{}, time.Time{}, 1)
	if err != nil {
		return err
	}
	if len(cases) == 0 {
		return notFound311("no request %d", id)
	}
	reqs, err := s.open311Requests(r.Context(), st, cases)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reqs)
}

// GET /open311/v2/tokens/{id}.json: gridd issues no tokens, since POST
// requests.json answers the service_request_id at once; every token is
// unknown.
func (s *Server) getOpen311Token(w http.ResponseWriter, r *http.Request) error {
	return notFound311("gridd issues no tokens: POST requests.json answers the service_request_id directly")
}

// open311Param is an Open311 query parameter for the OpenAPI document
// (apiQueryParams), named explicitly where its name is taken by another
// meaning there (status).
func open311Param(name, desc string) map[string]any {
	p := qp(desc, str())
	p["name"] = name
	return p
}
