package api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"gridd/grids"
)

// Error is an HTTP error with its status and a stable code, for cases the
// domain's error kinds do not cover (401, 403, 412, 503...).
type Error struct {
	Status  int
	Code    string
	Message string
	// Details, when set, is sent as the error's "details" (for a 412, the
	// current versions).
	Details any
	// RetryAfter, when positive, is sent as Retry-After (seconds): the
	// request may succeed if repeated then (a 503 for a busy or unreachable
	// database, a full queue).
	RetryAfter int
}

func (e *Error) Error() string { return e.Message }

// errorBody is the one shape every error response has.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details any    `json:"details,omitempty"`
	} `json:"error"`
}

// handlerFunc is a handler that returns its error to the one adapter that
// writes statuses.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// statusOf maps an error onto a status, a code and a message safe to show.
func statusOf(err error) (int, string, string) {
	var apiErr *Error
	var stale *grids.StaleError
	var verr *grids.VersionError
	var part *grids.PartitionError
	var inv *grids.InvalidError
	var rej *grids.RejectedError
	var refused *grids.BuildError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status, apiErr.Code, apiErr.Message
	case errors.Is(err, grids.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable", "the database is unavailable; try again shortly"
	case errors.Is(err, grids.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "busy",
			"the database is busy: the work ran out of time or waited too long for a lock another writer holds; try again shortly"
	case errors.Is(err, context.Canceled):
		return statusClientClosed, "canceled", "the client closed the request"
	case errors.As(err, &stale):
		return http.StatusPreconditionFailed, "stale_version", stale.Error()
	case errors.As(err, &verr):
		return http.StatusPreconditionFailed, "stale_version", verr.Error()
	case errors.As(err, &part):
		return http.StatusUnprocessableEntity, "partition", part.Error()
	case errors.As(err, &inv):
		return http.StatusBadRequest, "invalid", inv.Error()
	case errors.As(err, &rej):
		return http.StatusUnprocessableEntity, "rejected", rej.Error()
	case errors.As(err, &refused):
		return http.StatusUnprocessableEntity, "build_refused", refused.Error()
	case errors.Is(err, grids.ErrNotFound):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.Is(err, grids.ErrOutside):
		return http.StatusNotFound, "outside", err.Error()
	case errors.Is(err, grids.ErrConflict):
		return http.StatusConflict, "conflict", err.Error()
	case errors.Is(err, grids.ErrForbidden):
		return http.StatusForbidden, "forbidden", err.Error()
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

// statusClientClosed is the status logged and counted for a request whose
// client went away before the answer (nginx's 499); nobody reads it.
const statusClientClosed = 499

// Retry-After (seconds) for a database that cannot be reached (a restart
// takes seconds) and for one that is busy (edits wait at most a few seconds
// for their locks).
const (
	retryUnavailable = 5
	retryBusy        = 2
)

// retryAfter is the Retry-After, in seconds, of an error worth repeating
// later, else 0.
func retryAfter(err error) int {
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr.RetryAfter
	case errors.Is(err, grids.ErrUnavailable):
		return retryUnavailable
	case errors.Is(err, grids.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		return retryBusy
	}
	return 0
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := statusOf(err)
	msg = clipMessage(msg)
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request_failed",
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, msg
	var apiErr *Error
	var stale *grids.StaleError
	var verr *grids.VersionError
	if errors.As(err, &apiErr) {
		body.Error.Details = apiErr.Details
	} else if errors.As(err, &stale) {
		body.Error.Details = stale
	} else if errors.As(err, &verr) {
		body.Error.Details = verr
	}
	if secs := retryAfter(err); secs > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gridd"`)
	}
	if wantsExceptionReport(r) {
		writeExceptionReport(w, status, code, msg)
		return
	}
	writeJSON(w, status, body) //nolint:errcheck
}

// wantsExceptionReport is true for an OGC API request from QGIS, or from a
// client that asks for XML and not JSON. QGIS shows only the status line of
// a refused request ("Bad Request") unless the body is an OWS
// ExceptionReport: then it shows "exception report (code=partition
// text=...)", which says what was wrong. QGIS's writes send no Accept
// header at all, so it is known by its user agent ("Mozilla/5.0
// QGIS/32216").
func wantsExceptionReport(r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/ogc") {
		return false
	}
	if strings.Contains(r.UserAgent(), " QGIS/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "xml") && !strings.Contains(accept, "json")
}

// writeExceptionReport writes an error as an OWS 2.0 ExceptionReport.
func writeExceptionReport(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	var text strings.Builder
	xml.EscapeText(&text, []byte(msg)) //nolint:errcheck
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<ExceptionReport xmlns="http://www.opengis.net/ows/2.0" version="2.0.0" xml:lang="en">
  <Exception exceptionCode="%s"><ExceptionText>%s</ExceptionText></Exception>
</ExceptionReport>
`, code, text.String())
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeGeoJSON writes a GeoJSON document with its media type.
func writeGeoJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
