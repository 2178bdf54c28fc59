// Package postgis is gridd's PostGIS adapter: the embedded migrations, the
// Store that implements the domain's storage interfaces, and the SQL behind
// them. PostGIS is the system of record; everything gridd knows lives here.
package postgis

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
)

// Store is the PostGIS-backed storage of gridd.
type Store struct {
	pool       *pgxpool.Pool
	editLimits grids.Limits
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{pool: pool}, nil
}

// NewStore wraps an existing pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool exposes the connection pool to the adapter's other parts (the change
// feed, the tile source) and to tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close releases the connections.
func (s *Store) Close() { s.pool.Close() }

// Ready reports whether the database answers and its schema is current.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	pending, err := Pending(ctx, s.pool)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("schema not current: %d migration(s) pending, first %s", len(pending), pending[0])
	}
	return nil
}

// inTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// translate maps driver errors onto the domain's error kinds.
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return grids.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", grids.ErrConflict, pgErr.Detail)
		case "23514", "23502", "22P02": // check, not null, invalid text
			return &grids.InvalidError{Reason: pgErr.Message}
		}
	}
	return err
}
