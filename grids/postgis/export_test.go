package postgis

import (
	"context"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// EditRunning runs an edit of the community the way every changeset begins
// (its transaction and budget, the community's editing lock, the changeset
// row) and then, holding the lock, the statement stmt in place of the
// operations: a stand-in for an edit whose geometry work is slow.
func (s *Store) EditRunning(ctx context.Context, community, stmt string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.beginEdit(ctx, tx, "tester", "slow edit", []grids.Operation{}, []string{community}, nil); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, stmt)
		return err
	})
}

// ReadLog reads the change log once from *cursor, as Listen does.
func (s *Store) ReadLog(ctx context.Context, cursor *string, fn func(grids.Change)) error {
	return s.readLog(ctx, cursor, fn)
}
