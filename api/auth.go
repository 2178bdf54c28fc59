package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"time"

	"gridd/grids"
)

// Tokens is what authentication needs.
type Tokens interface {
	Authenticate(ctx context.Context, secret string) (grids.Token, error)
}

// Who made a request: the token's name and role. Requests without a token
// have no principal.
type principal struct {
	Name string
	Role grids.Role
}

type principalKey struct{}

// principalOf returns the request's authenticated token, if any.
func principalOf(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(principal)
	return p, ok
}

// tokenCacheTTL bounds how long a revoked token keeps working on an
// instance that has just seen it, when nothing calls ForgetTokens. gridd
// serve calls it on every change to api_tokens the change feed announces,
// so there a revocation takes effect at once.
const tokenCacheTTL = 30 * time.Second

// ForgetTokens empties the cache of recently seen tokens: the next request
// with each token checks it against the database again.
func (s *Server) ForgetTokens() { s.tokens.Clear() }

type cachedToken struct {
	p   principal
	exp time.Time
}

// authenticate reads "Authorization: Bearer SECRET" (or "X-API-Key") and
// puts the token's principal in the request's context. A token that is
// given but not valid is refused with 401 on every route.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := r.Header.Get("X-API-Key")
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, rest, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				s.writeError(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Authorization must be \"Bearer TOKEN\""})
				return
			}
			secret = strings.TrimSpace(rest)
		}
		if secret == "" {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.lookupToken(r.Context(), secret)
		if err != nil {
			if errors.Is(err, grids.ErrNotFound) {
				err = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the API token is not valid (unknown or revoked)"}
			}
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (s *Server) lookupToken(ctx context.Context, secret string) (principal, error) {
	if s.cfg.Tokens == nil {
		return principal{}, grids.ErrNotFound
	}
	key := sha256.Sum256([]byte(secret))
	if v, ok := s.tokens.Load(key); ok {
		c := v.(cachedToken)
		if time.Now().Before(c.exp) {
			return c.p, nil
		}
		s.tokens.Delete(key)
	}
	t, err := s.cfg.Tokens.Authenticate(ctx, secret)
	if err != nil {
		return principal{}, err
	}
	p := principal{Name: t.Name, Role: t.Role}
	s.tokens.Store(key, cachedToken{p: p, exp: time.Now().Add(tokenCacheTTL)})
	return p, nil
}

// Require wraps a handler so that only tokens with at least the role reach
// it: no token gives 401, a weaker role 403. Routes need no wrap: the access
// table (access.go) decides for each; Require is for a handler that needs
// more than its route's rule.
func (s *Server) Require(role grids.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := needRole(r, role, "this"); err != nil {
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// needRole is nil when the request's token has at least role: no token is
// a 401, a weaker role a 403. what names the guarded action in the 403.
func needRole(r *http.Request, role grids.Role, what string) error {
	p, ok := principalOf(r)
	if !ok {
		return &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
			Message: "this needs an API token with role " + role.String() + " (Authorization: Bearer TOKEN)"}
	}
	if p.Role < role {
		return &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "token " + p.Name + " has role " + p.Role.String() + "; " + what + " needs " + role.String()}
	}
	return nil
}

// actor is the name the history records for the request's writes.
func actor(r *http.Request) string {
	if p, ok := principalOf(r); ok {
		return "token:" + p.Name
	}
	return "anonymous"
}
