package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"gridd/grids"
)

// Database trouble reaches clients as 503 with Retry-After and a stable
// code, however deeply the store wrapped it, and without its details (a
// connection error names the database's host and user).
func TestDatabaseErrorsAreRetryable(t *testing.T) {
	s := New(Config{})
	for _, tc := range []struct {
		err    error
		status int
		code   string
		retry  int
	}{
		{fmt.Errorf("grid 110101001007001: %w", fmt.Errorf("%w: failed to connect to `user=gridd database=gridd`", grids.ErrUnavailable)),
			http.StatusServiceUnavailable, "unavailable", retryUnavailable},
		{fmt.Errorf("changeset: %w: lock community 110101001007: canceling statement due to lock timeout", grids.ErrBusy),
			http.StatusServiceUnavailable, "busy", retryBusy},
		{fmt.Errorf("render: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "busy", retryBusy},
		{fmt.Errorf("%w: %w", context.Canceled, errors.New("canceling statement due to user request")), statusClientClosed, "canceled", 0},
		{&Error{Status: http.StatusServiceUnavailable, Code: "busy", Message: "full", RetryAfter: 7}, http.StatusServiceUnavailable, "busy", 7},
		{errors.New("boom"), http.StatusInternalServerError, "internal", 0},
	} {
		w := httptest.NewRecorder()
		s.writeError(w, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
		retry := ""
		if tc.retry > 0 {
			retry = strconv.Itoa(tc.retry)
		}
		body := w.Body.String()
		if w.Code != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) || w.Header().Get("Retry-After") != retry {
			t.Errorf("%v: %d %s Retry-After %q, want %d %s Retry-After %q", tc.err, w.Code, body, w.Header().Get("Retry-After"), tc.status, tc.code, retry)
		}
		if strings.Contains(body, "user=") || strings.Contains(body, "lock community") {
			t.Errorf("%v: the answer shows the database's details: %s", tc.err, body)
		}
	}
}
