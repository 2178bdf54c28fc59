package api

import (
	"net/http"
	"strings"
)

// Versioned resources (grids and components) carry their version as a
// strong ETag, "vN". A write names the version it was made against in
// If-Match; the store compares it in the write's transaction and a stale one
// is a 412 with the current version in the error's details. A malformed
// If-Match is a 400. Whether a write without If-Match is refused (428)
// depends on the endpoint: the REST PUTs of grids and components require
// it; OGC API Part 4 edits and deletes take it when sent (QGIS sends none).

// ifMatch is the version a conditional write names in If-Match: 0 when the
// request has none or If-Match: * (any current version).
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	return parseETag(h)
}

// requireIfMatch is ifMatch for writes that must name a version: a request
// without If-Match is a 428 naming where the ETag comes from.
func requireIfMatch(r *http.Request, what, from string) (int, error) {
	if strings.TrimSpace(r.Header.Get("If-Match")) == "" {
		return 0, &Error{Status: http.StatusPreconditionRequired, Code: "precondition_required",
			Message: what + " needs If-Match with the ETag from GET " + from}
	}
	return ifMatch(r)
}

// notModified sets the ETag of the version about to be served and reports
// whether the request's If-None-Match already names it, in which case it
// has answered 304.
func notModified(w http.ResponseWriter, r *http.Request, version int) bool {
	tag := etag(version)
	w.Header().Set("ETag", tag)
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}
