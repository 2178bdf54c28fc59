package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The private cluster: scripts/db.sh start runs PostgreSQL from .data/pg of
// the checkout, and scripts/db.sh url prints its URL. Without --db and
// DATABASE_URL, the commands use that cluster when it is running, so that
// bin/gridd works after make run with nothing exported.

// privateClusterDB is the database scripts/db.sh creates in the cluster.
const privateClusterDB = "gridd"

// privateClusterURL finds the running private cluster of the checkout that
// holds the working directory, else of the one that holds the binary
// (bin/gridd), and returns its URL and the checkout's folder. A checkout is
// a folder with scripts/db.sh; its cluster is .data/pg, running when
// postmaster.pid names a live process. The error says what was looked for
// and what to do.
func privateClusterURL() (url, checkout string, err error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	var stopped []string
	seen := map[string]bool{}
	for _, start := range starts {
		dir := findCheckout(start)
		if dir == "" || seen[dir] {
			continue
		}
		seen[dir] = true
		url, err := runningClusterURL(filepath.Join(dir, ".data", "pg"))
		if err == nil {
			return url, dir, nil
		}
		stopped = append(stopped, fmt.Sprintf("%s: %v", dir, err))
	}
	if len(stopped) > 0 {
		return "", "", fmt.Errorf("no database: DATABASE_URL is unset and the private cluster is not running (%s); "+
			"start it with scripts/db.sh start (or make run) in that checkout, or set DATABASE_URL or pass --db URL",
			strings.Join(stopped, "; "))
	}
	return "", "", errors.New("no database: DATABASE_URL is unset and neither the working directory nor the binary is in a gridd checkout " +
		"(a folder with scripts/db.sh); set DATABASE_URL or pass --db URL, or run make run in the checkout, which starts its private cluster")
}

// findCheckout returns the nearest folder from dir up that has
// scripts/db.sh, or "".
func findCheckout(dir string) string {
	for {
		if fi, err := os.Stat(filepath.Join(dir, "scripts", "db.sh")); err == nil && !fi.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// runningClusterURL reads the cluster's postmaster.pid (the server's pid on
// line 1, its port on line 4) and returns the URL scripts/db.sh url prints
// for it (db.sh listens on 127.0.0.1 only), when that process is alive.
func runningClusterURL(data string) (string, error) {
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		return "", fmt.Errorf("no cluster in %s", data)
	}
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("the cluster in %s is stopped", data)
	}
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return "", fmt.Errorf("%s/postmaster.pid: %d lines, want at least 4", data, len(lines))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return "", fmt.Errorf("%s/postmaster.pid line 1: %q is not a process id", data, lines[0])
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || port <= 0 || port > 65535 {
		return "", fmt.Errorf("%s/postmaster.pid line 4: %q is not a port", data, lines[3])
	}
	// Signal 0 checks that the process exists; EPERM means it does, owned
	// by another user (the postgres user when db.sh ran as root).
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return "", fmt.Errorf("the cluster in %s is not running (postmaster.pid names process %d, which is gone)", data, pid)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, privateClusterDB), nil
}
