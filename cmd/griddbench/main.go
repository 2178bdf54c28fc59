// Command griddbench measures gridd against PostGIS doing the same work in
// the same run, and prints the figures of docs/design.md's performance table
// as ratios. `make bench` runs it.
//
// Each section (build, lookup, tiles, components) lives in its own file and
// registers itself in sections. A section gets its own scratch database,
// created fresh from DATABASE_URL's server and dropped afterwards.
//
// Figures that are repeated (see repeat) print as their median with the
// spread (min-max) of the runs. Every row is also written as JSON (-json,
// default .artifacts/bench.json) so that runs can be compared.
//
//	griddbench [-only build,lookup] [-quick] [-runs 5] [-json FILE]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids/postgis"
)

// section is one part of the benchmark: it does its work and reports rows.
type section struct {
	order int
	run   func(ctx context.Context, b *bench) error
	// large sections run with -large, or when -only names them.
	large bool
}

var sections = map[string]section{}

// bench is what a section works with: a fresh migrated database and the
// table of results.
type bench struct {
	pool  *pgxpool.Pool
	url   string
	quick bool
	runs  int // how many times repeat runs a measurement
	rows  []row
}

// row is one line of the report: gridd's figure, PostGIS's figure for the
// same work where there is one, and the target from the design. Figures
// measured with repeat also carry their numbers for the JSON report.
type row struct {
	Work    string `json:"work"`
	Gridd   string `json:"gridd"`
	PostGIS string `json:"postgis"`
	Ratio   string `json:"ratio"`
	Target  string `json:"target"`
	// Numbers, where the section gives them: the unit, gridd's and
	// PostGIS's runs.
	Unit        string `json:"unit,omitempty"`
	GriddRuns   *stat  `json:"gridd_runs,omitempty"`
	PostGISRuns *stat  `json:"postgis_runs,omitempty"`
}

// add records a result row.
func (b *bench) add(work, gridd, postgis, ratio, target string) {
	b.addRow(row{Work: work, Gridd: gridd, PostGIS: postgis, Ratio: ratio, Target: target})
}

func (b *bench) addRow(r row) {
	b.rows = append(b.rows, r)
	fmt.Fprintf(os.Stderr, "  %s: %s (PostGIS %s, ratio %s, target %s)\n", r.Work, r.Gridd, r.PostGIS, r.Ratio, r.Target)
}

// stat is a figure measured several times: the median, the spread and the
// number of runs.
type stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

// repeat runs a measurement n times (fn returns one figure, e.g. a rate or
// seconds) and gives the median and spread.
func repeat(n int, fn func() (float64, error)) (stat, error) {
	if n < 1 {
		n = 1
	}
	var st stat
	for range n {
		v, err := fn()
		if err != nil {
			return st, err
		}
		st.Runs = append(st.Runs, v)
	}
	s := append([]float64(nil), st.Runs...)
	sort.Float64s(s)
	st.Min, st.Max = s[0], s[len(s)-1]
	if len(s)%2 == 1 {
		st.Median = s[len(s)/2]
	} else {
		st.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return st, nil
}

// addStats records a row from repeated figures of gridd and, where there is
// one, of PostGIS doing the same work (nil otherwise; baseline says what it
// did). Both are in unit, a rate or a cost; the ratio is gridd's median over
// PostGIS's, as the design's table gives it (a rate: how many times faster;
// a cost: how many times dearer). format prints one value of the unit.
func (b *bench) addStats(work, unit string, gridd stat, pg *stat, baseline string, format func(float64) string, target string) {
	r := row{Work: work, Unit: unit, GriddRuns: &gridd, PostGISRuns: pg, Target: target,
		Gridd: format(gridd.Median) + spread(gridd, format)}
	if pg != nil {
		r.PostGIS = format(pg.Median) + spread(*pg, format)
		if baseline != "" {
			r.PostGIS += " (" + baseline + ")"
		}
		r.Ratio = fmt.Sprintf("%.2f×", gridd.Median/pg.Median)
	}
	b.addRow(r)
}

// spread prints the runs' range after a median: " [min-max, n runs]".
func spread(s stat, format func(float64) string) string {
	if len(s.Runs) < 2 {
		return ""
	}
	return fmt.Sprintf(" [%s-%s, %d runs]", format(s.Min), format(s.Max), len(s.Runs))
}

// timeIt runs fn once and returns how long it took.
func timeIt(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func main() {
	only := flag.String("only", "", "comma-separated sections to run (default all)")
	quick := flag.Bool("quick", false, "smaller datasets, for a fast look")
	runs := flag.Int("runs", 5, "how many times each repeated figure is measured (the median is reported)")
	jsonOut := flag.String("json", filepath.Join(".artifacts", "bench.json"), "where to write the rows as JSON (empty: nowhere)")
	flag.Parse()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		fmt.Fprintln(os.Stderr, "griddbench: DATABASE_URL is not set (make bench provides it)")
		os.Exit(2)
	}
	names := make([]string, 0, len(sections))
	for n := range sections {
		if *only == "" && (!sections[n].large || *largeLookup) || contains(strings.Split(*only, ","), n) {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return sections[names[i]].order < sections[names[j]].order })
	ctx := context.Background()
	var all []row
	failed := false
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "griddbench: %s\n", n)
		rows, err := runSection(ctx, base, n, *quick, *runs)
		all = append(all, rows...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "griddbench: %s: %v\n", n, err)
			failed = true
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "work\tgridd\tPostGIS\tratio\ttarget")
	for _, r := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Work, r.Gridd, r.PostGIS, r.Ratio, r.Target)
	}
	tw.Flush()
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, all, *runs, *quick); err != nil {
			fmt.Fprintf(os.Stderr, "griddbench: %v\n", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// writeJSON writes the report with when and where it was measured.
func writeJSON(path string, rows []row, runs int, quick bool) error {
	host, _ := os.Hostname()
	doc := map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339), "host": host, "cpus": runtime.NumCPU(),
		"go": runtime.Version(), "runs": runs, "quick": quick, "rows": rows,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(os.Stderr, "griddbench: rows written to %s\n", path)
	return nil
}

func runSection(ctx context.Context, base, name string, quick bool, runs int) ([]row, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	// Scratch databases are named after the base database too, so benches
	// run against different bases on one server never drop each other's.
	db := "gridd_bench_" + name
	if b := strings.TrimPrefix(u.Path, "/"); b != "" && b != "postgres" {
		db = b + "_bench_" + name
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{db}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return nil, err
	}
	defer admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)") //nolint:errcheck
	u.Path = "/" + db
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := postgis.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	b := &bench{pool: pool, url: u.String(), quick: quick, runs: runs}
	err = sections[name].run(ctx, b)
	return b.rows, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// rate formats a count per second.
func rate(n int, d time.Duration) string {
	r := float64(n) / d.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk/s", r/1e3)
	}
	return fmt.Sprintf("%.0f/s", r)
}
