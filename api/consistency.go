package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"gridd/grids"
)

// Read-your-writes across instances. Database reads of a token holder go to
// the primary (grids.WithPrimaryReads, set in authenticate), but lookups and
// cached tiles come from the instance's memory, which follows the change log
// of a replica a few milliseconds behind. A successful write answers with
// the primary's WAL position after it (X-Gridd-LSN); a request that sends it
// back (X-Gridd-Min-LSN, or ?min_lsn= where a client cannot set headers, as
// a map's tile URLs) is answered once this instance has applied every
// change up to it, or 503 after maxLSNWait.

const (
	headerLSN    = "X-Gridd-LSN"
	headerMinLSN = "X-Gridd-Min-LSN"
	maxLSNWait   = 2 * time.Second
)

// Consistency gives the WAL positions behind the read-your-writes rule.
type Consistency interface {
	// WritePosition is the primary's WAL position now.
	WritePosition(ctx context.Context) (uint64, error)
	// WaitApplied returns once the instance's lookups and tiles reflect
	// every change committed at or before pos, or ctx's error.
	WaitApplied(ctx context.Context, pos uint64) error
	// Applied is the position the instance has applied up to.
	Applied() uint64
}

// consistency waits for a requested position before the request, and
// reports the position after a successful write.
func (s *Server) consistency(next http.Handler) http.Handler {
	if s.cfg.Consistency == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := r.Header.Get(headerMinLSN)
		if want == "" {
			want = r.URL.Query().Get("min_lsn")
		}
		if want != "" {
			pos, err := grids.ParseLSN(want)
			if err != nil {
				s.writeError(w, r, &Error{Status: http.StatusBadRequest, Code: "invalid",
					Message: headerMinLSN + ": " + err.Error()})
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), maxLSNWait)
			err = s.cfg.Consistency.WaitApplied(ctx, pos)
			cancel()
			if err != nil {
				if r.Context().Err() != nil {
					return
				}
				s.writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "behind", RetryAfter: 1,
					Message: fmt.Sprintf("this instance has applied the changes up to WAL position %s, not yet %s: its read replica is behind; try again shortly",
						grids.FormatLSN(s.cfg.Consistency.Applied()), grids.FormatLSN(pos))})
				return
			}
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(&positionWriter{ResponseWriter: w, r: r, c: s.cfg.Consistency}, r)
		}
	})
}

// positionWriter adds X-Gridd-LSN to a successful write's answer.
type positionWriter struct {
	http.ResponseWriter
	r     *http.Request
	c     Consistency
	wrote bool
}

func (p *positionWriter) WriteHeader(code int) {
	if !p.wrote {
		p.wrote = true
		if code < 400 {
			if pos, err := p.c.WritePosition(p.r.Context()); err == nil {
				p.Header().Set(headerLSN, grids.FormatLSN(pos))
			}
		}
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *positionWriter) Write(b []byte) (int, error) {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

func (p *positionWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
