package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gridd/grids/postgis/pgtest"
)

// readmeSkipped are the ```sh blocks of README.md the test does not run,
// each named by the start of its first line, with the reason. A name that matches no
// block fails the test, so the list cannot outlive its blocks.
var readmeSkipped = []struct{ firstLine, why string }{
	{"# primary: postgresql.conf",
		"settings of a three-database deployment and its gridd serve lines; TestServeReadsFromStandby runs a primary, two standbys and two instances"},
	{"make run    # install PostgreSQL + PostGIS",
		"make run and make test are the set-up this test does itself (a fresh database, gridd demo, gridd serve)"},
	{"bin/gridd import divisions --crs gcj02 communities.geojson",
		"imports the user's own file, a placeholder"},
	{"bin/gridd import divisions --fit 2m --dry-run xzq.shp",
		"imports the user's own files (xzq.shp, roads.zip, census.gpkg), a placeholder district, and starts a second gridd serve"},
	{"bin/gridd import components census.csv",
		"imports the user's own files, placeholders"},
}

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line       int    // of the block's first command, 1-based
	text       string // the block as written
	statements int    // commands, a command continued over lines counting once
}

// TestReadmeExamples runs every command block of README.md, as written,
// against the demo: it builds bin/gridd, loads the demo into a fresh
// database with gridd demo, serves it with gridd serve, and runs the
// blocks in README order in one bash session (set -euo pipefail), so the
// variables one block sets (T, CS, C...) are there for the next. Only
// localhost:8080 (the server's port) and bin/gridd (the built binary) are
// rewritten. curl is a shell function that fails the block on an HTTP
// status of 400 or more, unless the README line ends with a comment
// naming the status it expects (# 412 ...); a comment naming any status
// (# 201 ...) makes that status the only one accepted.
func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gridd and loads the demo district")
	}
	for _, tool := range []string{"bash", "curl", "grep", "sed", "cut", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples need %s: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var run []readmeBlock
	for _, b := range blocks {
		if why := readmeSkip(b); why != "" {
			t.Logf("README.md:%d skipped: %s", b.line, why)
			continue
		}
		if !strings.Contains(b.text, "curl ") && !strings.Contains(b.text, "bin/gridd ") {
			t.Errorf("README.md:%d: a sh block that neither calls curl nor bin/gridd; run it here or skip it in readmeSkipped", b.line)
		}
		run = append(run, b)
	}
	for _, s := range readmeSkipped {
		n := 0
		for _, b := range blocks {
			if strings.HasPrefix(firstLine(b.text), s.firstLine) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("readmeSkipped names %q, which is the first line of %d sh blocks of README.md, not 1", s.firstLine, n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	url := pgtest.NewURL(t)
	work := t.TempDir()
	bin := filepath.Join(work, "gridd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The blocks run in a folder of their own (curl -o t.mvt writes
	// there), which has the checkout's testdata as the README's paths
	// expect.
	dir := filepath.Join(work, "checkout")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "testdata"), filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "DATABASE_URL="+url, "GRIDD_LOG_LEVEL=warn")

	demo := exec.Command(bin, "demo")
	demo.Dir, demo.Env = dir, environ
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("gridd demo: %v\n%s", err, out)
	}

	addr := freeAddr(t)
	serve := exec.Command(bin, "serve", "--addr", addr)
	serve.Dir, serve.Env = dir, environ
	serveLog, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	serve.Stdout, serve.Stderr = serveLog, serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			serve.Process.Kill()
			<-exited
			t.Error("gridd serve did not stop within 20 s of SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(serveLog.Name())
			t.Logf("gridd serve's log:\n%s", b)
		}
	})
	waitFor(t, "gridd serve ready", 60*time.Second, func() bool {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(serveLog.Name())
			t.Fatalf("gridd serve exited: %v\n%s", err, b)
		default:
		}
		return call(t, "GET", "http://"+addr+"/readyz", "", "").status == 200
	})

	var script strings.Builder
	script.WriteString(readmeShellPrelude)
	commands := 0
	for i, b := range run {
		text := strings.ReplaceAll(b.text, "localhost:8080", addr)
		text = strings.ReplaceAll(text, "bin/gridd", bin)
		fmt.Fprintf(&script, "echo '@@block %d'\n%s\necho '@@block-ok %d'\n", i, expectStatuses(text), i)
		commands += b.statements
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir, sh.Env = dir, environ
	out, err := sh.CombinedOutput()

	// The output block by block: the last block started and not finished
	// is the one that failed.
	outputs := map[int]string{}
	done := map[int]bool{}
	cur := -1
	for _, l := range strings.SplitAfter(string(out), "\n") {
		var n int
		if _, e := fmt.Sscanf(l, "@@block-ok %d", &n); e == nil {
			done[n] = true
			continue
		}
		if _, e := fmt.Sscanf(l, "@@block %d", &n); e == nil {
			cur = n
			continue
		}
		if cur >= 0 {
			outputs[cur] += l
		}
	}
	for i, b := range run {
		switch {
		case done[i]:
			t.Logf("README.md:%d: %d commands passed\n%s", b.line, b.statements, clip(outputs[i], 1500))
		case outputs[i] != "" || i == cur:
			t.Errorf("README.md:%d: the block failed (%v):\n%s\n--- output:\n%s", b.line, err, b.text, outputs[i])
		default:
			t.Errorf("README.md:%d: not run, an earlier block failed", b.line)
		}
	}
	if err != nil && !t.Failed() {
		t.Errorf("bash: %v\n%s", err, out)
	}
	// The demo routes: every report the README routes finds a department,
	// by the street office or by a rule.
	for _, want := range []string{`"decided_by":"territorial"`, `"decided_by":"rule"`} {
		if !t.Failed() && !strings.Contains(string(out), want) {
			t.Errorf("no route answer of the README's examples has %s", want)
		}
	}
	if strings.Contains(string(out), `"decided_by":"none"`) {
		t.Errorf("a route answer of the README's examples found no department")
	}
	if !t.Failed() {
		t.Logf("README.md: %d sh blocks, %d commands run, all passed; %d blocks skipped", len(run), commands, len(blocks)-len(run))
	}
}

// readmeShellPrelude starts the script: strict bash, and a curl that fails
// on an HTTP error status unless EXPECT names the status wanted.
const readmeShellPrelude = `set -euo pipefail
shopt -s inherit_errexit
trap 'echo "README: command failed (exit $?): $BASH_COMMAND" >&2' ERR
curl() {
	local hdr status rc=0
	hdr=$(mktemp)
	command curl -sS -D "$hdr" "$@" || rc=$?
	status=$(tr -d '\r' <"$hdr" | awk '/^HTTP\//{ s = $2 } END { print s }')
	rm -f "$hdr"
	if [ "$rc" != 0 ]; then
		echo "README: curl $* failed (exit $rc)" >&2
		return "$rc"
	fi
	echo >&2
	if [ -n "${EXPECT:-}" ]; then
		if [ "$status" != "$EXPECT" ]; then
			echo "README: curl $*: HTTP $status, the README says $EXPECT" >&2
			return 1
		fi
	elif [ -z "$status" ] || [ "$status" -ge 400 ]; then
		echo "README: curl $*: HTTP $status" >&2
		return 1
	fi
	echo "[HTTP $status]" >&2
}
`

// readmeBlocks returns the ```sh blocks of the file.
func readmeBlocks(path string) ([]readmeBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []readmeBlock
	var cur *readmeBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(l) == "```sh":
			cur = &readmeBlock{line: n + 1}
		case cur != nil && strings.TrimSpace(l) == "```":
			cur.statements = len(shellStatements(cur.text))
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: a sh block that never ends", path, cur.line-1)
	}
	return out, sc.Err()
}

func readmeSkip(b readmeBlock) string {
	for _, s := range readmeSkipped {
		if strings.HasPrefix(firstLine(b.text), s.firstLine) {
			return s.why
		}
	}
	return ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// shellStatement is one command of a block: its lines, and the comment at
// the end of its last line.
type shellStatement struct {
	lines   []string
	comment string
}

// shellStatements splits a block into commands: a command goes on while a
// quote or parenthesis is open or a line ends with \ or |. Blank lines and
// comment lines are no commands.
func shellStatements(text string) []shellStatement {
	var out []shellStatement
	var cur shellStatement
	var quote rune
	depth := 0
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		code, comment := l, ""
		for i, r := range l {
			switch {
			case quote != 0:
				if r == quote {
					quote = 0
				}
			case r == '\'' || r == '"':
				quote = r
			case r == '(':
				depth++
			case r == ')':
				depth--
			case r == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
				code, comment = l[:i], strings.TrimSpace(l[i+1:])
			}
			if comment != "" || code != l {
				break
			}
		}
		if len(cur.lines) == 0 && strings.TrimSpace(code) == "" {
			continue
		}
		cur.lines = append(cur.lines, l)
		cur.comment = comment
		c := strings.TrimSpace(code)
		if quote != 0 || depth > 0 || strings.HasSuffix(c, "\\") || strings.HasSuffix(c, "|") {
			continue
		}
		out = append(out, cur)
		cur = shellStatement{}
	}
	if len(cur.lines) > 0 {
		out = append(out, cur)
	}
	return out
}

var (
	expectedStatus = regexp.MustCompile(`^([1-5][0-9][0-9])\b`)
	curlWord       = regexp.MustCompile(`(^|[\s(])curl `)
)

// expectStatuses prefixes the curl of every command whose comment starts
// with an HTTP status with EXPECT=status, which the prelude's curl checks.
func expectStatuses(text string) string {
	var b strings.Builder
	for _, s := range shellStatements(text) {
		joined := strings.Join(s.lines, "\n")
		if m := expectedStatus.FindStringSubmatch(s.comment); m != nil {
			loc := curlWord.FindStringSubmatchIndex(joined)
			if loc != nil {
				at := loc[3] // after the character before curl
				joined = joined[:at] + "EXPECT=" + m[1] + " " + joined[at:]
			}
		}
		b.WriteString(joined + "\n")
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes more)", len(s)-n)
}
