package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids/postgis/pgtest"
)

// runGridd runs a gridd command and returns what it printed.
func runGridd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}
	err = commands[args[0]].run(context.Background(), e, args[1:])
	b, _ := os.ReadFile(out.Name())
	return string(b), err
}

// testdata/messy_divisions.geojson: a district of two streets of two
// communities each, digitised separately (see testdata/README.md).
func TestImportDivisionsFitCommand(t *testing.T) {
	url := pgtest.NewURL(t)
	const file = "../../testdata/messy_divisions.geojson"
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	count := func() string {
		var divisions, history int
		err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM divisions), (SELECT count(*) FROM history)`).Scan(&divisions, &history)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d divisions, %d history rows", divisions, history)
	}
	before := count()

	out, err := runGridd(t, "import", "divisions", "--db", url, file)
	if err == nil || !strings.Contains(err.Error(), "sticks out of its parent 110101001 by 25") {
		t.Fatalf("strict import: want refused for sticking out, got %v\n%s", err, out)
	}

	out, err = runGridd(t, "import", "divisions", "--db", url, "--fit", "1cm", file)
	if err == nil {
		t.Fatalf("--fit 1cm imported:\n%s", out)
	}
	for _, code := range []string{"110101001", "110101002", "110101001001", "110101001002", "110101002001", "110101002002"} {
		if !regexp.MustCompile(`\(code ` + code + `\): \S+: fitting .* moves its boundary by [0-9.]+ m, more than the tolerance 0.01 m`).MatchString(err.Error()) {
			t.Errorf("--fit 1cm: %s not refused with its distance:\n%v", code, err)
		}
	}

	out, err = runGridd(t, "import", "divisions", "--db", url, "--fit", "2m", "--dry-run", file)
	if err != nil {
		t.Fatalf("--fit 2m --dry-run: %v\n%s", err, out)
	}
	t.Log(out)
	for _, want := range []string{
		"110101001001 多福巷社区: ", "gave up 25.1", "moved at most 1.00 m",
		"fit within 2 m: 6 of 7 features moved, at most 1.00 m",
		"dry run, nothing written: " + file + ": 7 created",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run report lacks %q", want)
		}
	}
	if c := count(); c != before {
		t.Errorf("the dry run wrote something: %s", c)
	}

	out, err = runGridd(t, "import", "divisions", "--db", url, "--fit", "2m", file)
	if err != nil || !strings.Contains(out, "imported "+file+": 7 created") {
		t.Fatalf("--fit 2m: %v\n%s", err, out)
	}
	// Fitted, the file's divisions are stored exactly nested: importing the
	// same file again fits it to the same result and changes nothing.
	out, err = runGridd(t, "import", "divisions", "--db", url, "--fit", "2m", file)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 7 unchanged") {
		t.Errorf("second --fit 2m import: %v\n%s", err, out)
	}
}
