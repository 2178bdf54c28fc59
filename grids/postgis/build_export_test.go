package postgis

import (
	"context"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PrepareQueries prepares every embedded query whose name starts with
// prefix on one connection, after creating the temporary tables the code
// creates before running them, and returns each query's error (nil when it
// prepared).
func PrepareQueries(ctx context.Context, pool *pgxpool.Pool, prefix string) (map[string]error, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if err := stageLines(ctx, conn.Conn(), nil); err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := stageBuild(ctx, tx, nil, nil); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(queryFS, "queries")
	if err != nil {
		return nil, err
	}
	out := map[string]error{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		_, out[name] = tx.Prepare(ctx, name, query(name))
	}
	return out, nil
}
