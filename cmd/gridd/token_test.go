package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// gridd token create prints the secret once, on stdout; the database keeps
// only its hash, and the secret authenticates with its role.
func TestTokenCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewURL(t)
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, _ := os.Create(filepath.Join(t.TempDir(), "stderr"))
	e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: errf}
	if err := runToken(ctx, e, []string{"create", "--db", url, "--role", "editor", "--name", "wang.li"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	secret := strings.TrimSpace(string(b))
	if !strings.HasPrefix(secret, "gridd_") || len(secret) < 40 {
		t.Fatalf("printed %q, want one gridd_ token", secret)
	}
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.Authenticate(ctx, secret)
	if err != nil || tok.Name != "wang.li" || tok.Role != grids.RoleEditor {
		t.Fatalf("Authenticate: %+v %v", tok, err)
	}
	var stored int
	st.Pool().QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE position(convert_to($1, 'UTF8') in hash) > 0 OR name = $1`, secret).Scan(&stored)
	if stored != 0 {
		t.Error("the secret is stored in clear")
	}
	for _, args := range [][]string{
		{"create", "--db", url, "--role", "root", "--name", "x"},
		{"create", "--db", url, "--role", "viewer"},
		{"create", "--db", url, "--role", "viewer", "--name", "wang.li"}, // a live token of that name exists
		{"revoke", "--db", url, "--name", "nobody"},
	} {
		if err := runToken(ctx, e, args); err == nil {
			t.Errorf("token %v succeeded", args)
		}
	}
	if err := runToken(ctx, e, []string{"revoke", "--db", url, "--name", "wang.li"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, secret); err == nil {
		t.Error("a revoked token still authenticates")
	}
}
