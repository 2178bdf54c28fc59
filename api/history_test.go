package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
)

// Recorded changes are listed with their ids, and a change to a department
// is reverted over HTTP by an admin; an editor may not, and bad ids, unknown
// ids and stale changes get their own errors.
func TestHistoryRevertAPI(t *testing.T) {
	pool, _ := lookupDB(t)
	st := postgis.NewStore(pool)
	ts := httptest.NewServer(api.New(api.Config{RoutingAdmin: st, Tokens: st, History: st}).Handler())
	t.Cleanup(ts.Close)
	ctx := context.Background()
	admin, err := st.CreateToken(ctx, "boss", grids.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	editor, err := st.CreateToken(ctx, "gis", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	const code = "11110101MB1234567X"
	for _, name := range []string{"东华门街道办事处", "东华门街道"} {
		status, _, b := request(t, "PUT", ts.URL+"/v1/departments/"+code, admin, fmt.Sprintf(`{"name":%q,"contact":"010"}`, name))
		if status != 200 && status != 201 {
			t.Fatalf("put department: %d %s", status, b)
		}
	}
	status, _, b := request(t, "GET", ts.URL+"/v1/history?entity=department&code="+code, "", "")
	var list struct {
		History []grids.HistoryEntry `json:"history"`
	}
	if err := json.Unmarshal([]byte(b), &list); status != 200 || err != nil || len(list.History) != 2 || list.History[1].Action != "update" {
		t.Fatalf("history: %d %s", status, b)
	}
	rename := list.History[1].ID
	revertURL := fmt.Sprintf("%s/v1/history/%d/revert", ts.URL, rename)
	for _, c := range []struct {
		name, url, token, body string
		status                 int
		want                   string
	}{
		{"no token", revertURL, "", "", 401, "unauthorized"},
		{"editor", revertURL, editor, "", 403, "reverting a change to a department needs admin"},
		{"bad id", ts.URL + "/v1/history/x/revert", admin, "", 400, `id: \"x\" is not a change id`},
		{"unknown id", ts.URL + "/v1/history/999999/revert", admin, "", 404, "change 999999"},
		{"bad body", revertURL, admin, `{"why":1}`, 400, "body"},
		{"admin", revertURL, admin, `{"reason":"typo"}`, 201, `"reason":"revert of change ` + fmt.Sprint(rename) + `: typo"`},
		{"again", revertURL, admin, "", 409, "has changed since change"},
	} {
		status, _, b := request(t, "POST", c.url, c.token, c.body)
		if status != c.status || !strings.Contains(b, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, status, b, c.status, c.want)
		}
	}
	status, _, b = request(t, "GET", ts.URL+"/v1/departments", "", "")
	if status != 200 || !strings.Contains(b, "东华门街道办事处") {
		t.Errorf("departments after the revert: %d %s", status, b)
	}
	status, _, b = request(t, "GET", fmt.Sprintf("%s/v1/history/%d", ts.URL, rename), "", "")
	if status != 200 || !strings.Contains(b, `"actor":"token:boss"`) || !strings.Contains(b, `"entity":"department"`) {
		t.Errorf("one change: %d %s", status, b)
	}
	if status, _, b := request(t, "GET", ts.URL+"/v1/history?entity=department", "", ""); status != 400 || !strings.Contains(b, "code: is required") {
		t.Errorf("history without a code: %d %s", status, b)
	}
}
