// Package postgis is gridd's PostGIS adapter: the embedded migrations, the
// Store that implements the domain's storage interfaces, and the SQL behind
// them. PostGIS is the system of record; everything gridd knows lives here.
package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
)

// Store is the PostGIS-backed storage of gridd.
type Store struct {
	pool db
	// replicas, when attached (AttachReplicas), are where the lookup
	// index, tiles and the change log are read; else the primary (pool).
	replicas       *replicaSet
	followInterval time.Duration
	maxLag         time.Duration
	follow         followState
	monitor        replicaMonitor
	editLimits     grids.Limits
	timeouts       Timeouts
	// editBegin and workBegin open a transaction with the statement and
	// lock budgets of an edit and of a build or import.
	editBegin, workBegin string
	// clock caches the work calendar of case time limits.
	clock *calendarCache
}

// Timeouts are the time budgets of a Store's database work. Zero is no
// limit. A statement that runs out of its budget, or waits for a lock
// longer than Lock, fails with grids.ErrBusy and its transaction rolls
// back, releasing its locks.
type Timeouts struct {
	// Statement bounds every statement on the Store's connections
	// (statement_timeout): the backstop for reads and anything else
	// without a budget of its own.
	Statement time.Duration
	// Lock bounds waiting for a lock (lock_timeout) in edits and in
	// ordinary statements: a community's editing lock, a row another
	// writer holds, the component import lock, a table an import holds.
	Lock time.Duration
	// Edit bounds each statement of an edit: changesets, grid and
	// component writes, management grids, local classes, departments and
	// routing rules.
	Edit time.Duration
	// Work bounds each statement of a build or an import, and of reading
	// the map for the lookup index; such work waits for locks as long.
	Work time.Duration
	// IdleInTransaction ends a session whose transaction stays idle that
	// long (idle_in_transaction_session_timeout): a client that stopped
	// half way through does not keep its locks.
	IdleInTransaction time.Duration
}

// ServeTimeouts are the budgets gridd serve runs with: interactive work
// answers or gives up within seconds, a build through the API has ten
// minutes per statement. The command line runs without limits (zero
// Timeouts), so that importing or building a whole district is never cut
// off.
var ServeTimeouts = Timeouts{
	Statement:         30 * time.Second,
	Lock:              3 * time.Second,
	Edit:              5 * time.Second,
	Work:              10 * time.Minute,
	IdleInTransaction: time.Minute,
}

// connectionCheck is how often a backend running a statement checks that
// its client is still connected (client_connection_check_interval,
// PostgreSQL 14 and later), so that the work of a vanished client stops.
const connectionCheck = time.Second

// connectTimeout bounds a connection attempt unless the URL sets
// connect_timeout.
const connectTimeout = 10 * time.Second

// cancelGrace is how long a connection waits for PostgreSQL to answer the
// cancel request of a cancelled context before it is closed.
const cancelGrace = 2 * time.Second

// Open connects to the database at url with no time limits (the command
// line's setting) and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, Timeouts{})
}

// OpenWith connects to the database at url with the time budgets t and
// checks that it answers. Settings the URL makes itself (statement_timeout,
// lock_timeout, idle_in_transaction_session_timeout as parameters) win
// over t's. A cancelled context cancels its statement in PostgreSQL (a
// cancel request), so an abandoned request does not keep running there
// and holding its locks.
func OpenWith(ctx context.Context, url string, t Timeouts) (*Store, error) {
	pool, err := newPool(ctx, url, t)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", translate(err))
	}
	s := NewStore(pool)
	s.SetTimeouts(t)
	return s, nil
}

// newPool makes a connection pool to url whose connections have the time
// budgets t; it connects lazily.
func newPool(ctx context.Context, url string, t Timeouts) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A server that does not answer at all (packets dropped) is
		// unavailable after this long, not waited for until the caller
		// gives up.
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	params := cfg.ConnConfig.RuntimeParams
	for name, d := range map[string]time.Duration{
		"statement_timeout":                   t.Statement,
		"lock_timeout":                        t.Lock,
		"idle_in_transaction_session_timeout": t.IdleInTransaction,
	} {
		if _, set := params[name]; !set && d > 0 {
			params[name] = millis(d)
		}
	}
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	_, checkSet := params["client_connection_check_interval"]
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if checkSet {
			return nil
		}
		if major, _ := strconv.Atoi(firstNumber(c.PgConn().ParameterStatus("server_version"))); major >= 14 {
			// Platforms without the kernel support refuse it; the
			// cancel request still stops abandoned statements there.
			c.Exec(ctx, "SET client_connection_check_interval = "+millis(connectionCheck)) //nolint:errcheck
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", translate(err))
	}
	return pool, nil
}

// firstNumber is the leading digits of s ("11" of "11.22 (Debian...)").
func firstNumber(s string) string {
	for i, r := range s {
		if r < '0' || r > '9' {
			return s[:i]
		}
	}
	return s
}

// millis renders d as a PostgreSQL duration setting in milliseconds.
func millis(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// SetTimeouts sets the budgets of edits, builds and imports. The
// connections' own settings (Statement, Lock, IdleInTransaction) are
// fixed when they connect (OpenWith).
func (s *Store) SetTimeouts(t Timeouts) {
	s.timeouts = t
	s.editBegin = beginWith(t.Edit, t.Lock)
	s.workBegin = beginWith(t.Work, t.Work)
}

// beginWith opens a transaction whose statements have the budget stmt and
// wait for locks at most lock (zero: no limit), in one round trip.
func beginWith(stmt, lock time.Duration) string {
	return "BEGIN; SET LOCAL statement_timeout = " + millis(stmt) + "; SET LOCAL lock_timeout = " + millis(lock)
}

// NewStore wraps an existing pool, with no time limits of its own
// (SetTimeouts sets them).
func NewStore(pool *pgxpool.Pool) *Store {
	s := &Store{pool: db{pool}, clock: &calendarCache{}}
	s.SetTimeouts(Timeouts{})
	return s
}

// Pool exposes the connection pool to the adapter's other parts (the change
// feed, the tile source) and to tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// Close releases the connections.
func (s *Store) Close() {
	if s.replicas != nil {
		for _, p := range s.replicas.pools {
			p.Close()
		}
	}
	s.pool.Close()
}

// Ready reports whether the database answers and its schema is current.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", grids.ErrUnavailable, err)
	}
	pending, err := Pending(ctx, s.pool.Pool)
	if err != nil {
		return translateCtx(ctx, err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("schema not current: %d migration(s) pending, first %s", len(pending), pending[0])
	}
	if s.replicas != nil {
		return s.replicaReady()
	}
	return nil
}

// inTx runs fn in one transaction with the budget of an edit, committed
// when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.runTx(ctx, s.editBegin, fn)
}

// inWorkTx runs fn in one transaction with the budget of a build or an
// import, committed when fn returns nil.
func (s *Store) inWorkTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.runTx(ctx, s.workBegin, fn)
}

func (s *Store) runTx(ctx context.Context, begin string, fn func(pgx.Tx) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{BeginQuery: begin}, fn)
	return translateCtx(ctx, err)
}

// workBudget gives a pooled connection the statement and lock budget of a
// build or an import; resetBudget takes it back before the connection
// returns to the pool.
func (s *Store) workBudget(ctx context.Context, conn *pgxpool.Conn) error {
	_, err := conn.Exec(ctx, "SET statement_timeout = "+millis(s.timeouts.Work)+"; SET lock_timeout = "+millis(s.timeouts.Work))
	return err
}

func resetBudget(ctx context.Context, conn *pgxpool.Conn) {
	if _, err := conn.Exec(context.WithoutCancel(ctx), "RESET statement_timeout; RESET lock_timeout"); err != nil {
		// A connection that did not take the reset must not be reused.
		conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck
	}
}

// translateCtx is translate for work done under ctx (see classify).
func translateCtx(ctx context.Context, err error) error {
	if err = classify(ctx, err); errors.Is(err, grids.ErrUnavailable) || errors.Is(err, grids.ErrBusy) ||
		(ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return err
	}
	return translate(err)
}

// translate maps driver errors onto the domain's error kinds: a missing
// row is grids.ErrNotFound, constraint violations are conflicts or
// invalid input, and an unreachable or busy database is
// grids.ErrUnavailable or grids.ErrBusy (see classify).
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return grids.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", grids.ErrConflict, pgErr.Detail)
		case "23514", "23502", "22P02": // check, not null, invalid text
			return &grids.InvalidError{Reason: pgErr.Message}
		}
	}
	return availability(err)
}
