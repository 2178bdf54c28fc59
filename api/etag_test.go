package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"gridd/grids"
)

// lampFeature is a street lamp of the seeded community at a fraction of its
// south-west grid (004), as the component endpoints take it.
func lampFeature(name, status string, fx float64) string {
	return fmt.Sprintf(`{"type":"Feature","properties":{"class_code":"01037","name":%q,"status":%q},
		"geometry":{"type":"Point","coordinates":[%v,%v]}}`, name, status, eLon0+eDLon*fx, eLat0+eDLat*0.5)
}

// staleDetails reads the details of a 412: the versions written against and
// the current ones.
func staleDetails(t *testing.T, body string) (entity string, stale, current []grids.RecordRef) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Entity  string            `json:"entity"`
				Stale   []grids.RecordRef `json:"stale"`
				Current []grids.RecordRef `json:"current"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "stale_version" {
		t.Fatalf("not a stale_version error (%v): %s", err, body)
	}
	return e.Error.Details.Entity, e.Error.Details.Stale, e.Error.Details.Current
}

// Components carry their version as a strong ETag on GET, HEAD and writes;
// REST PUT needs If-Match (428 without), a malformed one is 400, a stale one
// 412 with the current version, and none of the refused writes changes the
// row or its history.
func TestComponentIfMatch(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCComponentServer(t)
	tok, err := st.CreateToken(ctx, "alice", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	c := client{t: t, base: ts.URL, token: tok}
	const code, path = "11010101037000001", "/v1/components/11010101037000001"

	status, hdr, body := c.do("POST", "/v1/components", lampFeature("路灯", "intact", 0.5))
	if status != 201 || hdr.Get("ETag") != `"v1"` || !strings.Contains(body, code) {
		t.Fatalf("create: %d ETag %q %s", status, hdr.Get("ETag"), body)
	}
	status, hdr, body = c.do("GET", path, "")
	if status != 200 || hdr.Get("ETag") != `"v1"` || !strings.Contains(body, `"version":1`) {
		t.Fatalf("GET: %d ETag %q %s", status, hdr.Get("ETag"), body)
	}
	if status, hdr, body := c.do("HEAD", path, ""); status != 200 || hdr.Get("ETag") != `"v1"` || body != "" {
		t.Errorf("HEAD: %d ETag %q body %q", status, hdr.Get("ETag"), body)
	}
	if status, hdr, body := c.do("GET", path, "", "If-None-Match", `"v1"`); status != 304 || hdr.Get("ETag") != `"v1"` || body != "" {
		t.Errorf("GET If-None-Match current: %d ETag %q body %q", status, hdr.Get("ETag"), body)
	}
	if status, _, _ := c.do("GET", path, "", "If-None-Match", `"v7", W/"v3"`); status != 200 {
		t.Errorf("GET If-None-Match other versions: %d, want 200", status)
	}

	before, _ := readComponentRow(t, st, code)
	damaged := lampFeature("路灯", "damaged", 0.5)
	for _, tc := range []struct {
		ifMatch string
		status  int
		want    string
	}{
		{"", 428, "precondition_required"},
		{`W/"v1"`, 400, "weak"},
		{`"abc"`, 400, "If-Match"},
		{`"v0"`, 400, "If-Match"},
		{`"v2"`, 412, "the current version is 1"},
	} {
		var h []string
		if tc.ifMatch != "" {
			h = []string{"If-Match", tc.ifMatch}
		}
		status, _, body := c.do("PUT", path, damaged, h...)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("PUT If-Match %q: %d %s, want %d with %q", tc.ifMatch, status, body, tc.status, tc.want)
		}
		if row, _ := readComponentRow(t, st, code); fmt.Sprint(row) != fmt.Sprint(before) {
			t.Errorf("PUT If-Match %q changed the component: %+v, was %+v", tc.ifMatch, row, before)
		}
	}

	status, hdr, body = c.do("PUT", path, damaged, "If-Match", `"v1"`)
	if status != 200 || hdr.Get("ETag") != `"v2"` || !strings.Contains(body, `"version":2`) {
		t.Fatalf("PUT If-Match v1: %d ETag %q %s", status, hdr.Get("ETag"), body)
	}
	// The same ETag a second time is stale: another client's lost update.
	before, _ = readComponentRow(t, st, code)
	status, _, body = c.do("PUT", path, lampFeature("路灯 B", "intact", 0.5), "If-Match", `"v1"`)
	if status != 412 {
		t.Fatalf("PUT with the old ETag: %d %s", status, body)
	}
	entity, stale, current := staleDetails(t, body)
	if entity != "component" || len(stale) != 1 || stale[0] != (grids.RecordRef{Code: code, Version: 1}) ||
		len(current) != 1 || current[0] != (grids.RecordRef{Code: code, Version: 2}) {
		t.Errorf("412 details: %s %v %v", entity, stale, current)
	}
	if status, _, body := c.do("DELETE", path, "", "If-Match", `"v1"`); status != 412 {
		t.Errorf("DELETE with the old ETag: %d %s", status, body)
	}
	if row, _ := readComponentRow(t, st, code); fmt.Sprint(row) != fmt.Sprint(before) {
		t.Errorf("stale writes changed the component: %+v, was %+v", row, before)
	}

	// A delete at the current version retires it; a write against any
	// version of a retired component is stale, with no current version.
	if status, _, body := c.do("DELETE", path, "", "If-Match", `"v2"`); status != 204 {
		t.Fatalf("DELETE If-Match v2: %d %s", status, body)
	}
	status, _, body = c.do("PUT", path, damaged, "If-Match", `"v3"`)
	if status != 412 || !strings.Contains(body, "retired") {
		t.Errorf("PUT on a retired component: %d %s", status, body)
	} else if _, _, current := staleDetails(t, body); len(current) != 0 {
		t.Errorf("412 on a retired component lists current versions %v", current)
	}
	if status, _, _ := c.do("DELETE", "/v1/components/11010101037000077", "", "If-Match", `"v1"`); status != 404 {
		t.Errorf("DELETE If-Match of a code never stored: %d, want 404", status)
	}
	if row, _ := readComponentRow(t, st, code); !row.Retired || row.Version != 3 || strings.Join(row.Actions, ",") != "create,update,retire" {
		t.Errorf("after the delete the database holds %+v", row)
	}
}

// On the OGC API, component items carry the ETag too and Part 4 writes
// honour If-Match when sent (412 stale, 400 malformed), while writes without
// it, as QGIS sends them, still apply.
func TestOGCComponentIfMatch(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCComponentServer(t)
	tok, err := st.CreateToken(ctx, "qgis", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	c := client{t: t, base: ts.URL, token: tok}
	const code, item = "11010101037000001", "/ogc/collections/components/items/11010101037000001"
	if status, _, body := c.do("POST", "/ogc/collections/components/items", lampFeature("路灯", "intact", 0.5)); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	status, hdr, _ := c.do("GET", item, "")
	if status != 200 || hdr.Get("ETag") != `"v1"` {
		t.Fatalf("GET item: %d ETag %q", status, hdr.Get("ETag"))
	}
	if status, hdr, body := c.do("HEAD", item, ""); status != 200 || hdr.Get("ETag") != `"v1"` || body != "" {
		t.Errorf("HEAD item: %d ETag %q body %q", status, hdr.Get("ETag"), body)
	}
	if status, _, _ := c.do("GET", item, "", "If-None-Match", `"v1"`); status != 304 {
		t.Errorf("GET item If-None-Match current: %d, want 304", status)
	}
	if status, hdr, _ := c.do("GET", "/ogc/collections/grids/items/110101001007001", ""); status != 200 || hdr.Get("ETag") != `"v1"` {
		t.Errorf("GET grid item: %d ETag %q", status, hdr.Get("ETag"))
	}

	// Without If-Match the write applies to the current version.
	if status, _, body := c.do("PUT", item, lampFeature("路灯 A", "intact", 0.5)); status != 204 {
		t.Fatalf("PUT without If-Match: %d %s", status, body)
	}
	before, _ := readComponentRow(t, st, code)
	if before.Version != 2 || before.Name != "路灯 A" {
		t.Fatalf("after the PUT the database holds %+v", before)
	}
	for _, tc := range []struct {
		method, ifMatch, body string
		status                int
	}{
		{"PUT", `"v1"`, lampFeature("路灯 B", "intact", 0.5), 412},
		{"PATCH", `"v1"`, `{"type":"Feature","properties":{"status":"damaged"}}`, 412},
		{"DELETE", `"v1"`, "", 412},
		{"PUT", `"v3"`, lampFeature("路灯 B", "intact", 0.5), 412},
		{"PUT", `W/"v2"`, lampFeature("路灯 B", "intact", 0.5), 400},
		{"PATCH", `v2x`, `{"type":"Feature","properties":{"status":"damaged"}}`, 400},
		{"DELETE", `"x"`, "", 400},
	} {
		status, _, body := c.do(tc.method, item, tc.body, "If-Match", tc.ifMatch)
		if status != tc.status {
			t.Errorf("%s If-Match %s: %d %s, want %d", tc.method, tc.ifMatch, status, body, tc.status)
		}
		if status == 412 {
			if _, _, current := staleDetails(t, body); len(current) != 1 || current[0].Version != 2 {
				t.Errorf("%s If-Match %s: current versions %v, want v2", tc.method, tc.ifMatch, current)
			}
		}
		if row, _ := readComponentRow(t, st, code); fmt.Sprint(row) != fmt.Sprint(before) {
			t.Errorf("%s If-Match %s changed the component: %+v, was %+v", tc.method, tc.ifMatch, row, before)
		}
	}
	if status, _, body := c.do("PATCH", item, `{"type":"Feature","properties":{"status":"damaged"}}`, "If-Match", `"v2"`); status != 204 {
		t.Fatalf("PATCH If-Match v2: %d %s", status, body)
	}
	if status, _, body := c.do("DELETE", item, "", "If-Match", `"v3"`); status != 204 {
		t.Fatalf("DELETE If-Match v3: %d %s", status, body)
	}
	if row, _ := readComponentRow(t, st, code); !row.Retired || row.Status != "damaged" || row.Name != "路灯 A" ||
		strings.Join(row.Actions, ",") != "create,update,update,retire" {
		t.Errorf("at the end the database holds %+v", row)
	}
}

// race sends two requests at once and returns their statuses and bodies.
func race(a, b func() (int, string)) (sa, sb int, ba, bb string) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); <-start; sa, ba = a() }()
	go func() { defer wg.Done(); <-start; sb, bb = b() }()
	close(start)
	wg.Wait()
	return
}

// The lost update: two clients read the same version and both write with it
// as If-Match, at the same moment. One wins, the other gets 412 with the
// version the winner made, and the row holds exactly the winner's write
// (one new version, one history entry). Rounds alternate REST PUT, OGC PUT
// and OGC PATCH; a last round races a delete with a replace. Concurrent
// PATCHes without If-Match both apply, neither overwriting the other.
func TestComponentLostUpdate(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCComponentServer(t)
	ta, err := st.CreateToken(ctx, "alice", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := st.CreateToken(ctx, "bob", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := client{t: t, base: ts.URL, token: ta}, client{t: t, base: ts.URL, token: tb}
	const code = "11010101037000001"
	if status, _, body := alice.do("POST", "/v1/components", lampFeature("路灯", "intact", 0.5)); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	const rounds = 9
	for i := 0; i < rounds; i++ {
		kind := []string{"REST PUT", "OGC PUT", "OGC PATCH"}[i%3]
		_, ha, _ := alice.do("GET", "/v1/components/"+code, "")
		_, hb, _ := bob.do("GET", "/ogc/collections/components/items/"+code, "")
		tag := ha.Get("ETag")
		if tag == "" || hb.Get("ETag") != tag {
			t.Fatalf("round %d: the two reads disagree: %q %q", i, tag, hb.Get("ETag"))
		}
		before, _ := readComponentRow(t, st, code)
		// Each client moves the lamp somewhere else and renames it.
		write := func(c client, name string, fx float64) func() (int, string) {
			return func() (int, string) {
				var status int
				var body string
				switch kind {
				case "REST PUT":
					status, _, body = c.do("PUT", "/v1/components/"+code, lampFeature(name, "intact", fx), "If-Match", tag)
				case "OGC PUT":
					status, _, body = c.do("PUT", "/ogc/collections/components/items/"+code, lampFeature(name, "intact", fx), "If-Match", tag)
				default:
					patch := fmt.Sprintf(`{"type":"Feature","properties":{"name":%q},"geometry":{"type":"Point","coordinates":[%v,%v]}}`,
						name, eLon0+eDLon*fx, eLat0+eDLat*0.5)
					status, _, body = c.do("PATCH", "/ogc/collections/components/items/"+code, patch, "If-Match", tag)
				}
				return status, body
			}
		}
		nameA, nameB := fmt.Sprintf("A%d", i), fmt.Sprintf("B%d", i)
		sa, sb, ba, bb := race(write(alice, nameA, 0.3), write(bob, nameB, 2.5))
		ok := func(s int) bool { return s == 200 || s == 204 }
		var winner, loserBody string
		switch {
		case ok(sa) && sb == 412:
			winner, loserBody = nameA, bb
		case ok(sb) && sa == 412:
			winner, loserBody = nameB, ba
		default:
			t.Fatalf("round %d (%s): statuses %d and %d, want one success and one 412:\n%s\n%s", i, kind, sa, sb, ba, bb)
		}
		after, _ := readComponentRow(t, st, code)
		if after.Version != before.Version+1 || after.Name != winner || len(after.Actions) != len(before.Actions)+1 {
			t.Fatalf("round %d (%s): the database holds %+v after %+v; the winner was %s", i, kind, after, before, winner)
		}
		fx, wantGrid := 0.3, "110101001007004"
		if winner == nameB {
			fx, wantGrid = 2.5, "110101001007006"
		}
		wantLon := eLon0 + eDLon*fx // as lampFeature computes it
		if after.Lon != wantLon || after.Grid != wantGrid {
			t.Errorf("round %d (%s): the winner %s's point is at %v in %s, want %v in %s (half of another write?)",
				i, kind, winner, after.Lon, after.Grid, wantLon, wantGrid)
		}
		if _, _, current := staleDetails(t, loserBody); len(current) != 1 || current[0].Version != after.Version {
			t.Errorf("round %d (%s): the 412 names %v, want the winner's version %d", i, kind, current, after.Version)
		}
	}

	// Two PATCHes without If-Match, on different fields: both land.
	for i := 0; i < 4; i++ {
		before, _ := readComponentRow(t, st, code)
		status := []string{"damaged", "intact"}[i%2]
		name := fmt.Sprintf("P%d", i)
		sa, sb, ba, bb := race(func() (int, string) {
			s, _, b := alice.do("PATCH", "/ogc/collections/components/items/"+code, fmt.Sprintf(`{"type":"Feature","properties":{"status":%q}}`, status))
			return s, b
		}, func() (int, string) {
			s, _, b := bob.do("PATCH", "/ogc/collections/components/items/"+code, fmt.Sprintf(`{"type":"Feature","properties":{"name":%q}}`, name))
			return s, b
		})
		if sa != 204 || sb != 204 {
			t.Fatalf("PATCHes without If-Match: %d %s / %d %s", sa, ba, sb, bb)
		}
		if after, _ := readComponentRow(t, st, code); after.Status != status || after.Name != name || after.Version != before.Version+2 {
			t.Fatalf("after two PATCHes (status %s, name %s) the database holds %+v (was %+v): one overwrote the other", status, name, after, before)
		}
	}

	// A delete and a replace of the same version: one of them.
	_, h, _ := alice.do("GET", "/v1/components/"+code, "")
	tag := h.Get("ETag")
	before, _ := readComponentRow(t, st, code)
	sd, sp, bd, bp := race(func() (int, string) {
		s, _, b := alice.do("DELETE", "/v1/components/"+code, "", "If-Match", tag)
		return s, b
	}, func() (int, string) {
		s, _, b := bob.do("PUT", "/v1/components/"+code, lampFeature("Z", "intact", 0.5), "If-Match", tag)
		return s, b
	})
	after, _ := readComponentRow(t, st, code)
	switch {
	case sd == 204 && sp == 412:
		if !after.Retired || after.Name == "Z" || !strings.Contains(bp, "retired") {
			t.Errorf("the delete won, yet the database holds %+v; the PUT said %s", after, bp)
		}
	case sp == 200 && sd == 412:
		if after.Retired || after.Name != "Z" {
			t.Errorf("the replace won, yet the database holds %+v", after)
		}
	default:
		t.Fatalf("delete and replace: %d %s / %d %s, want one success and one 412", sd, bd, sp, bp)
	}
	if len(after.Actions) != len(before.Actions)+1 {
		t.Errorf("delete and replace wrote %d history entries, want 1", len(after.Actions)-len(before.Actions))
	}
}
