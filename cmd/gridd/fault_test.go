package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/tiles"
)

// The fault test: PostgreSQL stops under a served gridd whose clients use
// tokens. Lookups and cached tiles keep answering 200 for token holders (also
// once the token cache's time is up), writes and database reads answer 503
// with Retry-After, readiness fails; when PostgreSQL is back, writes, the
// change feed and readiness recover by themselves.
func TestServeSurvivesDatabaseRestart(t *testing.T) {
	pg := startCluster(t)
	url := pg.url("gridd")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const comm, west, east = "110101001007", "110101001007001", "110101001007002"
	token := seedTwoGrids(ctx, t, url)

	addr := freeAddr(t)
	base := "http://" + addr
	e := &env{log: slog.New(slog.DiscardHandler), stdout: os.Stderr, stderr: os.Stderr}
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, e, []string{"--db", url, "--addr", addr, "--token-cache-ttl", "1s"}) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s")
		}
	}()
	waitFor(t, "serve ready", 30*time.Second, func() bool { return call(t, "GET", base+"/readyz", "", "").status == 200 })

	westPt, eastPt := "lon=116.4005&lat=39.9005", "lon=116.4015&lat=39.9005"
	lookup := func(pt string) string {
		r := call(t, "GET", base+"/v1/lookup?"+pt, token, "")
		if r.status != 200 {
			return fmt.Sprintf("status %d: %s", r.status, r.body)
		}
		var v struct{ Grid struct{ Code string } }
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatalf("lookup answer %s: %v", r.body, err)
		}
		return v.Grid.Code
	}
	waitFor(t, "the index to hold the grids", 10*time.Second, func() bool { return lookup(eastPt) == east })
	x, y, _, _ := tiles.Covering(orb.Bound{Min: orb.Point{116.401, 39.9005}, Max: orb.Point{116.401, 39.9005}}, 15)
	tile := fmt.Sprintf("%s/tiles/grids/15/%d/%d.mvt", base, x, y)
	if r := call(t, "GET", tile, token, ""); r.status != 200 || len(r.body) == 0 {
		t.Fatalf("tile: %d (%d bytes)", r.status, len(r.body))
	}
	if r := call(t, "GET", tile, token, ""); r.header.Get("X-Tile-Cache") != "hit" {
		t.Fatalf("tile not cached: X-Tile-Cache %q", r.header.Get("X-Tile-Cache"))
	}
	merge := `{"message":"merge the two","operations":[{"op":"merge","grids":[{"code":"` + west + `","version":1},{"code":"` + east + `","version":1}]}]}`

	pg.stop(t)
	stopped := time.Now()
	// Past the token cache's time: every answer below comes from a token
	// the database can no longer confirm.
	time.Sleep(1500 * time.Millisecond)
	if got := lookup(eastPt); got != east {
		t.Errorf("lookup with a token while the database is down: %s, want %s", got, east)
	}
	if r := call(t, "POST", base+"/v1/lookup", token, `{"points":[[116.4005,39.9005],[116.4015,39.9005]]}`); r.status != 200 ||
		!strings.Contains(r.body, west) || !strings.Contains(r.body, east) {
		t.Errorf("batch lookup with a token while the database is down: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", tile, token, ""); r.status != 200 || r.header.Get("X-Tile-Cache") != "hit" {
		t.Errorf("cached tile with a token while the database is down: %d, X-Tile-Cache %q", r.status, r.header.Get("X-Tile-Cache"))
	}
	unavailable := []struct{ method, path, token, body string }{
		{"POST", "/v1/changesets", token, merge},
		{"PUT", "/v1/grids/" + west, token, `{"type":"Feature","properties":{"note":"x"},"geometry":null}`},
		{"GET", "/v1/grids/" + west, token, ""},
		{"GET", "/v1/divisions/" + comm, token, ""},
		{"GET", "/v1/history?entity=unit_grid&code=" + west, token, ""},
		{"GET", "/ogc/collections/grids/items?limit=1", token, ""},
		{"GET", fmt.Sprintf("/tiles/grids/15/%d/%d.mvt", x+1, y), token, ""}, // not cached
		{"GET", "/tiles/grids.json", token, ""},
		{"GET", "/v1/search?code=" + west, token, ""},
		// A well-formed token never seen cannot be checked.
		{"GET", "/v1/lookup?" + eastPt, "gridd_" + strings.Repeat("A", 43), ""},
		{"GET", "/readyz", "", ""},
	}
	for _, u := range unavailable {
		r := call(t, u.method, base+u.path, u.token, u.body, "If-Match", `"v1"`)
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s %s while the database is down: %d %s, want 503", u.method, u.path, r.status, r.body)
		} else if r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s while the database is down: 503 without Retry-After", u.method, u.path)
		}
		if strings.Contains(r.body, "127.0.0.1") || strings.Contains(r.body, "user=") {
			t.Errorf("%s %s while the database is down tells where the database is: %s", u.method, u.path, r.body)
		}
	}
	// A made-up token is refused as such, database or not.
	if r := call(t, "GET", base+"/v1/lookup?"+eastPt, "gridd_made_up", ""); r.status != http.StatusUnauthorized {
		t.Errorf("a malformed token while the database is down: %d %s, want 401", r.status, r.body)
	}
	t.Logf("database down for %v", time.Since(stopped).Round(time.Millisecond))

	pg.start(t)
	restarted := time.Now()
	waitFor(t, "readiness after the restart", 15*time.Second, func() bool { return call(t, "GET", base+"/readyz", "", "").status == 200 })
	ready := time.Since(restarted)
	var r response
	waitFor(t, "a write after the restart", 15*time.Second, func() bool {
		r = call(t, "POST", base+"/v1/changesets", token, merge)
		return r.status == http.StatusCreated
	})
	written := time.Since(restarted)
	waitFor(t, "the edit to reach lookups", 5*time.Second, func() bool {
		w := lookup(westPt)
		return (w == west || w == east) && lookup(eastPt) == w
	})
	t.Logf("after the restart: ready in %v, written in %v, the edit in lookups in %v",
		ready.Round(time.Millisecond), written.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
}

// seedTwoGrids migrates the database at url and stores a community of two
// grids side by side (110101001007001 west of 110101001007002, each
// 0.001° square at 116.400-116.402, 39.900-39.901); it returns an editor's
// token.
func seedTwoGrids(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	const comm, west, east = "110101001007", "110101001007001", "110101001007002"
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgis.Migrate(ctx, st.Pool()); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		for _, q := range []string{
			`INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区', ST_Multi(ST_MakeEnvelope(116.39, 39.89, 116.41, 39.91, 4326)))`,
			`INSERT INTO streets (code, name, parent_code, geom) VALUES ('110101001', '东华门街道', '110101', ST_Multi(ST_MakeEnvelope(116.395, 39.895, 116.405, 39.905, 4326)))`,
			`INSERT INTO communities (code, name, parent_code, geom) VALUES ('` + comm + `', '南池子社区', '110101001', ST_Multi(ST_MakeEnvelope(116.400, 39.900, 116.402, 39.901, 4326)))`,
			`INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
				SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(gridd_edit_metric(g))
				FROM (VALUES ('` + west + `', ST_MakeEnvelope(116.400, 39.900, 116.401, 39.901, 4326)),
				             ('` + east + `', ST_MakeEnvelope(116.401, 39.900, 116.402, 39.901, 4326))) v (code, g)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	token, err := st.CreateToken(ctx, "field-app", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return token
}

type response struct {
	status int
	header http.Header
	body   string
}

// call makes a request with the token and body, if any, and the headers
// given as name, value pairs.
func call(t *testing.T, method, url, token, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return response{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// cluster is a PostgreSQL cluster of the test's own, which it can stop and
// start: the shared test server must not be stopped.
type cluster struct {
	bin, data, log string
	port           int
	owner          *user.User // the postgres user when the test runs as root
}

// startCluster creates and starts a cluster with PostGIS and a database
// "gridd", removed when the test ends. Without the PostgreSQL binaries the
// test skips, or fails under CI.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		clusterUnavailable(t, "no /usr/lib/postgresql/*/bin/pg_ctl (scripts/db.sh start installs PostgreSQL)")
	}
	if _, err := os.Stat(filepath.Join("/usr/share/postgresql", filepath.Base(filepath.Dir(bin)), "extension/postgis.control")); err != nil {
		clusterUnavailable(t, "PostGIS is not installed for "+bin)
	}
	dir, err := os.MkdirTemp("", "gridd-fault-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{bin: bin, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "log"), port: freePort(t)}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		if c.owner, err = user.Lookup("postgres"); err != nil {
			clusterUnavailable(t, "running as root and there is no postgres user: "+err.Error())
		}
		uid, _ := strconv.Atoi(c.owner.Uid)
		gid, _ := strconv.Atoi(c.owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data, "-w", "-m", "immediate", "stop") //nolint:errcheck // may be stopped already
		os.RemoveAll(dir)
	})
	if out, err := c.run("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"); err != nil {
		clusterUnavailable(t, fmt.Sprintf("initdb: %v\n%s", err, out))
	}
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = ''\nfsync = off\n"+
		"synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\nmax_connections = 50\n", c.port)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE gridd")
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err = pgx.Connect(ctx, c.url("gridd")); err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION postgis"); err != nil {
		clusterUnavailable(t, "create extension postgis: "+err.Error())
	}
	return c
}

func clusterUnavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and the test cannot run its own PostgreSQL cluster: %s", why)
	}
	t.Skipf("cannot run a PostgreSQL cluster of the test's own: %s", why)
}

// pgBin is the bin directory of the newest installed PostgreSQL, or "".
func pgBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi > vj
	})
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[0])
}

func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// run runs one of the server's programs as the cluster's owner.
func (c *cluster) run(name string, args ...string) ([]byte, error) {
	prog := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.owner != nil {
		cmd = exec.Command("runuser", append([]string{"-u", c.owner.Username, "--", prog}, args...)...)
	} else {
		cmd = exec.Command(prog, args...)
	}
	return cmd.CombinedOutput()
}

func (c *cluster) start(t *testing.T) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-l", c.log, "-w", "-t", "60", "start"); err != nil {
		logs, _ := os.ReadFile(c.log)
		t.Fatalf("start PostgreSQL: %v\n%s\n%s", err, out, logs)
	}
}

func (c *cluster) stop(t *testing.T) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-w", "-m", "fast", "stop"); err != nil {
		t.Fatalf("stop PostgreSQL: %v\n%s", err, out)
	}
}
