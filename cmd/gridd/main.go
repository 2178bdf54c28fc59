// Command gridd is the grid-management engine and map server: it builds and
// edits unit grids in PostGIS, answers lookups and serves vector tiles.
//
//	gridd serve                          serve the HTTP API and map
//	gridd migrate                        apply database migrations
//	gridd import divisions FILE          import districts, streets, communities
//	gridd demo [--dir testdata/dongcheng] load the demo district into an empty database
//	gridd version                        print the version
//
// Every command takes --db (or DATABASE_URL; without either, the running
// private cluster of the checkout, see privatedb.go). This file only wires.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gridd/grids/postgis"
)

// command is one subcommand: its one-line help and its run function, which
// gets the arguments after the subcommand's name.
type command struct {
	help string
	run  func(ctx context.Context, env *env, args []string) error
}

// commands is the table of subcommands; each lives in its own file and adds
// itself here in init.
var commands = map[string]command{}

// env is what every subcommand shares: the logger and the common settings.
type env struct {
	log    *slog.Logger
	stdout *os.File
	stderr *os.File
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	e := &env{log: logger, stdout: os.Stdout, stderr: os.Stderr}
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "gridd: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, e, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "gridd %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gridd COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].help)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'gridd COMMAND -h' for a command's flags.")
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(envOr("GRIDD_LOG_LEVEL", "info"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// envOr returns the environment variable, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envDefaults reads flag defaults from the environment and keeps the first
// malformed value's error, which the command reports after parsing its flags.
type envDefaults struct{ err error }

// Int is the environment variable as a whole number, or def when unset.
func (e *envDefaults) Int(key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: not a whole number", key, v)
	}
	return n
}

// Duration is the environment variable as a duration, or def when unset.
func (e *envDefaults) Duration(key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: not a duration (like 30s or 2m)", key, v)
	}
	return d
}

// dbFlag adds the --db flag, defaulting to DATABASE_URL; when both are
// empty, openStore uses the running private cluster of the checkout.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL; default the running private cluster of the checkout, scripts/db.sh)")
}

// resolveDB returns url, or when it is empty the URL of the running private
// cluster of the checkout, which it logs.
func resolveDB(e *env, url string) (string, error) {
	if url != "" {
		return url, nil
	}
	url, dir, err := privateClusterURL()
	if err != nil {
		return "", err
	}
	e.log.Info("no --db or DATABASE_URL: using the private cluster", "checkout", dir, "url", url)
	return url, nil
}

// actorFlag adds the --actor flag: the name the history records for changes
// made from the command line.
func actorFlag(fs *flag.FlagSet) *string {
	def := "cli"
	if u, err := user.Current(); err == nil {
		def = "cli:" + u.Username
	}
	return fs.String("actor", envOr("GRIDD_ACTOR", def), "who the history records for this change (env GRIDD_ACTOR)")
}

// openStore connects to the database with no time limits (an import or a
// build of a whole district is never cut off); with migrate it also applies
// pending migrations.
func openStore(ctx context.Context, e *env, url string, migrate bool) (*postgis.Store, error) {
	return openStoreWith(ctx, e, url, migrate, postgis.Timeouts{})
}

// openStoreWith is openStore with the time budgets t.
func openStoreWith(ctx context.Context, e *env, url string, migrate bool, t postgis.Timeouts) (*postgis.Store, error) {
	url, err := resolveDB(e, url)
	if err != nil {
		return nil, err
	}
	st, err := postgis.OpenWith(ctx, url, t)
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := postgis.Migrate(ctx, st.Pool())
		if err != nil {
			st.Close()
			return nil, err
		}
		if len(applied) > 0 {
			e.log.Info("migrated", "applied", strings.Join(applied, ","))
		}
	}
	return st, nil
}

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// it comes from the VCS stamp Go embeds.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
	}
	return "dev"
}

func init() {
	commands["version"] = command{help: "print the version", run: func(ctx context.Context, e *env, args []string) error {
		fmt.Fprintln(e.stdout, "gridd", versionString())
		return nil
	}}
	commands["migrate"] = command{help: "apply pending database migrations", run: runMigrate}
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	db := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := resolveDB(e, *db)
	if err != nil {
		return err
	}
	st, err := postgis.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := postgis.Migrate(ctx, st.Pool())
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "schema is current")
	}
	for _, a := range applied {
		fmt.Fprintln(e.stdout, "applied", a)
	}
	return nil
}
