package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Without --db and DATABASE_URL, the commands find the running private
// cluster of the checkout from the working directory (or a folder under
// it), and say what to do when there is none or it is stopped.
func TestPrivateClusterURL(t *testing.T) {
	checkout := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(checkout, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := func(wantURL, wantErr string) {
		t.Helper()
		url, dir, err := privateClusterURL()
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("got %q, %v; want an error with %q", url, err, wantErr)
			}
			return
		}
		if err != nil || url != wantURL || dir != checkout {
			t.Fatalf("got %q in %q, %v; want %q in %q", url, dir, err, wantURL, checkout)
		}
	}

	t.Chdir(checkout)
	want("", "neither the working directory nor the binary is in a gridd checkout")

	write("scripts/db.sh", "#!/bin/sh\n")
	want("", "no cluster in "+filepath.Join(checkout, ".data/pg"))

	write(".data/pg/PG_VERSION", "15\n")
	want("", "is stopped")

	// A live process (this test) and the port the server listens on.
	pid := func(p int) string {
		return fmt.Sprintf("%d\n%s/.data/pg\n1796423937\n55433\n\n127.0.0.1\n  5316613     65565\nready   \n", p, checkout)
	}
	write(".data/pg/postmaster.pid", pid(os.Getpid()))
	want("postgres://postgres@127.0.0.1:55433/gridd?sslmode=disable", "")

	// From a folder inside the checkout.
	if err := os.MkdirAll(filepath.Join(checkout, "testdata/dongcheng"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(checkout, "testdata/dongcheng"))
	want("postgres://postgres@127.0.0.1:55433/gridd?sslmode=disable", "")

	// A postmaster.pid left behind by a server that is gone.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	write(".data/pg/postmaster.pid", pid(cmd.Process.Pid))
	want("", fmt.Sprintf("names process %d, which is gone", cmd.Process.Pid))
	want("", "start it with scripts/db.sh start")

	write(".data/pg/postmaster.pid", "garbage\n")
	want("", "postmaster.pid: 2 lines, want at least 4")
}
