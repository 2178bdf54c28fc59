// Package pgtest gives each test its own PostGIS database, cloned from a
// template that holds the current migrations.
//
// The server comes from GRIDD_TEST_DATABASE_URL, else DATABASE_URL (make test
// provisions one and sets it). With no server, tests skip, except when CI is
// set: then they fail, so CI can never pass without the database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids/postgis"
)

// templateLock serialises template creation across test processes.
const templateLock = 7_242_002

// AdminURL returns the server's URL, or skips/fails the test when none is
// configured or reachable.
func AdminURL(t testing.TB) string {
	t.Helper()
	dbURL := os.Getenv("GRIDD_TEST_DATABASE_URL")
	if dbURL == "" {
		dbURL = os.Getenv("DATABASE_URL")
	}
	if dbURL == "" {
		unavailable(t, "no GRIDD_TEST_DATABASE_URL or DATABASE_URL (make test provides one)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		unavailable(t, fmt.Sprintf("PostGIS unreachable at %s: %v", dbURL, err))
	}
	conn.Close(ctx)
	return dbURL
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and the test database is not available: %s", why)
	}
	t.Skipf("test database not available: %s", why)
}

// NewURL creates a fresh migrated database for the test, dropped when the
// test ends, and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	ctx := context.Background()
	tmpl, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("test database template: %v", err)
	}
	name := "gridd_t_" + randomHex(6)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
	})
	return withDatabase(admin, name)
}

// New returns a pool on a fresh migrated database for the test.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), NewURL(t))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ensureTemplate creates, once per set of migrations, a database holding the
// migrated schema, named after the migrations' hash.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	name := "gridd_tmpl_" + postgis.SchemaHash()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", templateLock) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, withDatabase(admin, building))
	if err != nil {
		return "", err
	}
	_, err = postgis.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return name, nil
}

// withDatabase returns the URL with its database name replaced.
func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck
	return hex.EncodeToString(b)
}
