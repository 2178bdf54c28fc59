package postgis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
)

// db is the Store's connection pool. Its statements mark the errors of an
// unreachable or busy database with the domain's kinds (grids.ErrUnavailable,
// grids.ErrBusy) before the method that ran them wraps or returns them, so
// that every read the API makes answers 503 rather than 500 when the
// database is down, whatever that method does with its errors.
type db struct{ *pgxpool.Pool }

func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.Pool.Exec(ctx, sql, args...)
	return tag, classify(ctx, err)
}

func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := d.Pool.Query(ctx, sql, args...)
	if err != nil {
		return rows, classify(ctx, err)
	}
	return classifiedRows{Rows: rows, ctx: ctx}, nil
}

func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return classifiedRow{row: d.Pool.QueryRow(ctx, sql, args...), ctx: ctx}
}

func (d db) Ping(ctx context.Context) error { return classify(ctx, d.Pool.Ping(ctx)) }

// classifiedRows classifies the error that ends a result set (a connection
// lost while reading it).
type classifiedRows struct {
	pgx.Rows
	ctx context.Context
}

func (r classifiedRows) Err() error { return classify(r.ctx, r.Rows.Err()) }

type classifiedRow struct {
	row pgx.Row
	ctx context.Context
}

func (r classifiedRow) Scan(dest ...any) error { return classify(r.ctx, r.row.Scan(dest...)) }

// classify marks the error of a statement run under ctx: once ctx has ended
// the error is the context's (the caller gave up or ran out of time, and a
// statement cancelled on its behalf is not the database being busy); an
// unreachable or stopping server is grids.ErrUnavailable; a statement or
// lock timeout is grids.ErrBusy. The driver's error stays in the chain
// (errors.Is(err, pgx.ErrNoRows) and errors.As(err, &pgErr) still work);
// other errors pass unchanged.
func classify(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, grids.ErrUnavailable) || errors.Is(err, grids.ErrBusy) {
		return err
	}
	if ctx.Err() != nil {
		if errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return availability(err)
}

// availability marks the errors of an unreachable or busy database with
// grids.ErrUnavailable or grids.ErrBusy, keeping the driver's error in the
// chain; other errors pass unchanged.
func availability(err error) error {
	if err == nil || errors.Is(err, grids.ErrUnavailable) || errors.Is(err, grids.ErrBusy) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57014": // query_canceled: a statement timeout
			return fmt.Errorf("%w: a statement ran out of time: %w", grids.ErrBusy, err)
		case pgErr.Code == "55P03": // lock_not_available: a lock timeout
			return fmt.Errorf("%w: waited too long for a lock another writer holds: %w", grids.ErrBusy, err)
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutdown, crash, cannot connect now
			strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return fmt.Errorf("%w: %w", grids.ErrUnavailable, err)
		}
		return err
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", grids.ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err means the server could not be reached or
// the connection broke: a failed connect, a network error, a connection
// closed under a statement.
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}
