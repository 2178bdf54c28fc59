package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/tiles"
)

// startStandby takes a base backup of the primary c and starts it as a
// streaming hot standby of its own port, removed when the test ends.
func (c *cluster) startStandby(t *testing.T) *cluster {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	// Enough WAL kept for a standby stopped for a while to catch up; and
	// commits flushed at once, as by default (the test cluster turns it
	// off for speed), since a standby receives only flushed WAL.
	_, err = conn.Exec(ctx, "ALTER SYSTEM SET wal_keep_size = '128MB'")
	if err == nil {
		_, err = conn.Exec(ctx, "ALTER SYSTEM SET synchronous_commit = on")
	}
	if err == nil {
		_, err = conn.Exec(ctx, "SELECT pg_reload_conf()")
	}
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(c.data)
	port := freePort(t)
	name := fmt.Sprintf("standby-%d", port)
	s := &cluster{bin: c.bin, data: filepath.Join(dir, name), log: filepath.Join(dir, name+".log"), port: port, owner: c.owner}
	t.Cleanup(func() {
		s.run("pg_ctl", "-D", s.data, "-w", "-m", "immediate", "stop") //nolint:errcheck // may be stopped already
	})
	if out, err := s.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres",
		"-D", s.data, "-R", "-X", "stream", "-c", "fast"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(s.data, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "port = %d\nhot_standby = on\nhot_standby_feedback = on\nmax_standby_streaming_delay = 30s\n", s.port)
	f.Close()
	s.start(t)
	return s
}

// metric reads one sample of a served /metrics page (0 when absent).
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	r := call(t, "GET", base+"/metrics", "", "")
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// The scale-out test: a primary and two streaming standbys, gridd A on the
// primary and gridd B reading the map from the standbys. An edit through A
// reaches B's lookups and B's cached tiles within a second, the tiles
// invalidated exactly; B's connections to the standby cut, B resumes from
// the change log without reloading; the first standby stopped, B reads the
// second; both stopped, B answers lookups from memory and is not ready;
// the standbys back, B catches up by itself.
func TestServeReadsFromStandby(t *testing.T) {
	pg := startCluster(t)
	primary := pg.url("gridd")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const east = "110101001007002"
	token := seedTwoGrids(ctx, t, primary)
	sb, sb2 := pg.startStandby(t), pg.startStandby(t)
	standby := sb.url("gridd")

	serve := func(args ...string) (string, chan error) {
		addr := freeAddr(t)
		done := make(chan error, 1)
		e := &env{log: slog.New(slog.DiscardHandler), stdout: os.Stderr, stderr: os.Stderr}
		go func() { done <- runServe(ctx, e, append([]string{"--addr", addr}, args...)) }()
		base := "http://" + addr
		waitFor(t, "serve "+strings.Join(args, " ")+" ready", 30*time.Second, func() bool {
			return call(t, "GET", base+"/readyz", "", "").status == 200
		})
		return base, done
	}
	a, doneA := serve("--db", primary)
	b, doneB := serve("--db", primary, "--read-db", standby+","+sb2.url("gridd"), "--max-replica-lag", "2s")
	defer func() {
		cancel()
		for _, d := range []chan error{doneA, doneB} {
			select {
			case <-d:
			case <-time.After(20 * time.Second):
				t.Error("serve did not stop within 20 s")
			}
		}
	}()

	// The truth: the owner of the east point on the primary.
	pconn, err := pgx.Connect(ctx, primary)
	if err != nil {
		t.Fatal(err)
	}
	defer pconn.Close(ctx)
	// Grids are named by code and version ("110101001007002 v1").
	owner := func() string {
		var code string
		var version int
		if err := pconn.QueryRow(ctx, `SELECT code, version FROM unit_grids
			WHERE code = gridd_grid_at(ST_Point(116.4015, 39.9005, 4326)) AND valid_to IS NULL`).Scan(&code, &version); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s v%d", code, version)
	}
	lookupB := func(header ...string) (string, int) {
		r := call(t, "GET", b+"/v1/lookup?lon=116.4015&lat=39.9005", "", "", header...)
		var v struct{ Grid grids.LocatedGrid }
		json.Unmarshal([]byte(r.body), &v) //nolint:errcheck
		return fmt.Sprintf("%s v%d", v.Grid.Code, v.Grid.Version), r.status
	}
	fullLoads := func() float64 { return metric(t, b, `gridd_index_swap_seconds_count{kind="full"}`) }
	waitFor(t, "B's index to hold the grids", 10*time.Second, func() bool { c, _ := lookupB(); return c == east+" v1" })
	if n := fullLoads(); n != 1 {
		t.Fatalf("B loaded its index %v times, want 1", n)
	}

	// Two cached tiles on B: one the edits touch, one far from them.
	tileURL := func(lon float64) string {
		x, y, _, _ := tiles.Covering(orb.Bound{Min: orb.Point{lon, 39.9005}, Max: orb.Point{lon, 39.9005}}, 15)
		return fmt.Sprintf("%s/tiles/grids/15/%d/%d.mvt", b, x, y)
	}
	near, far := tileURL(116.401), tileURL(116.35)
	for _, u := range []string{near, far, near, far} {
		if r := call(t, "GET", u, "", ""); r.status != 200 {
			t.Fatalf("tile %s: %d", u, r.status)
		}
	}
	cached := func(u string) bool { return call(t, "GET", u, "", "").header.Get("X-Tile-Cache") == "hit" }
	if !cached(near) || !cached(far) {
		t.Fatal("B did not cache its tiles")
	}

	// edit posts a changeset through A and waits until B's lookups agree
	// with the primary; it returns how long that took. Read-your-writes:
	// a lookup on B that sends the WAL position A answered with is
	// answered once B has applied the edit.
	edit := func(what, body string) time.Duration {
		t.Helper()
		r := call(t, "POST", a+"/v1/changesets", token, body)
		if r.status != 201 {
			t.Fatalf("%s through A: %d %s", what, r.status, r.body)
		}
		committed := time.Now()
		want := owner()
		lsn := r.header.Get("X-Gridd-LSN")
		if c, status := lookupB("X-Gridd-Min-LSN", lsn); status != 200 || c != want {
			t.Errorf("%s: B's lookup with X-Gridd-Min-LSN %q answered %d %s, want %s", what, lsn, status, c, want)
		}
		waitFor(t, what+" to reach B's lookups", 10*time.Second, func() bool { c, _ := lookupB(); return c == want })
		return time.Since(committed)
	}
	if r := call(t, "GET", b+"/v1/lookup?lon=116.4015&lat=39.9005", "", "", "X-Gridd-Min-LSN", "yesterday"); r.status != 400 ||
		!strings.Contains(r.body, "X-Gridd-Min-LSN") {
		t.Errorf("a lookup with a malformed X-Gridd-Min-LSN: %d %s, want 400 naming the header", r.status, r.body)
	}
	took := edit("the merge", mergeBody(ctx, t, pconn))
	t.Logf("the merge through A reached B's lookups in %v", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the merge reached B's lookups after %v, want within 1 s", took)
	}
	if cached(near) {
		t.Error("B still serves the tile the merge changed from its cache")
	}
	if !cached(far) {
		t.Error("B dropped a cached tile the merge did not touch: invalidation is not exact")
	}
	merged := strings.Fields(owner())[0]
	if r := call(t, "GET", near, "", ""); !strings.Contains(r.body, merged) {
		t.Errorf("B's tile after the merge lacks the merged grid %s", merged)
	}

	// B's connections to the first standby cut: B resumes from the change
	// log.
	sconn, err := pgx.Connect(ctx, standby)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sconn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	sconn.Close(ctx)
	took = edit("the split after B's connections were cut", splitBody(ctx, t, pconn))
	t.Logf("after the cut, the split reached B's lookups in %v", took.Round(time.Millisecond))
	if n := fullLoads(); n != 1 {
		t.Errorf("B loaded its index %v times after its connections were cut, want still 1", n)
	}
	if !cached(far) {
		t.Error("B dropped an untouched cached tile after its connections were cut")
	}

	// The first standby stopped: B moves to the second and stays ready.
	sb.stop(t)
	waitFor(t, "B to read the second standby", 10*time.Second, func() bool {
		return metric(t, b, "gridd_replica_in_use") == 1 && call(t, "GET", b+"/readyz", "", "").status == 200
	})
	took = edit("the merge back with the first standby down", mergeBody(ctx, t, pconn))
	t.Logf("on the second standby, the merge reached B's lookups in %v", took.Round(time.Millisecond))

	// Both standbys stopped: B answers lookups from memory, and is not
	// ready.
	sb2.stop(t)
	before, _ := lookupB()
	waitFor(t, "B to say it is not ready", 5*time.Second, func() bool { return call(t, "GET", b+"/readyz", "", "").status == 503 })
	if r := call(t, "GET", a+"/readyz", "", ""); r.status != 200 {
		t.Errorf("A not ready while only the standbys are down: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", a+"/v1/changesets", token, splitBody(ctx, t, pconn)); r.status != 201 {
		t.Fatalf("a split through A with the standbys down: %d %s", r.status, r.body)
	}
	if c, status := lookupB(); status != 200 || c != before {
		t.Errorf("B's lookup with the standbys down: %d %s, want 200 %s from memory", status, c, before)
	}
	// B cannot apply the split: a read that asks for it is refused.
	if r := call(t, "POST", a+"/v1/changesets", token, mergeBody(ctx, t, pconn)); r.status != 201 {
		t.Fatalf("a merge through A with the standbys down: %d %s", r.status, r.body)
	} else if r2 := call(t, "GET", b+"/v1/lookup?lon=116.4015&lat=39.9005", "", "", "X-Gridd-Min-LSN", r.header.Get("X-Gridd-LSN")); r2.status != 503 ||
		!strings.Contains(r2.body, "behind") || r2.header.Get("Retry-After") == "" {
		t.Errorf("B asked for an edit it cannot apply: %d %s, want 503 behind with Retry-After", r2.status, r2.body)
	}
	// Read-your-writes: a token holder's feature reads on B come from the
	// primary, and see the edit just made; anonymous ones from a standby.
	item := "/ogc/collections/grids/items/" + strings.Fields(owner())[0]
	if r := call(t, "GET", b+item, token, ""); r.status != 200 {
		t.Errorf("the editor reading the grid just split on B: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", b+item, "", ""); r.status != 503 {
		t.Errorf("an anonymous feature read on B with the standbys down: %d %s, want 503", r.status, r.body)
	}

	// The standbys back: B catches up by itself, without a reload.
	sb.start(t)
	sb2.start(t)
	restarted := time.Now()
	want := owner()
	waitFor(t, "B to catch up", 30*time.Second, func() bool { c, _ := lookupB(); return c == want })
	waitFor(t, "B ready again", 10*time.Second, func() bool { return call(t, "GET", b+"/readyz", "", "").status == 200 })
	t.Logf("the standbys back: B caught up and was ready in %v", time.Since(restarted).Round(time.Millisecond))
	if n := fullLoads(); n != 1 {
		t.Errorf("B loaded its index %v times, want still 1", n)
	}
	if resets := metric(t, b, "gridd_change_log_resets_total"); resets != 0 {
		t.Errorf("B's change log was reset %v times", resets)
	}
}

// splitBody is a changeset splitting the grid at the east point along
// longitude 116.4013; mergeBody one merging the grids at the west and east
// points.
func splitBody(ctx context.Context, t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	g := gridAt(ctx, t, conn, 116.4015)
	return fmt.Sprintf(`{"message":"split","operations":[{"op":"split","grids":[{"code":"%s","version":%d}],
		"line":{"type":"LineString","coordinates":[[116.4013,39.899],[116.4013,39.902]]}}]}`, g, gridVersion(ctx, t, conn, g))
}

func mergeBody(ctx context.Context, t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	w, e := gridAt(ctx, t, conn, 116.4005), gridAt(ctx, t, conn, 116.4015)
	return fmt.Sprintf(`{"message":"merge","operations":[{"op":"merge","grids":[{"code":"%s","version":%d},{"code":"%s","version":%d}]}]}`,
		w, gridVersion(ctx, t, conn, w), e, gridVersion(ctx, t, conn, e))
}

// gridVersion is the current version of a grid on the primary.
func gridVersion(ctx context.Context, t *testing.T, conn *pgx.Conn, code string) int {
	t.Helper()
	var v int
	if err := conn.QueryRow(ctx, `SELECT version FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, code).Scan(&v); err != nil {
		t.Fatalf("version of %s: %v", code, err)
	}
	return v
}

// gridAt is the current grid at a longitude of the test's row of grids.
func gridAt(ctx context.Context, t *testing.T, conn *pgx.Conn, lon float64) string {
	t.Helper()
	var code string
	if err := conn.QueryRow(ctx, `SELECT gridd_grid_at(ST_Point($1, 39.9005, 4326))`, lon).Scan(&code); err != nil {
		t.Fatal(err)
	}
	return code
}
