package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"gridd/grids"
)

// switchTokens knows a fixed set of tokens and can play a database that
// is down; it counts the questions it gets.
type switchTokens struct {
	mu    sync.Mutex
	valid map[string]grids.Role
	down  bool
	hang  bool // do not answer until asked to give up, as over a network dropping packets
	asked int
}

func (s *switchTokens) Authenticate(ctx context.Context, secret string) (grids.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if s.hang {
		s.mu.Unlock()
		<-ctx.Done()
		s.mu.Lock()
		return grids.Token{}, ctx.Err()
	}
	if s.down {
		return grids.Token{}, fmt.Errorf("%w: connection refused", grids.ErrUnavailable)
	}
	role, ok := s.valid[secret]
	if !ok {
		return grids.Token{}, grids.ErrNotFound
	}
	return grids.Token{Name: secret, Role: role}, nil
}

func (s *switchTokens) set(down bool) (asked int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	return s.asked
}

// countWarnings is a slog handler counting warnings.
type countWarnings struct {
	mu sync.Mutex
	n  int
}

func (c *countWarnings) Enabled(context.Context, slog.Level) bool { return true }
func (c *countWarnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return nil
}
func (c *countWarnings) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countWarnings) WithGroup(string) slog.Handler      { return c }

func statusWith(t *testing.T, url, token string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// Tokens verified before keep working while the database cannot be asked,
// past the cache's time, with one warning in the log; a token never seen
// gets 503 with Retry-After, not 500; a forgotten cache (a revocation
// announced by the change feed) is not used.
func TestVerifiedTokensSurviveAnOutage(t *testing.T) {
	tokens := &switchTokens{valid: map[string]grids.Role{"gridd_a": grids.RoleViewer, "gridd_b": grids.RoleEditor}}
	warnings := &countWarnings{}
	s := New(Config{Tokens: tokens, TokenCacheTTL: time.Millisecond, Logger: slog.New(warnings)})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	url := ts.URL + "/healthz"

	for _, tok := range []string{"gridd_a", "gridd_b"} {
		if status, _ := statusWith(t, url, tok); status != 200 {
			t.Fatalf("%s with the database up: %d", tok, status)
		}
	}
	time.Sleep(5 * time.Millisecond) // past the cache's time
	before := tokens.set(true)
	for _, tok := range []string{"gridd_a", "gridd_b", "gridd_a", "gridd_b"} {
		if status, _ := statusWith(t, url, tok); status != 200 {
			t.Errorf("%s verified before, with the database down: %d, want 200", tok, status)
		}
	}
	if asked := tokens.set(true) - before; asked != 2 {
		t.Errorf("the database was asked %d times for 2 tokens used twice while down, want 2 (then not again for %v)", asked, staleTokenRecheck)
	}
	if warnings.n != 1 {
		t.Errorf("%d warnings for one outage, want 1", warnings.n)
	}
	status, hdr := statusWith(t, url, "gridd_never_seen")
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") != strconv.Itoa(retryUnavailable) {
		t.Errorf("a token never seen, with the database down: %d, Retry-After %q; want 503 with Retry-After %d",
			status, hdr.Get("Retry-After"), retryUnavailable)
	}
	s.ForgetTokens()
	if status, _ := statusWith(t, url, "gridd_a"); status != http.StatusServiceUnavailable {
		t.Errorf("a forgotten token with the database down: %d, want 503", status)
	}
	tokens.set(false)
	if status, _ := statusWith(t, url, "gridd_a"); status != 200 {
		t.Errorf("gridd_a with the database back: %d", status)
	}
	// A token revoked while it was cached is refused once the database
	// says so.
	tokens.mu.Lock()
	delete(tokens.valid, "gridd_b")
	tokens.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	if status, _ := statusWith(t, url, "gridd_b"); status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d, want 401", status)
	}
	tokens.set(true)
	if status, _ := statusWith(t, url, "gridd_b"); status != http.StatusUnauthorized {
		t.Errorf("a revoked token with the database down: %d, want 401 (it is known to be invalid)", status)
	}
}

// An invalid token is refused from the cache for a while, and the cache
// stays bounded however many invalid tokens arrive, keeping its valid ones.
func TestInvalidTokensCachedInBoundedCache(t *testing.T) {
	tokens := &switchTokens{valid: map[string]grids.Role{"gridd_a": grids.RoleViewer}}
	s := New(Config{Tokens: tokens})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for i := 0; i < 3; i++ {
		if status, _ := statusWith(t, ts.URL+"/healthz", "gridd_bad"); status != http.StatusUnauthorized {
			t.Fatalf("an invalid token: %d, want 401", status)
		}
	}
	if asked := tokens.set(false); asked != 1 {
		t.Errorf("an invalid token used 3 times asked the database %d times, want 1", asked)
	}
	ctx := context.Background()
	if _, err := s.lookupToken(ctx, "gridd_a"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2*maxCachedTokens; i++ {
		s.lookupToken(ctx, "gridd_random_"+strconv.Itoa(i)) //nolint:errcheck // all invalid
	}
	if n := len(s.tokens.entries); n > maxCachedTokens {
		t.Errorf("the token cache holds %d entries, want at most %d", n, maxCachedTokens)
	}
	asked := tokens.set(false)
	if _, err := s.lookupToken(ctx, "gridd_a"); err != nil || tokens.set(false) != asked {
		t.Errorf("the valid token after a flood of invalid ones: %v, asked the database again: %v", err, tokens.set(false) != asked)
	}
}

// A database that does not answer at all does not hold requests with
// tokens: the token check gives up, and a token verified before is used.
func TestTokenCheckGivesUpOnASilentDatabase(t *testing.T) {
	tokens := &switchTokens{valid: map[string]grids.Role{"gridd_a": grids.RoleViewer}}
	s := New(Config{Tokens: tokens, TokenCacheTTL: time.Millisecond})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if status, _ := statusWith(t, ts.URL+"/healthz", "gridd_a"); status != 200 {
		t.Fatalf("with the database up: %d", status)
	}
	time.Sleep(5 * time.Millisecond)
	tokens.mu.Lock()
	tokens.hang = true
	tokens.mu.Unlock()
	start := time.Now()
	if status, _ := statusWith(t, ts.URL+"/healthz", "gridd_a"); status != 200 {
		t.Errorf("a verified token with the database silent: %d, want 200", status)
	}
	if status, hdr := statusWith(t, ts.URL+"/healthz", "gridd_unknown"); status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("a token never seen with the database silent: %d, want 503 with Retry-After", status)
	}
	t.Logf("answered after %v (the token check gives up after %v)", time.Since(start).Round(time.Millisecond), tokenCheckTimeout)
}
