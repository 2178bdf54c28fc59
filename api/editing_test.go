package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// A 3 × 2 community of ~100 m cells, codes 001-006 north to south, west to
// east, with bit-identical shared vertices.
const (
	eLon0, eLat0 = 116.40, 39.90
	eDLon, eDLat = 0.00117, 0.0009
)

func seedEditable(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区', ST_Multi(ST_MakeEnvelope(116.39, 39.89, 116.42, 39.92, 4326)));
			INSERT INTO streets (code, name, parent_code, geom) VALUES ('110101001', '东华门街道', '110101', ST_Multi(ST_MakeEnvelope(116.39, 39.89, 116.42, 39.92, 4326)));`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO communities (code, name, parent_code, geom) VALUES ('110101001007', '南池子社区', '110101001',
			ST_Multi(ST_MakeEnvelope($1::float8, $2::float8, $1::float8 + 3 * $3::float8, $2::float8 + 2 * $4::float8, 4326)))`, eLon0, eLat0, eDLon, eDLat)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT '110101001007' || lpad(((1 - j) * 3 + i + 1)::text, 3, '0'), '110101001007', '110101001', '110101',
				ST_MakeEnvelope($1::float8 + i * $3::float8, $2::float8 + j * $4::float8, $1::float8 + (i + 1) * $3::float8, $2::float8 + (j + 1) * $4::float8, 4326), 10000
			FROM generate_series(0, 2) i, generate_series(0, 1) j`, eLon0, eLat0, eDLon, eDLat)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, body string, hdr ...string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func newEditServer(t *testing.T, private bool) (*httptest.Server, *postgis.Store) {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	srv := api.New(api.Config{Ready: st.Ready, Divisions: st, Editor: st, Tokens: st, PrivateReads: private})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, st
}

func TestEditingAPI(t *testing.T) {
	ctx := context.Background()
	ts, st := newEditServer(t, false)
	editorTok, err := st.CreateToken(ctx, "alice", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	viewerTok, _ := st.CreateToken(ctx, "bob", grids.RoleViewer)
	anon := client{t: t, base: ts.URL}
	alice := client{t: t, base: ts.URL, token: editorTok}
	bob := client{t: t, base: ts.URL, token: viewerTok}

	// Reads are public by default; the version is a strong ETag.
	status, hdr, body := anon.do("GET", "/v1/grids/110101001007005", "")
	if status != 200 || hdr.Get("ETag") != `"v1"` || !strings.Contains(body, `"version":1`) {
		t.Fatalf("GET grid: %d %s %s", status, hdr.Get("ETag"), body)
	}
	if status, _, _ := anon.do("GET", "/v1/grids/110101001007005", "", "If-None-Match", `"v1"`); status != 304 {
		t.Errorf("If-None-Match: %d, want 304", status)
	}

	x := eLon0 + 1.5*eDLon
	split := fmt.Sprintf(`{"message":"new lane","operations":[{"op":"split","grids":[{"code":"110101001007005","version":1}],
		"line":{"type":"LineString","coordinates":[[%v,39.899],[%v,39.902]]}}]}`, x, x)
	// Writes need an editor token.
	for _, tc := range []struct {
		name   string
		c      client
		status int
		want   string
	}{
		{"no token", anon, 401, "needs an API token with role editor"},
		{"wrong token", client{t: t, base: ts.URL, token: "gridd_nope"}, 401, "not valid"},
		{"viewer token", bob, 403, "token bob has role viewer; this needs editor"},
	} {
		status, hdr, body := tc.c.do("POST", "/v1/changesets", split)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, status, body, tc.status, tc.want)
		}
		if status == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	status, hdr, body = alice.do("POST", "/v1/changesets", split)
	if status != 201 || hdr.Get("Location") == "" {
		t.Fatalf("split: %d %s", status, body)
	}
	var cs grids.Changeset
	json.Unmarshal([]byte(body), &cs)
	if len(cs.Result.Created) != 1 || cs.Result.Created[0].Code != "110101001007007" || cs.Actor != "token:alice" {
		t.Errorf("split result %s", body)
	}
	// The same edit again is stale: 412 with the current versions.
	status, _, body = alice.do("POST", "/v1/changesets", split)
	if status != 412 || !strings.Contains(body, `"code":"stale_version"`) || !strings.Contains(body, `"current":[{"code":"110101001007005","version":2}]`) {
		t.Errorf("stale changeset: %d %s", status, body)
	}
	// A changeset that would leave a gap: 422, nothing written.
	gap := `{"message":"oops","operations":[{"op":"replace","grids":[{"code":"110101001007001","version":1}],
		"parts":[{"code":"110101001007001","geometry":{"type":"Polygon","coordinates":[[[116.4,39.9009],[116.4011,39.9009],[116.4011,39.9018],[116.4,39.9018],[116.4,39.9009]]]}}]}]}`
	if status, _, body := alice.do("POST", "/v1/changesets", gap); status != 422 || !strings.Contains(body, "a gap of") {
		t.Errorf("gap: %d %s", status, body)
	}
	if status, _, body := alice.do("POST", "/v1/changesets", `{"message":"x","operations":[{"op":"twist"}]}`); status != 400 || !strings.Contains(body, `unknown operation \"twist\"`) {
		t.Errorf("bad op: %d %s", status, body)
	}

	// PUT needs If-Match; a stale one is 412; the right one changes the grid.
	put := `{"type":"Feature","properties":{"land_use":"residential","message":"survey 2026"},"geometry":null}`
	if status, _, _ := alice.do("PUT", "/v1/grids/110101001007001", put); status != 428 {
		t.Errorf("PUT without If-Match: %d, want 428", status)
	}
	if status, _, body := alice.do("PUT", "/v1/grids/110101001007005", put, "If-Match", `"v1"`); status != 412 || !strings.Contains(body, "current version is 2") {
		t.Errorf("PUT with a stale ETag: %d %s", status, body)
	}
	status, hdr, body = alice.do("PUT", "/v1/grids/110101001007001", put, "If-Match", `"v1"`)
	if status != 200 || hdr.Get("ETag") != `"v2"` || !strings.Contains(body, `"land_use":"residential"`) {
		t.Errorf("PUT: %d %s %s", status, hdr.Get("ETag"), body)
	}

	// History and changesets are readable; revert works once.
	status, _, body = anon.do("GET", "/v1/grids/110101001007005/history", "")
	if status != 200 || !strings.Contains(body, `"actor":"token:alice"`) || !strings.Contains(body, `"reason":"new lane"`) {
		t.Errorf("history: %d %s", status, body)
	}
	if status, _, body := anon.do("GET", fmt.Sprintf("/v1/changesets/%d", cs.ID), ""); status != 200 || !strings.Contains(body, `"message":"new lane"`) {
		t.Errorf("GET changeset: %d %s", status, body)
	}
	status, _, body = alice.do("POST", fmt.Sprintf("/v1/changesets/%d/revert", cs.ID), `{"message":"lane cancelled"}`)
	if status != 201 || !strings.Contains(body, `"reverts":`+fmt.Sprint(cs.ID)) {
		t.Errorf("revert: %d %s", status, body)
	}
	if status, _, body := alice.do("POST", fmt.Sprintf("/v1/changesets/%d/revert", cs.ID), ""); status != 409 || !strings.Contains(body, "already reverted") {
		t.Errorf("second revert: %d %s", status, body)
	}
	if status, _, _ := anon.do("GET", "/v1/changesets/999", ""); status != 404 {
		t.Errorf("missing changeset: %d", status)
	}

	// Private reads: a viewer token is needed.
	ts2, st2 := newEditServer(t, true)
	v2, _ := st2.CreateToken(ctx, "carol", grids.RoleViewer)
	if status, _, _ := (client{t: t, base: ts2.URL}).do("GET", "/v1/grids/110101001007001", ""); status != 401 {
		t.Errorf("private read without a token: %d, want 401", status)
	}
	if status, _, _ := (client{t: t, base: ts2.URL, token: v2}).do("GET", "/v1/grids/110101001007001", ""); status != 200 {
		t.Errorf("private read with a viewer token: %d, want 200", status)
	}
	// A revoked token stops working (on a fresh server: no cached entry).
	if err := st2.RevokeToken(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	ts3 := httptest.NewServer(api.New(api.Config{Editor: st2, Tokens: st2, PrivateReads: true}).Handler())
	defer ts3.Close()
	if status, _, _ := (client{t: t, base: ts3.URL, token: v2}).do("GET", "/v1/grids/110101001007001", ""); status != 401 {
		t.Errorf("revoked token: %d, want 401", status)
	}
}
