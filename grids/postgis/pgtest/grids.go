package pgtest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/wkb"

	"gridd/geo"
)

// CopyGrids bulk-loads unit grids straight into unit_grids (COPY into a
// staging table, then one INSERT), bypassing the builder and the history.
// Tests and the benchmark use it to set up data; the change feed fires as
// for any other insert.
func CopyGrids(ctx context.Context, pool *pgxpool.Pool, gs []geo.IndexGrid) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE staged_grids (code text, wkb bytea, area double precision, version int) ON COMMIT DROP`); err != nil {
			return err
		}
		i := 0
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"staged_grids"}, []string{"code", "wkb", "area", "version"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == len(gs) {
					return nil, nil
				}
				g := gs[i]
				i++
				b, err := wkb.Marshal(g.Polygon)
				if err != nil {
					return nil, fmt.Errorf("grid %s: %w", g.Code, err)
				}
				v := g.Version
				if v < 1 {
					v = 1
				}
				return []any{string(g.Code), b, g.AreaM2, v}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy grids: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2, version)
			SELECT code, left(code, 12), left(code, 9), left(code, 6), ST_GeomFromWKB(wkb, 4326), area, version FROM staged_grids`)
		if err != nil {
			return fmt.Errorf("insert grids: %w", err)
		}
		return nil
	})
}
