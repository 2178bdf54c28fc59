package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/paulmach/orb"

	"gridd/grids"
)

// ChangeChannel is the NOTIFY channel of the change feed (migration 0002).
const ChangeChannel = "gridd_changes"

// DefaultChangeRetention is how long the change log keeps its rows
// (migration 0024): an instance cut off from its database for longer
// reloads everything when it comes back.
const DefaultChangeRetention = 7 * 24 * time.Hour

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
	return change(p.Table, p.Op, p.Version, p.BBox), nil
}

func change(table, op string, version int64, bbox *[4]float64) grids.Change {
	c := grids.Change{Table: table, Op: op, Version: version, All: bbox == nil}
	if bbox != nil {
		c.BBox = orb.Bound{Min: orb.Point{bbox[0], bbox[1]}, Max: orb.Point{bbox[2], bbox[3]}}
	}
	return c
}

// MapVersion is the version of the newest committed change to a watched
// table (migration 0008) on the read database: it never counts a change a
// reader cannot see yet.
func (s *Store) MapVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.readDB().QueryRow(ctx, `SELECT gridd_map_version()`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read map version: %w", err)
	}
	return v, nil
}

// PruneChanges deletes the change log's rows older than keep, except the
// newest, and returns how many it deleted (migration 0024).
func (s *Store) PruneChanges(ctx context.Context, keep time.Duration) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT gridd_prune_changes(make_interval(secs => $1))`, keep.Seconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("prune the change log: %w", err)
	}
	return n, nil
}

// FollowStatus is where an instance stands in the change log.
type FollowStatus struct {
	// Version is the newest map version read from the log (0 before the
	// first read).
	Version int64
	// Read is when the log was last read successfully; Err the error of
	// the last attempt, nil when it succeeded.
	Read time.Time
	Err  error
	// Rows counts the changes read; Resets the times the log had been
	// pruned past the cursor and everything was reloaded.
	Rows, Resets uint64
}

type followState struct {
	mu      sync.Mutex
	st      FollowStatus
	once    sync.Once
	closed  sync.Once
	started chan struct{}
	rows    atomic.Uint64
	resets  atomic.Uint64
	// notified is the newest map version the primary's notifications
	// announced.
	notified atomic.Int64
	// position is the WAL position up to which every commit has been
	// delivered.
	position atomic.Uint64
	wakeOnce sync.Once
	wake     chan struct{}
}

func (f *followState) wakeCh() chan struct{} {
	f.wakeOnce.Do(func() { f.wake = make(chan struct{}, 1) })
	return f.wake
}

// ReadLogNow asks Listen to read the change log at once rather than at its
// next poll.
func (s *Store) ReadLogNow() {
	select {
	case s.follow.wakeCh() <- struct{}{}:
	default:
	}
}

// Following is closed once Listen has its first cursor: every change
// committed after that is delivered. A reader that loads the map after it
// closes misses nothing between its load and the feed.
func (s *Store) Following() <-chan struct{} {
	s.follow.once.Do(func() { s.follow.started = make(chan struct{}) })
	return s.follow.started
}

// FollowStatus reports the change-log reader of Listen.
func (s *Store) FollowStatus() FollowStatus {
	s.follow.mu.Lock()
	st := s.follow.st
	s.follow.mu.Unlock()
	st.Rows, st.Resets = s.follow.rows.Load(), s.follow.resets.Load()
	return st
}

// Listen delivers the change feed to fn until ctx ends; fn runs one change
// at a time.
//
// Map changes come from the change log (migration 0024) on the read
// database: Listen keeps the snapshot of its last read as a cursor and reads
// the changes committed since, in version order, at most every poll
// interval (followInterval on a replica, which gets no notifications) and
// at once when a notification on the primary says one was committed. A lost
// connection or a database that stops answering costs nothing but the wait:
// the next read resumes from the cursor. On a replica a change is delivered
// once the replica has replayed it, so whatever reads the replica after
// applying it sees it. A cursor older than the log's retention delivers a
// Change with All set.
//
// Notifications that are not map changes (token revocations, case events)
// come from LISTEN on the primary; when that connection is re-established
// Listen delivers a Change with Table grids.NotificationsLost.
func (s *Store) Listen(ctx context.Context, poll time.Duration, fn func(grids.Change)) error {
	var mu sync.Mutex
	deliver := func(c grids.Change) {
		mu.Lock()
		defer mu.Unlock()
		fn(c)
	}
	wake := s.follow.wakeCh()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.listenNotify(ctx, wake, deliver)
	}()
	if s.replicas != nil && (poll <= 0 || poll > s.followInterval) {
		poll = s.followInterval
	}
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	s.followLog(ctx, poll, wake, deliver)
	<-done
	return ctx.Err()
}

// followLog reads the change log from a cursor until ctx ends.
func (s *Store) followLog(ctx context.Context, poll time.Duration, wake <-chan struct{}, deliver func(grids.Change)) {
	cursor := ""
	t := time.NewTimer(0)
	defer t.Stop()
	retry := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		err := s.readLog(ctx, &cursor, deliver)
		if ctx.Err() != nil {
			return
		}
		s.follow.mu.Lock()
		s.follow.st.Err = err
		if err == nil {
			s.follow.st.Read = time.Now()
		}
		read := s.follow.st.Version
		s.follow.mu.Unlock()
		// A replica replays a change a few milliseconds after the
		// primary's notification of it: until the read has it, read again
		// soon (2 ms, doubling up to the poll interval).
		next := poll
		if err == nil && s.follow.notified.Load() > read {
			retry = min(max(2*retry, 2*time.Millisecond), poll)
			next = retry
		} else {
			retry = 0
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// readLog delivers the changes committed since the snapshot *cursor and
// moves the cursor to the snapshot it read in. An empty cursor starts from
// now.
func (s *Store) readLog(ctx context.Context, cursor *string, deliver func(grids.Change)) error {
	// The WAL position comes first, in a statement of its own: every
	// commit up to it is in the snapshot the log is read in next, so once
	// the read is delivered, the instance has applied everything up to it
	// (on a replica, its replay position; on the primary, its WAL).
	const position = `SELECT coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text`
	var pos string
	if *cursor == "" {
		var snap string
		var v int64
		batch := &pgx.Batch{}
		batch.Queue(position).QueryRow(func(r pgx.Row) error { return r.Scan(&pos) })
		batch.Queue(`SELECT pg_current_snapshot()::text, gridd_map_version()`).QueryRow(func(r pgx.Row) error { return r.Scan(&snap, &v) })
		if err := s.readDB().SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("start reading the change log: %w", classify(ctx, err))
		}
		*cursor = snap
		s.setVersion(v)
		s.setPosition(pos)
		s.Following()
		s.follow.closed.Do(func() { close(s.follow.started) })
		return nil
	}
	var (
		snap    string
		pruned  bool
		changes []grids.Change
	)
	batch := &pgx.Batch{}
	batch.Queue(position).QueryRow(func(r pgx.Row) error { return r.Scan(&pos) })
	batch.Queue(`
		SELECT s.snap::text, p.xid >= pg_snapshot_xmin($1::pg_snapshot), c.version, c.tab, c.op, c.bbox
		FROM (SELECT pg_current_snapshot() AS snap) s
		CROSS JOIN map_changes_pruned p
		LEFT JOIN LATERAL (
			SELECT version, tab, op, bbox FROM map_changes
			WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
		) c ON true
		ORDER BY c.version`, *cursor).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				version *int64
				tab, op *string
				bbox    []float64
			)
			if err := rows.Scan(&snap, &pruned, &version, &tab, &op, &bbox); err != nil {
				return err
			}
			if version == nil {
				continue // no change since the cursor
			}
			var b *[4]float64
			if len(bbox) == 4 {
				b = (*[4]float64)(bbox)
			}
			c := change("*", "UNKNOWN", *version, b)
			if tab != nil && op != nil {
				c.Table, c.Op = *tab, *op
			} else {
				c.All = true
			}
			changes = append(changes, c)
		}
		return rows.Err()
	})
	if err := s.readDB().SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("read the change log: %w", classify(ctx, err))
	}
	if snap == "" {
		return errors.New("read the change log: no snapshot returned")
	}
	*cursor = snap
	if s.replicas != nil {
		s.replicas.setReplayed(pos)
	}
	if pruned {
		// Rows the cursor had not seen may be gone: everything is
		// treated as changed.
		s.follow.resets.Add(1)
		v, _ := s.MapVersion(ctx)
		deliver(grids.Change{All: true, Table: "*", Op: "PRUNED", Version: v})
		s.setVersion(v)
		s.setPosition(pos)
		return nil
	}
	for _, c := range changes {
		deliver(c)
		s.setVersion(c.Version)
	}
	s.follow.rows.Add(uint64(len(changes)))
	s.setPosition(pos)
	return nil
}

// setPosition records the WAL position up to which every commit has been
// delivered.
func (s *Store) setPosition(lsn string) {
	if p, err := grids.ParseLSN(lsn); err == nil {
		for {
			old := s.follow.position.Load()
			if p <= old || s.follow.position.CompareAndSwap(old, p) {
				return
			}
		}
	}
}

// Position is the WAL position up to which every committed change has been
// delivered by Listen: a write whose commit is at or before it is applied.
func (s *Store) Position() uint64 { return s.follow.position.Load() }

// WritePosition is the primary's WAL position now: every write committed
// before the call is at or before it.
func (s *Store) WritePosition(ctx context.Context) (uint64, error) {
	var lsn string
	if err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		return 0, fmt.Errorf("read the WAL position: %w", err)
	}
	return grids.ParseLSN(lsn)
}

func (s *Store) setVersion(v int64) {
	s.follow.mu.Lock()
	if v > s.follow.st.Version {
		s.follow.st.Version = v
	}
	s.follow.mu.Unlock()
}

// listenNotify holds a LISTEN connection to the primary until ctx ends,
// reconnecting when it drops. A map change's notification wakes the log
// reader; other notifications are delivered as they are.
func (s *Store) listenNotify(ctx context.Context, wake chan<- struct{}, deliver func(grids.Change)) {
	cfg := s.pool.Config().ConnConfig.Copy()
	// Ending a wait for notifications must not send PostgreSQL a cancel
	// request.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
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
			deliver(grids.Change{Table: grids.NotificationsLost, Op: "RECONNECT"})
		}
		first = false
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			c, err := parseChange(n.Payload)
			if err != nil || c.Version > 0 {
				for {
					v := s.follow.notified.Load()
					if c.Version <= v || s.follow.notified.CompareAndSwap(v, c.Version) {
						break
					}
				}
				select {
				case wake <- struct{}{}:
				default:
				}
				continue
			}
			deliver(c)
		}
		conn.Close(context.Background())
	}
}
