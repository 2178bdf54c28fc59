package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/paulmach/orb"

	"gridd/grids"
)

// ChangeChannel is the NOTIFY channel of the change feed (migration 0002).
const ChangeChannel = "gridd_changes"

type changePayload struct {
	Table   string      `json:"table"`
	Op      string      `json:"op"`
	Version int64       `json:"version"`
	BBox    *[4]float64 `json:"bbox"`
}

// parseChange reads a change-feed payload.
func parseChange(payload string) (grids.Change, error) {
	var p changePayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return grids.Change{}, fmt.Errorf("change feed: bad payload %q: %w", payload, err)
	}
	c := grids.Change{Table: p.Table, Op: p.Op, Version: p.Version, All: p.BBox == nil}
	if p.BBox != nil {
		c.BBox = orb.Bound{Min: orb.Point{p.BBox[0], p.BBox[1]}, Max: orb.Point{p.BBox[2], p.BBox[3]}}
	}
	return c, nil
}

// MapVersion is the version of the newest committed change to a watched
// table (migration 0008): it never counts a change a reader cannot see yet.
func (s *Store) MapVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT gridd_map_version()`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read map version: %w", err)
	}
	return v, nil
}

// Listen delivers the change feed to fn until ctx ends. It holds one
// connection of its own; when that connection drops it reconnects and
// delivers a Change with All set, because notifications may have been lost
// meanwhile. It also polls MapVersion every poll interval when the feed is
// quiet and delivers an All change when the version stayed ahead of the
// notifications for a whole interval (a lost notification). fn runs
// on Listen's goroutine, one change at a time.
func (s *Store) Listen(ctx context.Context, poll time.Duration, fn func(grids.Change)) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	// The poll timer ends a wait for notifications, not a statement: it
	// must not send PostgreSQL a cancel request every interval.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	seen := int64(-1)
	first := true
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+ChangeChannel)
		}
		if err != nil {
			if conn != nil {
				conn.Close(context.Background())
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if !first {
			fn(grids.Change{All: true, Table: "*", Op: "RECONNECT"})
		}
		first = false
		err = s.listenOn(ctx, conn, poll, &seen, fn)
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = err // the connection failed; reconnect and resynchronise
	}
	return ctx.Err()
}

func (s *Store) listenOn(ctx context.Context, conn *pgx.Conn, poll time.Duration, seen *int64, fn func(grids.Change)) error {
	var ahead int64 // a version the previous poll found ahead of seen
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil {
			c, perr := parseChange(n.Payload)
			if perr != nil {
				c = grids.Change{All: true, Table: "*", Op: "UNKNOWN"}
			}
			if c.Version > *seen {
				*seen = c.Version
			}
			fn(c)
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wctx.Err() == nil { // the connection failed, not the poll timer
			return err
		}
		// The poll timer fired: compare the version to what we have seen. A
		// notification may be on its way for a version just committed, so
		// only a version still unaccounted for at the next poll counts.
		var v int64
		if err := conn.QueryRow(ctx, `SELECT gridd_map_version()`).Scan(&v); err != nil {
			return err
		}
		switch {
		case *seen < 0:
			*seen = v
		case ahead > *seen:
			fn(grids.Change{All: true, Table: "*", Op: "POLL", Version: v})
			*seen, ahead = v, 0
		case v > *seen:
			ahead = v
		default:
			ahead = 0
		}
	}
}
