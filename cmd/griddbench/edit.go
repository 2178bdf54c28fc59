package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// The edit section measures the partition guard on a whole-district write
// (169 communities of 25 grids, 4,225 grids, in one transaction, as the
// builder's full rebuild does) against the same write with the guard's
// triggers disabled, and the latency of a split changeset.
func init() {
	sections["edit"] = section{order: 50, run: benchEdit}
}

const (
	editBenchSide  = 13 // communities per side
	editBenchCells = 5  // cells per community side
	editBenchDLon  = 0.00117
	editBenchDLat  = 0.0009
)

func benchEdit(ctx context.Context, b *bench) error {
	side := editBenchSide
	if b.quick {
		side = 6
	}
	// Divisions: one street per row of communities.
	_, err := b.pool.Exec(ctx, `
		INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区',
			ST_Multi(ST_MakeEnvelope(116.3 - 0.01, 39.8 - 0.01, 116.3 + $1::int * $2::int * $3::float8 + 0.01, 39.8 + $1::int * $2::int * $4::float8 + 0.01, 4326)));
	`, side, editBenchCells, editBenchDLon, editBenchDLat)
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `
		INSERT INTO streets (code, name, parent_code, geom)
		SELECT '110101' || lpad(cj::text, 3, '0'), '街道' || cj, '110101',
			ST_Multi(ST_MakeEnvelope(116.3, 39.8 + (cj - 1) * $2::int * $4::float8, 116.3 + $1::int * $2::int * $3::float8, 39.8 + cj * $2::int * $4::float8, 4326))
		FROM generate_series(1, $1::int) cj`, side, editBenchCells, editBenchDLon, editBenchDLat); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `
		INSERT INTO communities (code, name, parent_code, geom)
		SELECT '110101' || lpad(cj::text, 3, '0') || lpad(ci::text, 3, '0'), '社区' || cj || '-' || ci, '110101' || lpad(cj::text, 3, '0'),
			ST_Multi(ST_MakeEnvelope(116.3 + ((ci - 1) * $2::int) * $3::float8, 39.8 + ((cj - 1) * $2::int) * $4::float8,
			                         116.3 + (ci * $2::int) * $3::float8, 39.8 + (cj * $2::int) * $4::float8, 4326))
		FROM generate_series(1, $1::int) cj, generate_series(1, $1::int) ci`, side, editBenchCells, editBenchDLon, editBenchDLat); err != nil {
		return err
	}
	insertAll := `
		INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		SELECT c || lpad((( $2::int - 1 - j) * $2::int + i + 1)::text, 3, '0'), c, left(c, 9), left(c, 6),
			ST_MakeEnvelope(116.3 + ((ci - 1) * $2::int + i) * $3::float8, 39.8 + ((cj - 1) * $2::int + j) * $4::float8,
			                116.3 + ((ci - 1) * $2::int + i + 1) * $3::float8, 39.8 + ((cj - 1) * $2::int + j + 1) * $4::float8, 4326), 10000
		FROM generate_series(1, $1::int) cj, generate_series(1, $1::int) ci,
			LATERAL (SELECT '110101' || lpad(cj::text, 3, '0') || lpad(ci::text, 3, '0') AS c) cc,
			generate_series(0, $2::int - 1) i, generate_series(0, $2::int - 1) j`
	retireAll := `UPDATE unit_grids SET valid_to = now() WHERE valid_to IS NULL`
	n := side * side * editBenchCells * editBenchCells
	// Without the guard, its triggers are disabled around the timed
	// transaction, not inside it: ALTER TABLE refuses a table with the
	// transaction's deferred trigger events pending.
	guardTriggers := func(on bool) error {
		verb := "DISABLE"
		if on {
			verb = "ENABLE"
		}
		_, err := b.pool.Exec(ctx, `ALTER TABLE unit_grids `+verb+` TRIGGER gridd_partition_guard_ins, `+
			verb+` TRIGGER gridd_partition_guard_upd, `+verb+` TRIGGER gridd_partition_touched`)
		return err
	}
	write := func(guard bool) (time.Duration, error) {
		if !guard {
			if err := guardTriggers(false); err != nil {
				return 0, err
			}
			defer guardTriggers(true)
		}
		return timeIt(func() error {
			return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, retireAll); err != nil {
					return err
				}
				// Codes of a rebuild are new; shift them by the round.
				if _, err := tx.Exec(ctx, `DELETE FROM unit_grids WHERE valid_to IS NOT NULL`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, insertAll, side, editBenchCells, editBenchDLon, editBenchDLat); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `SET CONSTRAINTS ALL IMMEDIATE`)
				return err
			})
		})
	}
	if _, err := write(true); err != nil { // warm up, and the first build
		return fmt.Errorf("first build: %w", err)
	}
	with, err := write(true)
	if err != nil {
		return fmt.Errorf("rebuild with the guard: %w", err)
	}
	without, err := write(false)
	if err != nil {
		return fmt.Errorf("rebuild without the guard: %w", err)
	}
	guard := with - without
	b.add(fmt.Sprintf("district rebuild write, %d grids / %d communities, guard on", n, side*side),
		with.Round(time.Millisecond).String(), without.Round(time.Millisecond).String()+" (guard off)",
		fmt.Sprintf("%.2f×", with.Seconds()/without.Seconds()),
		"guard "+guard.Round(time.Millisecond).String()+" of the 10 s build")

	// A split changeset, end to end, against the bare ST_Split.
	st := postgis.NewStore(b.pool)
	const rounds = 20
	var total, bare time.Duration
	for k := range rounds {
		code := geo.Code(fmt.Sprintf("110101001%03d%03d", k%side+1, 13))
		g, err := st.Grid(ctx, code)
		if err != nil {
			return err
		}
		c := g.Geom.Bound().Center()
		ln := geojson.NewGeometry(orb.LineString{{c[0], c[1] - 0.01}, {c[0], c[1] + 0.01}})
		d, err := timeIt(func() error {
			_, err := st.ApplyChangeset(ctx, "bench", grids.ChangesetRequest{Message: "bench split",
				Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{{Code: code, Version: g.Version}}, Line: ln}}})
			return err
		})
		if err != nil {
			return err
		}
		total += d
		d, err = timeIt(func() error {
			_, err := b.pool.Exec(ctx, `SELECT ST_Split(geom, ST_SetSRID(ST_MakeLine(ST_MakePoint($2, $3), ST_MakePoint($2, $4)), 4326))
				FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, string(code), c[0], c[1]-0.01, c[1]+0.01)
			return err
		})
		if err != nil {
			return err
		}
		bare += d
	}
	b.add("split changeset (guard, history, lineage)", (total / rounds).Round(10*time.Microsecond).String(),
		(bare/rounds).Round(10*time.Microsecond).String()+" (bare ST_Split)",
		fmt.Sprintf("%.0f×", total.Seconds()/bare.Seconds()), "edit visible ≤ 1 s")
	return nil
}
