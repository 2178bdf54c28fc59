package postgis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
)

// DefaultFollowInterval is how often an instance reading a replica reads
// the change log: a standby delivers no notifications.
const DefaultFollowInterval = 100 * time.Millisecond

// DefaultMaxReplicaLag is how far behind the primary a replica may be and
// its instance still be ready.
const DefaultMaxReplicaLag = 5 * time.Second

// AttachReplicas sends the reads of the map to streaming replicas of the
// primary, one at a time, in the order given: the lookup index's loads and
// patches, tile renderings, the change log and the map version, and OGC API
// feature reads of requests without a token. Writes, edits, builds,
// imports, everything a token holder reads (the read-your-writes rule: an
// editor's session reads the primary) and the other reads stay on the
// primary. The change log is read every follow interval. When the replica
// in use stops answering, MonitorReplica moves to the next one that has
// replayed at least what the instance has read, so that nothing it serves
// goes back in time. The replicas need not answer yet: until one does, the
// instance is not ready. maxLag is the replica lag beyond which it is not
// ready.
func (s *Store) AttachReplicas(ctx context.Context, urls []string, t Timeouts, follow, maxLag time.Duration) error {
	if len(urls) == 0 {
		return nil
	}
	rs := &replicaSet{}
	for _, u := range urls {
		pool, err := newPool(ctx, u, t)
		if err != nil {
			for _, p := range rs.pools {
				p.Close()
			}
			return fmt.Errorf("read replica %d: %w", len(rs.pools)+1, err)
		}
		rs.pools = append(rs.pools, pool)
	}
	s.replicas = rs
	s.followInterval = follow
	s.maxLag = maxLag
	return nil
}

// replicaSet is the replicas a Store reads the map from, and which one is
// in use.
type replicaSet struct {
	pools   []*pgxpool.Pool
	current atomic.Int32
	// replayed is the replay position of the replica in use when the
	// change log was last read on it (pg_lsn text, "" before).
	mu       sync.Mutex
	replayed string
}

func (r *replicaSet) setReplayed(lsn string) {
	r.mu.Lock()
	r.replayed = lsn
	r.mu.Unlock()
}

// Replica reports whether reads go to replicas.
func (s *Store) Replica() bool { return s.replicas != nil }

// ReplicaInUse is the index (from 0, in the order attached) of the replica
// the map is read from.
func (s *Store) ReplicaInUse() int {
	if s.replicas == nil {
		return -1
	}
	return int(s.replicas.current.Load())
}

// readDB is where the map is read: the replica in use, else the primary.
func (s *Store) readDB() db {
	if s.replicas == nil {
		return s.pool
	}
	return db{s.replicas.pools[s.replicas.current.Load()]}
}

// reader is where a read of the map made under ctx goes: the replica,
// unless the request reads the primary (grids.WithPrimaryReads).
func (s *Store) reader(ctx context.Context) db {
	if grids.PrimaryReads(ctx) {
		return s.pool
	}
	return s.readDB()
}

// failOver moves to the next replica, in order, that answers and has
// replayed at least what the change log was last read at; it reports
// whether it moved.
func (s *Store) failOver(ctx context.Context) bool {
	rs := s.replicas
	rs.mu.Lock()
	replayed := rs.replayed
	rs.mu.Unlock()
	cur := int(rs.current.Load())
	for k := 1; k < len(rs.pools); k++ {
		i := (cur + k) % len(rs.pools)
		var ok bool
		err := rs.pools[i].QueryRow(ctx, `SELECT $1::text IS NULL OR
			coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true)`, nullIfEmpty(replayed)).Scan(&ok)
		if err == nil && ok {
			rs.current.Store(int32(i))
			return true
		}
	}
	return false
}

// ReplicaStatus is how far a replica is behind its primary.
type ReplicaStatus struct {
	// Lag is how long the oldest change the primary had written that the
	// replica has not replayed has been waiting (0 when it is caught up);
	// Bytes how much WAL it has still to replay.
	Lag   time.Duration
	Bytes int64
	// Checked is when this was measured; Err why it could not be (the
	// replica does not answer), or why the primary's position is unknown
	// (PrimaryErr: the lag is then unknown, the replica still serves).
	Checked    time.Time
	Err        error
	PrimaryErr error
}

// lagSample is the primary's WAL position at a time.
type lagSample struct {
	at  time.Time
	lsn string
}

type replicaMonitor struct {
	mu      sync.Mutex
	status  ReplicaStatus
	samples []lagSample // oldest first, positions the replica had not replayed when last checked
}

// ReplicaStatus is the last measurement of MonitorReplica.
func (s *Store) ReplicaStatus() ReplicaStatus {
	s.monitor.mu.Lock()
	defer s.monitor.mu.Unlock()
	return s.monitor.status
}

// MonitorReplica measures the replica's lag every interval until ctx ends.
// The lag is time, not the age of the last replayed transaction (which
// grows while the primary is idle): each check samples the primary's WAL
// position, and the lag is the age of the oldest sample the replica has not
// replayed yet.
func (s *Store) MonitorReplica(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.checkReplica(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Store) checkReplica(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	now := time.Now()
	var primaryLSN string
	perr := s.pool.QueryRow(cctx, `SELECT pg_current_wal_lsn()::text`).Scan(&primaryLSN)
	m := &s.monitor
	m.mu.Lock()
	defer m.mu.Unlock()
	if perr == nil {
		m.samples = append(m.samples, lagSample{now, primaryLSN})
	}
	st := ReplicaStatus{Checked: now, PrimaryErr: perr, Lag: m.status.Lag}
	// The samples the replica has replayed, in one statement.
	lsns := make([]string, len(m.samples))
	for i, x := range m.samples {
		lsns[i] = x.lsn
	}
	var behind []bool
	var bytes *int64
	err := s.readDB().QueryRow(cctx, `
		SELECT array(SELECT pg_last_wal_replay_lsn() IS NOT NULL AND l::pg_lsn > pg_last_wal_replay_lsn()
		             FROM unnest($1::text[]) WITH ORDINALITY u(l, i) ORDER BY i),
		       CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff($2::pg_lsn, pg_last_wal_replay_lsn())::bigint ELSE 0 END`,
		lsns, nullIfEmpty(primaryLSN)).Scan(&behind, &bytes)
	if err != nil && s.failOver(cctx) {
		// The next check measures the replica now in use.
		m.status = ReplicaStatus{Checked: now, PrimaryErr: perr, Lag: m.status.Lag, Bytes: m.status.Bytes}
		return
	}
	if err != nil {
		st.Err = fmt.Errorf("read replica: %w", err)
		if perr == nil && len(m.samples) > 0 {
			st.Lag = now.Sub(m.samples[0].at)
		}
		// Keep the samples: the lag keeps growing until it answers.
		if len(m.samples) > 1000 {
			m.samples = m.samples[len(m.samples)-1000:]
		}
		m.status = st
		return
	}
	keep := m.samples[:0]
	for i, x := range m.samples {
		if i < len(behind) && behind[i] {
			keep = append(keep, x)
		}
	}
	m.samples = keep
	st.Lag = 0
	if len(m.samples) > 0 {
		st.Lag = now.Sub(m.samples[0].at)
	}
	if bytes != nil && *bytes > 0 {
		st.Bytes = *bytes
	}
	m.status = st
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// replicaReady says why the replica keeps the instance from being ready:
// it does not answer, the change log cannot be read on it, or it lags
// beyond the bound.
func (s *Store) replicaReady() error {
	st := s.ReplicaStatus()
	switch {
	case st.Checked.IsZero():
		return fmt.Errorf("%w: the read replica has not been checked yet", grids.ErrUnavailable)
	case st.Err != nil:
		return fmt.Errorf("%w: %w", grids.ErrUnavailable, st.Err)
	case s.maxLag > 0 && st.Lag > s.maxLag:
		return fmt.Errorf("%w: the read replica is %s behind the primary (at most %s)", grids.ErrUnavailable, st.Lag.Round(time.Millisecond), s.maxLag)
	}
	if f := s.FollowStatus(); f.Err != nil {
		return fmt.Errorf("%w: the change log cannot be read: %w", grids.ErrUnavailable, f.Err)
	}
	return nil
}
