package postgis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// tokenPrefix marks gridd's secrets, so that they are easy to recognise in
// logs and secret scanners.
const tokenPrefix = "gridd_"

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken implements grids.TokenStore: 32 random bytes, stored as their
// SHA-256.
func (s *Store) CreateToken(ctx context.Context, name string, role grids.Role) (string, error) {
	if role == grids.RoleDepartment {
		return "", grids.Invalid("role", "a department token names its department (gridd token create --role department --department CODE)")
	}
	return s.createToken(ctx, name, role, nil)
}

// CreateDepartmentToken implements grids.TokenStore: a department token for
// a current department.
func (s *Store) CreateDepartmentToken(ctx context.Context, name, department string) (string, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1 AND valid_to IS NULL)`, department).Scan(&ok); err != nil {
		return "", translateCtx(ctx, err)
	}
	if !ok {
		return "", grids.Invalid("department", "no current department %q", department)
	}
	return s.createToken(ctx, name, grids.RoleDepartment, &department)
}

func (s *Store) createToken(ctx context.Context, name string, role grids.Role, department *string) (string, error) {
	if _, err := grids.ParseRole(role.String()); err != nil {
		return "", grids.Invalid("role", "unknown role %v", role)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (name, role, hash, department_code) VALUES ($1, $2, $3, $4)`,
		name, role.String(), hashSecret(secret), department)
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, translate(err))
	}
	return secret, nil
}

// wellFormed reports whether secret has the shape CreateToken gives every
// secret: the prefix and 32 bytes in unpadded base64url.
func wellFormed(secret string) bool {
	body, ok := strings.CutPrefix(secret, tokenPrefix)
	if !ok || len(body) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(body)
	return err == nil
}

// Authenticate implements grids.TokenStore. A secret that is not shaped
// like one of gridd's is refused without asking the database, so that a
// stream of made-up tokens costs no queries (and is refused as such while
// the database is down).
func (s *Store) Authenticate(ctx context.Context, secret string) (grids.Token, error) {
	var t grids.Token
	if !wellFormed(secret) {
		return t, grids.ErrNotFound
	}
	var role string
	err := s.pool.QueryRow(ctx, `SELECT name, role, created, coalesce(department_code, '') FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL`,
		hashSecret(secret)).Scan(&t.Name, &role, &t.Created, &t.Department)
	if err != nil {
		return t, translate(err)
	}
	t.Role, err = grids.ParseRole(role)
	return t, err
}

// RevokeToken implements grids.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL`, name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("token %q: %w", name, grids.ErrNotFound)
	}
	return nil
}

// Tokens implements grids.TokenStore: every token, live and revoked.
func (s *Store) Tokens(ctx context.Context) ([]grids.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, role, created, revoked_at, coalesce(department_code, '') FROM api_tokens ORDER BY name, created`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.Token, error) {
		var t grids.Token
		var role string
		if err := r.Scan(&t.Name, &role, &t.Created, &t.Revoked, &t.Department); err != nil {
			return t, err
		}
		t.Role, err = grids.ParseRole(role)
		return t, err
	})
}

var _ grids.TokenStore = (*Store)(nil)
