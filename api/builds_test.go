package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gridd/api"
	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// A 400 m × 300 m community near 南池子: about 12 grids.
const buildHierarchy = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"110101","name":"东城区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]}},
{"type":"Feature","properties":{"code":"110101001007","name":"南池子社区"},"geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.4046837,39.90],[116.4046837,39.9027027],[116.40,39.9027027],[116.40,39.90]]]}}
]}`

// newBuildServer serves a small hierarchy and returns an editor's and a
// viewer's token.
func newBuildServer(t *testing.T) (*httptest.Server, string, string) {
	t.Helper()
	st := postgis.NewStore(pgtest.New(t))
	feats, rejected, err := grids.ParseDivisions([]byte(buildHierarchy), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("parse: %v %v", err, rejected)
	}
	if _, err := st.ImportDivisions(context.Background(), feats, "test", ""); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Ready: st.Ready, Divisions: st, Builder: st, MgmtGrids: st, Tokens: st, Version: "test"})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	editor, err := st.CreateToken(context.Background(), "builder-alice", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := st.CreateToken(context.Background(), "builder-bob", grids.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	return ts, editor, viewer
}

// post sends a JSON body with the token (none when empty).
func post(t *testing.T, url, token, body string) (int, http.Header, string) {
	t.Helper()
	return request(t, http.MethodPost, url, token, body)
}

type jobJSON struct {
	ID       string              `json:"id"`
	Status   string              `json:"status"`
	Progress grids.BuildProgress `json:"progress"`
	Report   *grids.BuildReport  `json:"report"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// waitJob polls a build job until it ends.
func waitJob(t *testing.T, ts *httptest.Server, location string) jobJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		status, body := get(t, ts.URL+location)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", location, status, body)
		}
		var j jobJSON
		if err := json.Unmarshal([]byte(body), &j); err != nil {
			t.Fatal(err)
		}
		if j.Status == "done" || j.Status == "failed" {
			return j
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("build job did not finish in 60 s")
	return jobJSON{}
}

func TestServerBuilds(t *testing.T) {
	ts, editor, viewer := newBuildServer(t)

	if status, _, body := post(t, ts.URL+"/v1/builds", "", `{"area":"110101"}`); status != http.StatusUnauthorized {
		t.Errorf("build without a token: %d %s", status, body)
	}
	if status, _, body := post(t, ts.URL+"/v1/builds", viewer, `{"area":"110101"}`); status != http.StatusForbidden {
		t.Errorf("build with a viewer token: %d %s", status, body)
	}
	if status, _, body := post(t, ts.URL+"/v1/mgmt-grids", viewer, `{"code":"A","name":"a","grids":["110101001007001"]}`); status != http.StatusForbidden {
		t.Errorf("management grid with a viewer token: %d %s", status, body)
	}

	status, hdr, body := post(t, ts.URL+"/v1/builds", editor, `{"area":"110101001007","target_m2":10000,"dry_run":true}`)
	if status != http.StatusAccepted || hdr.Get("Location") == "" {
		t.Fatalf("start dry run: %d %s", status, body)
	}
	j := waitJob(t, ts, hdr.Get("Location"))
	if j.Status != "done" || j.Report == nil || !j.Report.DryRun || j.Report.Created < 8 {
		t.Fatalf("dry run job: %+v", j)
	}

	status, hdr, body = post(t, ts.URL+"/v1/builds", editor, `{"area":"110101","target_m2":10000}`)
	if status != http.StatusAccepted {
		t.Fatalf("start build: %d %s", status, body)
	}
	j = waitJob(t, ts, hdr.Get("Location"))
	if j.Status != "done" || j.Report == nil {
		t.Fatalf("build job: %+v", j)
	}
	if j.Progress.CommunitiesDone != 1 || j.Progress.CommunitiesTotal != 1 || j.Progress.GridsMade != j.Report.Created {
		t.Errorf("progress %+v, report created %d", j.Progress, j.Report.Created)
	}
	q := j.Report.Quality.Areas
	if len(q) < 1 || q[0].Code != "110101" || q[0].Grids != j.Report.Created || q[0].MeanM2 < 7000 || q[0].MeanM2 > 13000 {
		t.Errorf("quality report %+v", q)
	}

	// A management grid from two of the new grids.
	status, hdr, body = post(t, ts.URL+"/v1/mgmt-grids", editor,
		`{"code":"NCZ-1","name":"南池子一网格","grids":["110101001007001","110101001007002"]}`)
	if status != http.StatusCreated || hdr.Get("Location") != "/v1/mgmt-grids/NCZ-1" {
		t.Fatalf("create management grid: %d %s", status, body)
	}
	status, body = get(t, ts.URL+"/v1/mgmt-grids/NCZ-1")
	if status != http.StatusOK {
		t.Fatalf("get management grid: %d %s", status, body)
	}
	for _, w := range []string{`"type":"Feature"`, `"MultiPolygon"`, `"110101001007001"`, `"110101001007002"`, `"street_code":"110101001"`} {
		if !strings.Contains(body, w) {
			t.Errorf("management grid lacks %s: %s", w, body)
		}
	}

	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"build: bad area", "POST", "/v1/builds", `{"area":"12345"}`, 400, "5 digits"},
		{"build: grid code", "POST", "/v1/builds", `{"area":"110101001007001"}`, 400, "unit-grid code"},
		{"build: bad target", "POST", "/v1/builds", `{"area":"110101","target_m2":-5}`, 400, "target_m2"},
		{"build: unknown field", "POST", "/v1/builds", `{"area":"110101","size":5}`, 400, "unknown field"},
		{"build: no such job", "GET", "/v1/builds/nope", "", 404, "no build job"},
		{"mgmt: unknown grid", "POST", "/v1/mgmt-grids", `{"code":"X1","name":"x","grids":["110101001007999"]}`, 400, "110101001007999"},
		{"mgmt: two streets", "POST", "/v1/mgmt-grids", `{"code":"X2","name":"x","grids":["110101001007001","110101002001001"]}`, 400, "different streets"},
		{"mgmt: duplicate code", "POST", "/v1/mgmt-grids", `{"code":"NCZ-1","name":"x","grids":["110101001007003"]}`, 409, "conflict"},
		{"mgmt: unknown", "GET", "/v1/mgmt-grids/NOPE", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, bytes.NewBufferString(tt.body))
			req.Header.Set("Authorization", "Bearer "+editor)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, b, tt.status, tt.want)
			}
		})
	}

	// A build of an area without communities fails as a job, with the reason.
	status, hdr, body = post(t, ts.URL+"/v1/builds", editor, `{"area":"110101002"}`)
	if status != http.StatusAccepted {
		t.Fatalf("start build: %d %s", status, body)
	}
	j = waitJob(t, ts, hdr.Get("Location"))
	if j.Status != "failed" || j.Error == nil || j.Error.Code != "not_found" {
		t.Errorf("build of an unknown street: %+v", j)
	}
}
