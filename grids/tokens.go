package grids

import (
	"context"
	"fmt"
	"time"
)

// Role is what an API token may do. Each role includes the ones below it:
// viewer < reporter < editor < admin.
type Role int

// The roles.
const (
	// RoleViewer reads the map, grids, history and changesets.
	RoleViewer Role = iota + 1
	// RoleReporter also looks up and routes reports.
	RoleReporter
	// RoleEditor also edits grids and components.
	RoleEditor
	// RoleAdmin also edits divisions, departments, rules and tokens.
	RoleAdmin
)

var roleNames = map[Role]string{RoleViewer: "viewer", RoleReporter: "reporter", RoleEditor: "editor", RoleAdmin: "admin"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, Invalid("role", "unknown role %q; want viewer, reporter, editor or admin", s)
}

// Token is an API token as stored (its secret is never stored, only a hash).
type Token struct {
	Name    string     `json:"name"`
	Role    Role       `json:"-"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// TokenStore keeps API tokens.
type TokenStore interface {
	// CreateToken stores a new token and returns its secret, which is shown
	// once and cannot be recovered.
	CreateToken(ctx context.Context, name string, role Role) (string, error)
	// Authenticate returns the live token whose secret this is, or
	// ErrNotFound.
	Authenticate(ctx context.Context, secret string) (Token, error)
	RevokeToken(ctx context.Context, name string) error
	Tokens(ctx context.Context) ([]Token, error)
}
