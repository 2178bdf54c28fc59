package postgis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// slowStatement is the stand-in for slow geometry work inside an edit; the
// comment lets pg_stat_activity find it.
const slowStatement = "SELECT pg_sleep(20) /* slow edit */"

// openServeStore opens a store the way gridd serve does (its connection
// settings and budgets) on a fresh database holding the test community.
func openServeStore(t *testing.T, tm postgis.Timeouts) *postgis.Store {
	t.Helper()
	st, err := postgis.OpenWith(context.Background(), pgtest.NewURL(t), tm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	seedCommunity(t, st.Pool(), newLattice(testNX, testNY, 0, nil))
	return st
}

// runningSlow counts the backends running the slow statement.
func runningSlow(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE state = 'active' AND query = $1`, slowStatement).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startSlowEdit starts an edit of the test community that holds the
// community's editing lock while it runs the slow statement, and waits
// until PostgreSQL runs it.
func startSlowEdit(t *testing.T, st *postgis.Store) (cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- st.EditRunning(ctx, testComm, slowStatement) }()
	deadline := time.Now().Add(10 * time.Second)
	for runningSlow(t, st.Pool()) == 0 {
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("the slow edit ended before it ran: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the slow edit did not start within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cancel, errc
}

// The connections carry gridd serve's settings.
func TestServeConnectionSettings(t *testing.T) {
	st := openServeStore(t, postgis.ServeTimeouts)
	for name, want := range map[string]string{
		"statement_timeout":                   "30s",
		"lock_timeout":                        "3s",
		"idle_in_transaction_session_timeout": "1min",
		"client_connection_check_interval":    "1s",
	} {
		var got string
		if err := st.Pool().QueryRow(context.Background(), "SHOW "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

// A client that gives up on an edit (its context is cancelled) while a slow
// statement holds the community's editing lock leaves no backend running
// the statement, and the community is editable again, within a second.
func TestCancelledEditReleasesTheCommunity(t *testing.T) {
	st := openServeStore(t, postgis.ServeTimeouts)
	cancel, done := startSlowEdit(t, st)
	cancelled := time.Now()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled edit returned %v, want context.Canceled", err)
	}
	for runningSlow(t, st.Pool()) > 0 {
		if time.Since(cancelled) > time.Second {
			t.Fatal("a backend still runs the cancelled edit's statement one second after the cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := time.Since(cancelled)
	// The community's editing lock is free now, not after some timeout.
	var free bool
	if err := st.Pool().QueryRow(context.Background(), `SELECT pg_try_advisory_xact_lock(hashtextextended('gridd.community:' || $1, 0))`,
		testComm).Scan(&free); err != nil {
		t.Fatal(err)
	}
	if !free {
		t.Fatal("the community's editing lock is still held after the cancelled edit's statement ended")
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	_, err := st.ApplyChangeset(ctx, "editor", grids.ChangesetRequest{Message: "after the cancel",
		Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 1)}}}})
	edited := time.Since(cancelled)
	t.Logf("after the cancel: statement gone in %v, next edit of the community done in %v", stopped, edited)
	if err != nil {
		t.Fatalf("edit of the community after the cancel: %v", err)
	}
}

// An edit statement that runs past the edit budget fails with
// grids.ErrBusy, and releases the community.
func TestEditStatementTimeoutIsBusy(t *testing.T) {
	tm := postgis.ServeTimeouts
	tm.Edit = 200 * time.Millisecond
	st := openServeStore(t, tm)
	start := time.Now()
	err := st.EditRunning(context.Background(), testComm, slowStatement)
	if !errors.Is(err, grids.ErrBusy) || errors.Is(err, context.Canceled) {
		t.Fatalf("slow edit statement: %v, want grids.ErrBusy", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the edit budget of 200 ms ended the statement after %v", took)
	}
	if n := runningSlow(t, st.Pool()); n > 0 {
		t.Errorf("%d backend(s) still run the timed-out statement", n)
	}
	if _, err := st.ApplyChangeset(context.Background(), "editor", grids.ChangesetRequest{Message: "after the timeout",
		Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 1)}}}}); err != nil {
		t.Errorf("edit after the timeout: %v", err)
	}
}

// An edit that waits for the editing lock of a community another edit
// holds gives up after the lock budget with grids.ErrBusy, instead of
// waiting for the other edit to end.
func TestEditLockTimeoutIsBusy(t *testing.T) {
	tm := postgis.ServeTimeouts
	tm.Lock = 200 * time.Millisecond
	st := openServeStore(t, tm)
	cancel, done := startSlowEdit(t, st)
	defer func() { cancel(); <-done }()
	start := time.Now()
	_, err := st.ApplyChangeset(context.Background(), "editor", grids.ChangesetRequest{Message: "while locked",
		Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref(code("001"), 1), ref(code("002"), 1)}}}})
	took := time.Since(start)
	if !errors.Is(err, grids.ErrBusy) {
		t.Fatalf("edit of a locked community: %v, want grids.ErrBusy", err)
	}
	t.Logf("refused after %v: %v", took, err)
	if took > 3*time.Second {
		t.Errorf("an edit with a lock budget of 200 ms waited %v", took)
	}
}
