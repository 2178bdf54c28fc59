package grids

import (
	"context"
	"fmt"
	"time"
)

// Role is what an API token may do. Each role includes what the ones below
// it may do with the map: viewer < reporter < supervisor < department <
// dispatcher < editor < admin. The steps of a case are not ordered so: each
// belongs to one role (and to admin), see CaseStepTo.
type Role int

// The roles.
const (
	// RoleViewer reads the map, grids, history and changesets.
	RoleViewer Role = iota + 1
	// RoleReporter also looks up and routes reports and reports cases.
	RoleReporter
	// RoleSupervisor (监督员) also checks handled cases on site.
	RoleSupervisor
	// RoleDepartment handles the cases dispatched to its department (the
	// token names the department).
	RoleDepartment
	// RoleDispatcher (supervision and command centres) files, rejects,
	// dispatches, suspends, extends and closes cases.
	RoleDispatcher
	// RoleEditor also edits grids and components.
	RoleEditor
	// RoleAdmin also edits divisions, departments, rules and tokens, and
	// may take every step of a case.
	RoleAdmin
)

var roleNames = map[Role]string{RoleViewer: "viewer", RoleReporter: "reporter", RoleSupervisor: "supervisor",
	RoleDepartment: "department", RoleDispatcher: "dispatcher", RoleEditor: "editor", RoleAdmin: "admin"}

// Roles lists every role, weakest first.
var Roles = []Role{RoleViewer, RoleReporter, RoleSupervisor, RoleDepartment, RoleDispatcher, RoleEditor, RoleAdmin}

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
	return 0, Invalid("role", "unknown role %q; want viewer, reporter, supervisor, department, dispatcher, editor or admin", s)
}

// Token is an API token as stored (its secret is never stored, only a hash).
type Token struct {
	Name string `json:"name"`
	Role Role   `json:"-"`
	// Department is the department a department token acts for.
	Department string     `json:"department,omitempty"`
	Created    time.Time  `json:"created"`
	Revoked    *time.Time `json:"revoked,omitempty"`
}

// TokenStore keeps API tokens.
type TokenStore interface {
	// CreateToken stores a new token and returns its secret, which is shown
	// once and cannot be recovered.
	CreateToken(ctx context.Context, name string, role Role) (string, error)
	// CreateDepartmentToken is CreateToken for a department token, which
	// acts for the department with that code.
	CreateDepartmentToken(ctx context.Context, name, department string) (string, error)
	// Authenticate returns the live token whose secret this is, or
	// ErrNotFound.
	Authenticate(ctx context.Context, secret string) (Token, error)
	RevokeToken(ctx context.Context, name string) error
	Tokens(ctx context.Context) ([]Token, error)
}
