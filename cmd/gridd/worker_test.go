package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// gridd worker add, assign, end and list; bad assignments fail and say why.
func TestWorkerCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewURL(t)
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Pool().Exec(ctx, `
		WITH m AS (INSERT INTO mgmt_grids (code, name, street_code, kind, community_code)
		           VALUES ('110101001007-S01', '南池子一网格', '110101001', 'social', '110101001007') RETURNING id)
		INSERT INTO mgmt_grid_members SELECT m.id, '110101001007001' FROM m`); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "stdout")
	run := func(args ...string) (string, error) {
		t.Helper()
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		e := &env{log: slog.New(slog.DiscardHandler), stdout: f, stderr: f}
		err = runWorker(ctx, e, append([]string{args[0], "--db", url}, args[1:]...))
		b, _ := os.ReadFile(out)
		return string(b), err
	}
	got, err := run("add", "--name", "王芳", "--phone", "13800000001")
	if err != nil || !strings.HasPrefix(got, "added grid_worker 1 王芳 13800000001") {
		t.Fatalf("add: %q %v", got, err)
	}
	if got, err = run("add", "--name", "李强", "--role", "supervisor"); err != nil || !strings.Contains(got, "supervisor 2 李强") {
		t.Fatalf("add supervisor: %q %v", got, err)
	}
	got, err = run("assign", "--worker", "1", "--mgmt-grid", "110101001007-S01", "--from", "2020-03-01", "--to", "2020-04-01 08:00")
	if err != nil || !strings.Contains(got, "duty 1: worker 1 on management grid 110101001007-S01 from 2020-03-01T00:00:00+08:00 to 2020-04-01T08:00:00+08:00") {
		t.Fatalf("assign: %q %v", got, err)
	}
	if got, err = run("assign", "--worker", "2", "--mgmt-grid", "110101001007-S01", "--from", "2020-03-01T00:00:00Z"); err != nil || !strings.Contains(got, "(open-ended)") {
		t.Fatalf("assign open-ended: %q %v", got, err)
	}
	for _, c := range []struct {
		args []string
		has  string
	}{
		{[]string{"assign", "--worker", "1", "--mgmt-grid", "nowhere", "--from", "2020-03-01"}, "no current management grid nowhere"},
		{[]string{"assign", "--worker", "1", "--mgmt-grid", "110101001007-S01", "--from", "2020-03-15"}, "already has duty 1"},
		{[]string{"assign", "--worker", "1", "--mgmt-grid", "110101001007-S01", "--from", "2020-06-01", "--to", "2020-05-01"}, "not after its start"},
		{[]string{"assign", "--worker", "1", "--mgmt-grid", "110101001007-S01", "--from", "soon"}, "not a time"},
		{[]string{"add", "--name", "x", "--role", "mayor"}, "mayor"},
		{[]string{"nonsense"}, "usage"},
	} {
		if _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.has) {
			t.Errorf("worker %v: %v; want an error naming %q", c.args, err, c.has)
		}
	}
	got, err = run("list", "--mgmt-grid", "110101001007-S01")
	if err != nil || !strings.Contains(got, "2\t李强\tsupervisor") || !strings.Contains(got, "duty 2\t110101001007-S01") {
		t.Errorf("list: %q %v", got, err)
	}
	if strings.Contains(got, "王芳") { // her duty ended on 2020-04-01
		t.Errorf("list shows a worker whose duty has ended: %q", got)
	}
	if got, err = run("end", "--duty", "2", "--at", "2020-05-01"); err != nil || !strings.Contains(got, "to 2020-05-01T00:00:00+08:00") {
		t.Errorf("end: %q %v", got, err)
	}
	if got, err = run("list", "--mgmt-grid", "110101001007-S01"); err != nil || strings.Contains(got, "李强") {
		t.Errorf("list after end: %q %v", got, err)
	}
	if got, err = run("list"); err != nil || !strings.Contains(got, "1\t王芳") || !strings.Contains(got, "2\t李强") {
		t.Errorf("list all: %q %v", got, err)
	}
	if got, err = run("leave", "--worker", "1"); err != nil || !strings.Contains(got, "grid_worker 1 王芳 left at") {
		t.Errorf("leave: %q %v", got, err)
	}
	if _, err = run("leave", "--worker", "1"); err == nil || !strings.Contains(err.Error(), "left at") {
		t.Errorf("leaving twice: %v; want an error saying when the worker left", err)
	}
	if got, err = run("list"); err != nil || strings.Contains(got, "王芳") || !strings.Contains(got, "2\t李强") {
		t.Errorf("list after 王芳 left: %q %v", got, err)
	}
}
