package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/geo"
)

// IndexInput reads what the in-memory grid index is built from, in one
// repeatable-read snapshot: the current unit grids, the names of the current
// divisions, and the current management grids with their member grid codes.
// MapVersion is read in the same snapshot, so it names the newest change the
// snapshot holds.
func (s *Store) IndexInput(ctx context.Context) (geo.IndexInput, error) {
	return s.indexInput(ctx, nil)
}

// IndexInputIn is IndexInput for the current unit grids whose boxes meet
// area (a superset of those whose geometry does), with the names and
// management grids they need.
func (s *Store) IndexInputIn(ctx context.Context, area orb.Bound) (geo.IndexInput, error) {
	return s.indexInput(ctx, &area)
}

func (s *Store) indexInput(ctx context.Context, within *orb.Bound) (geo.IndexInput, error) {
	in := geo.IndexInput{Names: map[geo.Code]string{}, Mgmt: map[geo.Code][]geo.Named{}}
	where, args := "", []any{}
	if within != nil {
		where = " AND geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)"
		args = []any{within.Min[0], within.Min[1], within.Max[0], within.Max[1]}
	}
	// Reading a large map takes seconds: it has a build's budget.
	begin := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = " + millis(s.timeouts.Work)
	err := pgx.BeginTxFunc(ctx, s.readDB(), pgx.TxOptions{BeginQuery: begin}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT gridd_map_version()`).Scan(&in.MapVersion); err != nil {
			return fmt.Errorf("read map version: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT code, ST_AsBinary(geom), area_m2, version FROM unit_grids WHERE valid_to IS NULL`+where, args...)
		if err != nil {
			return fmt.Errorf("read unit grids: %w", err)
		}
		var code string
		var wkbGeom []byte
		var area float64
		var version int
		_, err = pgx.ForEachRow(rows, []any{&code, &wkbGeom, &area, &version}, func() error {
			g, err := fromWKB(wkbGeom)
			if err != nil {
				return fmt.Errorf("grid %s: %w", code, err)
			}
			poly, ok := g.(orb.Polygon)
			if !ok {
				return fmt.Errorf("grid %s: geometry is a %s, want a Polygon", code, g.GeoJSONType())
			}
			in.Grids = append(in.Grids, geo.IndexGrid{Code: geo.Code(code), Polygon: poly, AreaM2: area, Version: version})
			return nil
		})
		if err != nil {
			return fmt.Errorf("read unit grids: %w", err)
		}
		divWhere, divArgs := "", []any{}
		memberWhere, memberArgs := "", []any{}
		if within != nil {
			var codes, divs []string
			seen := map[geo.Code]bool{}
			for _, g := range in.Grids {
				codes = append(codes, string(g.Code))
				for _, l := range []geo.Level{geo.District, geo.Street, geo.Community} {
					if c := g.Code.At(l); !seen[c] {
						seen[c] = true
						divs = append(divs, string(c))
					}
				}
			}
			divWhere, divArgs = " AND code = ANY($1)", []any{divs}
			memberWhere, memberArgs = " AND m.grid_code = ANY($1)", []any{codes}
		}
		rows, err = tx.Query(ctx, `SELECT code, name FROM divisions WHERE valid_to IS NULL`+divWhere, divArgs...)
		if err != nil {
			return fmt.Errorf("read division names: %w", err)
		}
		var name string
		_, err = pgx.ForEachRow(rows, []any{&code, &name}, func() error {
			in.Names[geo.Code(code)] = name
			return nil
		})
		if err != nil {
			return fmt.Errorf("read division names: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT m.grid_code, g.code, g.name
			FROM mgmt_grid_members m JOIN mgmt_grids g ON g.id = m.mgmt_grid_id
			WHERE g.valid_to IS NULL`+memberWhere+` ORDER BY g.code`, memberArgs...)
		if err != nil {
			return fmt.Errorf("read management grids: %w", err)
		}
		var grid, mcode string
		_, err = pgx.ForEachRow(rows, []any{&grid, &mcode, &name}, func() error {
			in.Mgmt[geo.Code(grid)] = append(in.Mgmt[geo.Code(grid)], geo.Named{Code: mcode, Name: name})
			return nil
		})
		if err != nil {
			return fmt.Errorf("read management grids: %w", err)
		}
		return nil
	})
	return in, translateCtx(ctx, err)
}

// BuildIndex reads the current grids in one repeatable-read snapshot, as
// IndexInput does, and streams them into a geo.IndexBuilder as the rows
// arrive: each row's WKB is read from the driver's buffer straight into the
// index's coordinates, so no Go value of the map is ever held beside the
// index. The grid count and coordinate total are read first, in the same
// snapshot, to size the index once.
func (s *Store) BuildIndex(ctx context.Context) (*geo.Index, error) {
	var ix *geo.Index
	begin := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = " + millis(s.timeouts.Work)
	err := pgx.BeginTxFunc(ctx, s.readDB(), pgx.TxOptions{BeginQuery: begin}, func(tx pgx.Tx) error {
		var version int64
		var grids, coords int
		if err := tx.QueryRow(ctx, `SELECT gridd_map_version(), count(*), coalesce(sum(2*ST_NPoints(geom) - ST_NRings(geom) + 1), 0)
			FROM unit_grids WHERE valid_to IS NULL`).Scan(&version, &grids, &coords); err != nil {
			return fmt.Errorf("read map version: %w", err)
		}
		b := geo.NewIndexBuilder(grids, coords, version)
		rows, err := tx.Query(ctx, `SELECT code, name FROM divisions WHERE valid_to IS NULL`)
		if err != nil {
			return fmt.Errorf("read division names: %w", err)
		}
		var code, name string
		_, err = pgx.ForEachRow(rows, []any{&code, &name}, func() error {
			b.SetName(geo.Code(code), name)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read division names: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT m.grid_code, g.code, g.name
			FROM mgmt_grid_members m JOIN mgmt_grids g ON g.id = m.mgmt_grid_id
			WHERE g.valid_to IS NULL ORDER BY g.code`)
		if err != nil {
			return fmt.Errorf("read management grids: %w", err)
		}
		var grid, mcode string
		_, err = pgx.ForEachRow(rows, []any{&grid, &mcode, &name}, func() error {
			b.AddMgmt(geo.Code(grid), geo.Named{Code: mcode, Name: name})
			return nil
		})
		if err != nil {
			return fmt.Errorf("read management grids: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT code, ST_AsBinary(geom), area_m2, version FROM unit_grids WHERE valid_to IS NULL`)
		if err != nil {
			return fmt.Errorf("read unit grids: %w", err)
		}
		defer rows.Close()
		var area float64
		var ver int
		for rows.Next() {
			// The code and the WKB are read in place (valid until the
			// next row); the numbers are scanned.
			if err := rows.Scan(nil, nil, &area, &ver); err != nil {
				return fmt.Errorf("read unit grids: %w", err)
			}
			raw := rows.RawValues()
			if err := b.AddWKB(raw[0], raw[1], area, ver); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read unit grids: %w", err)
		}
		ix, err = b.Build()
		return err
	})
	return ix, translateCtx(ctx, err)
}
