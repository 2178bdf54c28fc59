// Command griddbench measures gridd against PostGIS doing the same work in
// the same run, and prints the figures of docs/design.md's performance table
// as ratios. `make bench` runs it.
//
// Each section (build, lookup, tiles, components) lives in its own file and
// registers itself in sections. A section gets its own scratch database,
// created fresh from DATABASE_URL's server and dropped afterwards.
//
//	griddbench [-only build,lookup] [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
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
}

var sections = map[string]section{}

// bench is what a section works with: a fresh migrated database and the
// table of results.
type bench struct {
	pool  *pgxpool.Pool
	url   string
	quick bool
	rows  []row
}

// row is one line of the report: gridd's figure, PostGIS's figure for the
// same work where there is one, and the target from the design.
type row struct {
	work    string
	gridd   string
	postgis string
	ratio   string
	target  string
}

// add records a result row.
func (b *bench) add(work, gridd, postgis, ratio, target string) {
	b.rows = append(b.rows, row{work, gridd, postgis, ratio, target})
	fmt.Fprintf(os.Stderr, "  %s: %s (PostGIS %s, ratio %s, target %s)\n", work, gridd, postgis, ratio, target)
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
	flag.Parse()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		fmt.Fprintln(os.Stderr, "griddbench: DATABASE_URL is not set (make bench provides it)")
		os.Exit(2)
	}
	names := make([]string, 0, len(sections))
	for n := range sections {
		if *only == "" || contains(strings.Split(*only, ","), n) {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return sections[names[i]].order < sections[names[j]].order })
	ctx := context.Background()
	var all []row
	failed := false
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "griddbench: %s\n", n)
		rows, err := runSection(ctx, base, n, *quick)
		all = append(all, rows...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "griddbench: %s: %v\n", n, err)
			failed = true
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "work\tgridd\tPostGIS\tratio\ttarget")
	for _, r := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.work, r.gridd, r.postgis, r.ratio, r.target)
	}
	tw.Flush()
	if failed {
		os.Exit(1)
	}
}

func runSection(ctx context.Context, base, name string, quick bool) ([]row, error) {
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
	b := &bench{pool: pool, url: u.String(), quick: quick}
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
