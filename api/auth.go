package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"sync"
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
	Name       string
	Role       grids.Role
	Department string // a department token's department
}

type principalKey struct{}

// principalOf returns the request's authenticated token, if any.
func principalOf(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(principal)
	return p, ok
}

// DefaultTokenCacheTTL is how long a verified token is used without asking
// the database again (Config.TokenCacheTTL). It bounds how long a revoked
// token keeps working on an instance that has just seen it when nothing
// calls ForgetTokens; gridd serve calls it on every change to api_tokens the
// change feed announces, so there a revocation takes effect at once.
const DefaultTokenCacheTTL = 30 * time.Second

// invalidTokenTTL is how long an unknown or revoked token is refused
// without asking the database again.
const invalidTokenTTL = 10 * time.Second

// staleTokenRecheck is how often, while the database cannot say, a request
// with a token verified earlier asks it again (the others use the earlier
// answer).
const staleTokenRecheck = 5 * time.Second

// tokenCheckTimeout bounds asking the database about a token: a database
// that does not answer (a network that drops packets) costs a request at
// most this long before an earlier answer is used or the request gets 503.
const tokenCheckTimeout = 2 * time.Second

// maxCachedTokens bounds the token cache: requests with ever new invalid
// tokens cannot grow it past this many entries.
const maxCachedTokens = 10_000

// ForgetTokens empties the cache of recently seen tokens: the next request
// with each token checks it against the database again.
func (s *Server) ForgetTokens() { s.tokens.Clear() }

// tokenCache remembers the answers the database gave for tokens: valid ones
// (with their principal) and invalid ones, each until exp. An expired valid
// entry is kept: it answers for its token while the database cannot.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]cachedToken
	// stale is set while expired entries answer for an unreachable
	// database, so that it is logged once per outage.
	stale bool
}

type cachedToken struct {
	p     principal
	valid bool
	exp   time.Time
}

func (c *tokenCache) get(key [sha256.Size]byte) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok
}

// put stores an entry. When the cache is full, the invalid entries go
// first, then arbitrary ones.
func (c *tokenCache) put(key [sha256.Size]byte, e cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[[sha256.Size]byte]cachedToken{}
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= maxCachedTokens {
		for k, old := range c.entries {
			if !old.valid {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < maxCachedTokens {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
}

// Clear forgets every entry.
func (c *tokenCache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// setStale records whether expired entries are answering for the database
// and reports whether that just began.
func (c *tokenCache) setStale(stale bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	began := stale && !c.stale
	c.stale = stale
	return began
}

// tokenTTL is how long a verified token is used without asking again.
func (s *Server) tokenTTL() time.Duration {
	if s.cfg.TokenCacheTTL > 0 {
		return s.cfg.TokenCacheTTL
	}
	return DefaultTokenCacheTTL
}

// authenticate reads "Authorization: Bearer SECRET" (or "X-API-Key", or
// HTTP Basic with the token as the password, which is what clients without
// a header setting can send: QGIS before 3.30 has only a Basic
// authentication configuration) and puts the token's principal in the
// request's context. A token that is given but not valid is refused with
// 401 on every route.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := r.Header.Get("X-API-Key")
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, rest, _ := strings.Cut(h, " ")
			switch {
			case strings.EqualFold(scheme, "Bearer"):
				secret = strings.TrimSpace(rest)
			case strings.EqualFold(scheme, "Basic"):
				_, pass, ok := r.BasicAuth()
				if !ok || pass == "" {
					s.writeError(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
						Message: "Authorization: Basic needs the API token as the password (any user name)"})
					return
				}
				secret = pass
			default:
				s.writeError(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Authorization must be \"Bearer TOKEN\" (or Basic with the token as the password)"})
				return
			}
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
		// Read-your-writes: what a token holder reads comes from the
		// primary, even on an instance that reads the map from a replica.
		ctx := grids.WithPrimaryReads(context.WithValue(r.Context(), principalKey{}, p))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) lookupToken(ctx context.Context, secret string) (principal, error) {
	if s.cfg.Tokens == nil {
		return principal{}, grids.ErrNotFound
	}
	key := sha256.Sum256([]byte(secret))
	c, cached := s.tokens.get(key)
	if cached && time.Now().Before(c.exp) {
		if !c.valid {
			return principal{}, grids.ErrNotFound
		}
		return c.p, nil
	}
	actx, cancel := context.WithTimeout(ctx, tokenCheckTimeout)
	t, err := s.cfg.Tokens.Authenticate(actx, secret)
	cancel()
	switch {
	case err == nil:
		p := principal{Name: t.Name, Role: t.Role, Department: t.Department}
		s.tokens.put(key, cachedToken{p: p, valid: true, exp: time.Now().Add(s.tokenTTL())})
		s.tokens.setStale(false)
		return p, nil
	case errors.Is(err, grids.ErrNotFound):
		s.tokens.put(key, cachedToken{exp: time.Now().Add(invalidTokenTTL)})
		return principal{}, err
	case cached && c.valid && ctx.Err() == nil:
		// The database could not answer (down, busy). A token it verified
		// before keeps working: a revocation since would have reached this
		// instance through the change feed and emptied the cache.
		c.exp = time.Now().Add(staleTokenRecheck)
		s.tokens.put(key, c)
		if s.tokens.setStale(true) {
			s.log.Warn("token_check_failed_using_cached_tokens", "error", err.Error())
		}
		return c.p, nil
	}
	return principal{}, err
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
