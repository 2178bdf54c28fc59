package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// gridd history lists a department's changes with their ids, and reverting
// the rename brings the old name back, recorded with the CLI's actor.
func TestHistoryCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewURL(t)
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const code = "11110101MB1234567X"
	for _, name := range []string{"东华门街道办事处", "东华门街道"} {
		if _, err := st.PutDepartment(ctx, grids.Department{Code: code, Name: name}, "admin", "set"); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		out, _ := os.Create(filepath.Join(t.TempDir(), "stdout"))
		e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}
		if err := runHistory(ctx, e, append(args, "--db", url, "--actor", "cli:wang")); err != nil {
			t.Fatalf("gridd history %v: %v", args, err)
		}
		b, _ := os.ReadFile(out.Name())
		return string(b)
	}
	list := run("list", "--entity", "department", "--code", code)
	rows := regexp.MustCompile(`(?m)^(\d+)\s.*\s(create|update)\s+set$`).FindAllStringSubmatch(list, -1)
	if len(rows) != 2 || rows[1][2] != "update" {
		t.Fatalf("history list:\n%s", list)
	}
	if out := run("revert", rows[1][1], "--reason", "typo"); !strings.Contains(out, "reverted: update department "+code) {
		t.Errorf("history revert: %s", out)
	}
	ds, err := st.Departments(ctx)
	if err != nil || len(ds) != 1 || ds[0].Name != "东华门街道办事处" {
		t.Errorf("departments after the revert: %+v %v", ds, err)
	}
	if list := run("list", "--entity", "department", "--code", code); !strings.Contains(list, "cli:wang  update  revert of change "+rows[1][1]+": typo") {
		t.Errorf("the revert is not in the history:\n%s", list)
	}
}
