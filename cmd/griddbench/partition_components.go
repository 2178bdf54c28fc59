package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// The partition_components section measures partitioning the components
// by district, as the partition section does for unit_grids: the synthetic
// block of 4,096 grids is cut into 16 districts (one street each), 1M
// components are imported over them, and one district is surveyed again
// (its components deleted and 62,500 new ones imported) and vacuumed; then
// components is converted in place into a table partitioned BY LIST
// (district_code) and the same work is timed on the same data. Like the
// partition section it runs with -large or -only.
func init() {
	sections["partition_components"] = section{order: 41, run: benchPartitionComponents, large: true}
}

// benchDistrictGridCode names cell (i, j) with each street of the block a
// district of its own, 1199SS.
func benchDistrictGridCode(i, j int) string {
	street := (j/16)*4 + i/16 + 1
	community := ((j/4)%4)*4 + (i/4)%4 + 1
	grid := (j%4)*4 + i%4 + 1
	return fmt.Sprintf("1199%02d001%03d%03d", street, community, grid)
}

// partitionComponentsSQL converts components into a table partitioned by
// district, with the district added to its keys.
var partitionComponentsSQL = partitionByDistrictSQL("components", "SELECT DISTINCT district_code AS code FROM unit_grids",
	"ALTER TABLE components ADD PRIMARY KEY (id, district_code)",
	"CREATE UNIQUE INDEX components_code ON components (code, district_code)",
	"CREATE UNIQUE INDEX components_legacy_code ON components (legacy_code, district_code) WHERE legacy_code IS NOT NULL AND valid_to IS NULL",
	"CREATE INDEX components_geom ON components USING gist (geom) WHERE valid_to IS NULL",
	"CREATE INDEX components_geom_3857 ON components USING gist (geom_3857) WHERE valid_to IS NULL",
	"CREATE INDEX components_grid ON components (grid_code text_pattern_ops) WHERE valid_to IS NULL")

// benchDistrictComponentsCSV writes n random components inside district
// 119901 (the block's south-west street).
func benchDistrictComponentsCSV(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	var buf bytes.Buffer
	buf.WriteString("class_code,lon,lat\n")
	w, h := 16*benchCellLon, 16*benchCellLat
	for k := 0; k < n; k++ {
		fmt.Fprintf(&buf, "%s,%.7f,%.7f\n", benchComponentClasses[r.IntN(len(benchComponentClasses))],
			benchLon0+0.00001+r.Float64()*(w-0.00002), benchLat0+0.00001+r.Float64()*(h-0.00002))
	}
	return buf.Bytes()
}

func benchPartitionComponents(ctx context.Context, b *bench) error {
	n := 1_000_000
	if b.quick {
		n = 100_000
	}
	if err := benchInsertGridsCoded(ctx, b, benchDistrictGridCode); err != nil {
		return err
	}
	st := postgis.NewStore(b.pool)
	parse := func(data []byte) ([]grids.ComponentFeature, error) {
		feats, rejected, err := grids.ParseComponentsCSV(bytes.NewReader(data), geo.WGS84)
		if err == nil && len(rejected) > 0 {
			err = fmt.Errorf("%d rows rejected, first %v", len(rejected), rejected[0])
		}
		return feats, err
	}
	all, err := parse(benchComponentsCSV(n, 20261122))
	if err != nil {
		return err
	}
	one, err := parse(benchDistrictComponentsCSV(n/16, 20261206))
	if err != nil {
		return err
	}
	importAll := func(feats []grids.ComponentFeature) (float64, error) {
		d, err := timeIt(func() error {
			rep, err := st.ImportComponents(ctx, feats, grids.ComponentImport{Mode: grids.AllOrNothing, Actor: "bench", Reason: "bench"})
			if err == nil && rep.Created != len(feats) {
				err = fmt.Errorf("import created %d of %d", rep.Created, len(feats))
			}
			return err
		})
		return d.Seconds(), err
	}
	// phase imports everything, then surveys district 119901 again b.runs
	// times: its components deleted, the new survey imported, the table (or
	// the district's partition) vacuumed.
	phase := func(vacuumTable string) (load float64, resurvey, vacuum stat, err error) {
		if load, err = importAll(all); err != nil {
			return
		}
		if _, err = b.pool.Exec(ctx, "ANALYZE"); err != nil {
			return
		}
		var rs, vs []float64
		for range b.runs {
			d, err := timeIt(func() error {
				if _, err := b.pool.Exec(ctx, `DELETE FROM components WHERE district_code = '119901'`); err != nil {
					return err
				}
				_, err := importAll(one)
				return err
			})
			if err != nil {
				return load, resurvey, vacuum, err
			}
			rs = append(rs, d.Seconds())
			d, err = timeIt(func() error {
				_, err := b.pool.Exec(ctx, "VACUUM "+vacuumTable)
				return err
			})
			if err != nil {
				return load, resurvey, vacuum, err
			}
			vs = append(vs, d.Seconds()*1e3)
		}
		return load, statOf(rs), statOf(vs), nil
	}
	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	loadSingle, rSingle, vSingle, err := phase("components")
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `TRUNCATE components, component_cells, component_seq;
		DELETE FROM history WHERE entity = 'component'`); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, partitionComponentsSQL); err != nil {
		return fmt.Errorf("partition components: %w", err)
	}
	loadParted, rParted, vParted, err := phase("components_119901")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  components partitioned by district (16 districts)\n")
	sec := func(v float64) string { return fmt.Sprintf("%.2fs", v) }
	b.add(fmt.Sprintf("import %dk components over 16 districts, partitioned vs single table", n/1000),
		sec(loadParted), sec(loadSingle)+" (single table)", fmt.Sprintf("%.2f×", loadParted/loadSingle), "")
	b.addStats(fmt.Sprintf("survey one district again (delete its components, import %dk), partitioned", n/16000),
		"s", rParted, &rSingle, "single table", sec, "")
	b.addStats("VACUUM after the survey: the district's partition", "ms", vParted, &vSingle, "the single table", fmtMS, "")
	return nil
}
