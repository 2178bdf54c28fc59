package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// The partition section measures what partitioning unit_grids by district
// code would change (issue: scale-out), before the schema takes it: ten
// synthetic districts (translated copies of the demo district, one each)
// are built into the single table, one of them is rebuilt (at alternate
// target areas, so that every grid is rewritten) and its table vacuumed;
// then unit_grids is converted in place into a table partitioned BY LIST
// (district_code), a partition per district, and the same work is timed
// again on the same data. Both phases start vacuumed and analysed, and
// analyse after building. It runs with -large (about 15 minutes here) or
// -only partition.
func init() {
	sections["partition"] = section{order: 15, run: benchPartition, large: true}
}

// partitionSQL converts unit_grids into a table partitioned by district,
// with the same columns, checks, triggers and, keyed by the district too,
// the same unique keys (after the code, so that lookups by code keep their
// index).
var partitionSQL = partitionByDistrictSQL("unit_grids", "SELECT code FROM districts WHERE valid_to IS NULL",
	"ALTER TABLE unit_grids ADD PRIMARY KEY (id, district_code)",
	"CREATE UNIQUE INDEX unit_grids_code_version ON unit_grids (code, version, district_code)",
	"CREATE UNIQUE INDEX unit_grids_current_code ON unit_grids (code, district_code) WHERE valid_to IS NULL",
	"CREATE INDEX unit_grids_community ON unit_grids (community_code) WHERE valid_to IS NULL",
	"CREATE INDEX unit_grids_geom ON unit_grids USING gist (geom) WHERE valid_to IS NULL",
	"CREATE INDEX unit_grids_geom_3857 ON unit_grids USING gist (geom_3857) WHERE valid_to IS NULL")

// partitionByDistrictSQL converts table in place into a table partitioned
// BY LIST (district_code), keeping its columns, checks, defaults, generated
// columns, triggers, sequence and the functions taking its row type: the
// old table and its indexes are renamed *_single, the new one gets the keys
// and indexes given, a partition for each code the districts query lists
// and a default partition, and the rows are copied.
func partitionByDistrictSQL(table, districts string, keys ...string) string {
	sql := `
DO $$
DECLARE
    r record;
    cols text;
BEGIN
    ALTER TABLE TBL RENAME TO TBL_single;
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = 'TBL_single'::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, r.relname || '_single');
    END LOOP;
    CREATE TABLE TBL (LIKE TBL_single INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)
        PARTITION BY LIST (district_code);
    KEYS;
    FOR r IN DISTRICTS LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF TBL FOR VALUES IN (%L)', 'TBL_' || r.code, r.code);
    END LOOP;
    CREATE TABLE TBL_default PARTITION OF TBL DEFAULT;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute
    WHERE attrelid = 'TBL_single'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
    EXECUTE format('INSERT INTO TBL (%s) SELECT %s FROM TBL_single', cols, cols);
    FOR r IN SELECT oid FROM pg_trigger WHERE tgrelid = 'TBL_single'::regclass AND NOT tgisinternal LOOP
        EXECUTE replace(pg_get_triggerdef(r.oid), ' ON public.TBL_single ', ' ON public.TBL ');
    END LOOP;
    ALTER SEQUENCE TBL_id_seq OWNED BY TBL.id;
    -- Functions taking the row type follow the table.
    FOR r IN SELECT p.oid FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
             WHERE d.refobjid = (SELECT reltype FROM pg_class WHERE oid = 'TBL_single'::regclass) LOOP
        EXECUTE replace(pg_get_functiondef(r.oid), 'TBL_single', 'TBL');
        EXECUTE format('DROP FUNCTION %s', r.oid::regprocedure);
    END LOOP;
    DROP TABLE TBL_single;
END $$;
ANALYZE TBL;`
	sql = strings.ReplaceAll(sql, "KEYS", strings.Join(keys, ";\n    "))
	sql = strings.ReplaceAll(sql, "DISTRICTS", districts)
	return strings.ReplaceAll(sql, "TBL", table)
}

func benchPartition(ctx context.Context, b *bench) error {
	st := postgis.NewStore(b.pool)
	if err := loadBenchDemo(ctx, st); err != nil {
		return err
	}
	n := 10
	if b.quick {
		n = 3
	}
	districts, err := tileDemoBy(ctx, b, n, 1)
	if err != nil {
		return err
	}
	// build builds every district and returns the seconds it took and the
	// grids it made.
	build := func() (float64, int, error) {
		created := 0
		d, err := timeIt(func() error {
			for _, code := range districts {
				r, err := st.Build(ctx, grids.BuildRequest{Area: geo.Code(code), Actor: "bench"}, nil)
				if err != nil {
					return fmt.Errorf("build %s: %w", code, err)
				}
				created += r.Created
			}
			return nil
		})
		if err == nil {
			// As autovacuum would soon after: the rebuilds are planned on
			// the built districts' statistics.
			_, err = b.pool.Exec(ctx, "ANALYZE")
		}
		return d.Seconds(), created, err
	}
	// rebuild rebuilds the first district b.runs times at alternate
	// targets (every grid rewritten), then vacuums unit_grids (the single
	// table, or the district's partition) and reports the medians.
	rebuild := func(vacuumTable string) (stat, stat, error) {
		var rebuilds, vacuums []float64
		target := 10000.0 // what build used
		for range b.runs {
			target = 19000 - target // 9,000 and 10,000 m² in turn
			d, err := timeIt(func() error {
				_, err := st.Build(ctx, grids.BuildRequest{Area: geo.Code(districts[0]), TargetM2: target, Actor: "bench"}, nil)
				return err
			})
			if err != nil {
				return stat{}, stat{}, fmt.Errorf("rebuild %s: %w", districts[0], err)
			}
			rebuilds = append(rebuilds, d.Seconds())
			d, err = timeIt(func() error {
				_, err := b.pool.Exec(ctx, "VACUUM "+vacuumTable)
				return err
			})
			if err != nil {
				return stat{}, stat{}, err
			}
			vacuums = append(vacuums, d.Seconds()*1e3)
		}
		return statOf(rebuilds), statOf(vacuums), nil
	}
	reset := func() error {
		_, err := b.pool.Exec(ctx, `DELETE FROM unit_grids WHERE district_code LIKE '1199%';
			DELETE FROM history WHERE code LIKE '1199%'; DELETE FROM grid_lineage;`)
		if err == nil {
			_, err = b.pool.Exec(ctx, `VACUUM ANALYZE`)
		}
		return err
	}

	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	single, grids1, err := build()
	if err != nil {
		return err
	}
	rSingle, vSingle, err := rebuild("unit_grids")
	if err != nil {
		return err
	}
	if err := reset(); err != nil {
		return err
	}
	start := time.Now()
	if _, err := b.pool.Exec(ctx, partitionSQL); err != nil {
		return fmt.Errorf("partition unit_grids: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  unit_grids partitioned by district in %s\n", time.Since(start).Round(time.Millisecond))
	parted, grids2, err := build()
	if err != nil {
		return err
	}
	rParted, vParted, err := rebuild("unit_grids_" + districts[0])
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("build %d districts (%d / %d grids), partitioned vs single table", len(districts), grids2, grids1),
		fmt.Sprintf("%.1fs", parted), fmt.Sprintf("%.1fs (single table)", single), fmt.Sprintf("%.2f×", parted/single), "")
	sec := func(v float64) string { return fmt.Sprintf("%.2fs", v) }
	b.addStats(fmt.Sprintf("rebuild one of %d districts, every grid rewritten, partitioned", len(districts)),
		"s", rParted, &rSingle, "single table", sec, "")
	b.addStats("VACUUM after the rebuild: the district's partition", "ms", vParted, &vSingle, "the single table", fmtMS, "")
	return nil
}
