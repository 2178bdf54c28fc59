package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gridd/geo"
	"gridd/grids/postgis"
)

// Social grids over the demo (its grids and buildings): every community's
// social grids are one polygon each and cover its unit grids exactly once,
// at least 90% lie within ±30% of the household target where the community
// allows it (its households reach 70% of the target, and no single unit
// grid holds more than 1.3 targets), all checked in SQL; a rebuild with the
// same buildings changes nothing; a building moved changes only its
// community's social grids; hand-drawn management grids are kept.
func TestDemoSocialGrids(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo district's grids")
	}
	ctx := context.Background()
	d := newDemoBuildings(t)
	url, e, out, output, step := d.url, d.e, d.out, d.output, d.step
	st, err := postgis.Open(ctx, url)
	step("open", err)
	defer st.Close()
	pool := st.Pool()
	var hand []string
	pool.QueryRow(ctx, `SELECT array_agg(code ORDER BY code) FROM (SELECT code FROM unit_grids
		WHERE community_code = (SELECT min(community_code) FROM unit_grids WHERE valid_to IS NULL) AND valid_to IS NULL ORDER BY code LIMIT 2) g`).Scan(&hand) //nolint:errcheck
	_, err = st.CreateMgmtGrid(ctx, "patrol-1", "巡查一组", []geo.Code{geo.Code(hand[0]), geo.Code(hand[1])}, "tester", "hand-drawn")
	step("hand-drawn management grid", err)

	const target = 300
	build := func(extra ...string) string {
		t.Helper()
		os.Truncate(out.Name(), 0) //nolint:errcheck
		out.Seek(0, 0)             //nolint:errcheck
		step("mgmt-grid build", runMgmtGridBuild(ctx, e, append([]string{"--db", url, "--area", "110101",
			"--target-households", strconv.Itoa(target), "--actor", "tester"}, extra...)))
		return output()
	}
	report := build("--dry-run")
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM mgmt_grids WHERE kind = 'social'`).Scan(&n) //nolint:errcheck
	if n != 0 || !strings.Contains(report, "dry run: nothing written") {
		t.Fatalf("the dry run wrote %d social grids:\n%s", n, report)
	}
	report = build()
	t.Logf("%s", report[strings.LastIndex(report[:len(report)-1], "\n")-200:])

	// Checked in SQL, independently of the builder.
	var grids, covered, multi, social int
	err = pool.QueryRow(ctx, `
		WITH s AS (SELECT g.id, g.code, g.community_code, g.geom FROM mgmt_grids g WHERE g.kind = 'social' AND g.valid_to IS NULL),
		     m AS (SELECT s.community_code, mm.grid_code FROM s JOIN mgmt_grid_members mm ON mm.mgmt_grid_id = s.id)
		SELECT (SELECT count(*) FROM unit_grids WHERE valid_to IS NULL),
		       (SELECT count(*) FROM unit_grids u WHERE u.valid_to IS NULL
		          AND (SELECT count(*) FROM m WHERE m.grid_code = u.code AND m.community_code = u.community_code) = 1),
		       (SELECT count(*) FROM s WHERE ST_NumGeometries(s.geom) <> 1),
		       (SELECT count(*) FROM s)`).Scan(&grids, &covered, &multi, &social)
	step("check", err)
	if covered != grids || multi != 0 {
		t.Errorf("%d of %d unit grids in exactly one social grid of their community; %d social grids not one polygon", covered, grids, multi)
	}
	var within, allowed int
	err = pool.QueryRow(ctx, `
		WITH unit AS (SELECT u.code, u.community_code, coalesce(sum(b.households), 0) AS hh
		              FROM unit_grids u LEFT JOIN buildings b ON b.grid_code = u.code AND b.valid_to IS NULL
		              WHERE u.valid_to IS NULL GROUP BY u.code, u.community_code),
		     comm AS (SELECT community_code, sum(hh) AS hh, max(hh) AS biggest FROM unit GROUP BY community_code),
		     sg AS (SELECT g.code, g.community_code, sum(unit.hh) AS hh
		            FROM mgmt_grids g JOIN mgmt_grid_members mm ON mm.mgmt_grid_id = g.id JOIN unit ON unit.code = mm.grid_code
		            WHERE g.kind = 'social' AND g.valid_to IS NULL GROUP BY g.code, g.community_code)
		SELECT count(*) FILTER (WHERE sg.hh BETWEEN 0.7 * $1 AND 1.3 * $1), count(*)
		FROM sg JOIN comm USING (community_code)
		WHERE comm.hh >= 0.7 * $1 AND comm.biggest <= 1.3 * $1`, target).Scan(&within, &allowed)
	step("balance", err)
	t.Logf("%d social grids over %d unit grids; %d of %d where the community allows within ±30%% of %d households",
		social, grids, within, allowed, target)
	if allowed == 0 || float64(within) < 0.9*float64(allowed) {
		t.Errorf("%d of %d social grids within ±30%% of the target, want at least 90%%", within, allowed)
	}

	// The same buildings again: nothing changes.
	if r := build(); !strings.Contains(r, "written: "+strconv.Itoa(social)+" social grids kept, 0 created, 0 retired") {
		t.Errorf("a rebuild with the same buildings changed social grids:\n%s", r)
	}

	// A building moved within its community: only that community's social
	// grids may change. The busiest grid's buildings move to its
	// community's emptiest grid.
	var from, to, comm string
	err = pool.QueryRow(ctx, `
		WITH unit AS (SELECT u.code, u.community_code, coalesce(sum(b.households), 0) AS hh
		              FROM unit_grids u LEFT JOIN buildings b ON b.grid_code = u.code AND b.valid_to IS NULL
		              WHERE u.valid_to IS NULL GROUP BY u.code, u.community_code),
		     busiest AS (SELECT * FROM unit ORDER BY hh DESC, code LIMIT 1)
		SELECT busiest.code, (SELECT code FROM unit WHERE unit.community_code = busiest.community_code ORDER BY hh, code LIMIT 1),
		       busiest.community_code FROM busiest`).Scan(&from, &to, &comm)
	step("pick a move", err)
	_, err = pool.Exec(ctx, `UPDATE buildings b SET geom = ST_PointOnSurface(u.geom), grid_code = u.code,
		community_code = u.community_code, street_code = u.street_code, district_code = u.district_code
		FROM unit_grids u WHERE u.code = $2 AND u.valid_to IS NULL AND b.grid_code = $1 AND b.valid_to IS NULL`, from, to)
	step("move", err)
	socialGrids := func() map[string]string {
		rows, err := pool.Query(ctx, `SELECT g.code, string_agg(m.grid_code, ',' ORDER BY m.grid_code)
			FROM mgmt_grids g JOIN mgmt_grid_members m ON m.mgmt_grid_id = g.id
			WHERE g.kind = 'social' AND g.valid_to IS NULL GROUP BY g.code`)
		step("social grids", err)
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var c, m string
			step("social grids", rows.Scan(&c, &m))
			out[c] = m
		}
		return out
	}
	before := socialGrids()
	r := build()
	changed := regexp.MustCompile(`written: \d+ social grids kept, (\d+) created, (\d+) retired`).FindStringSubmatch(r)
	if changed == nil || changed[1] == "0" {
		t.Fatalf("moving the buildings of %s to %s changed nothing:\n%s", from, to, r)
	}
	after := socialGrids()
	for code, members := range before {
		if !strings.HasPrefix(code, comm) && after[code] != members {
			t.Errorf("moving buildings within %s changed social grid %s of another community", comm, code)
		}
	}
	for code := range after {
		if _, ok := before[code]; !ok && !strings.HasPrefix(code, comm) {
			t.Errorf("moving buildings within %s created social grid %s in another community", comm, code)
		}
	}
	t.Logf("moving the buildings of %s to %s: %s social grids of %s created, %s retired", from, to, changed[1], comm, changed[2])
	var kept int
	pool.QueryRow(ctx, `SELECT count(*) FROM mgmt_grids WHERE code = 'patrol-1' AND kind = 'responsibility' AND valid_to IS NULL`).Scan(&kept) //nolint:errcheck
	if kept != 1 {
		t.Error("the hand-drawn management grid is gone")
	}
}
