package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"gridd/api"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// The OpenAPI document is generated from the router: kin-openapi's
// validator accepts it, every mounted route is an operation of it and every
// operation a mounted route, and the answers of every GET route (made with
// sample values on a store with grids) match what it says, errors included.
func TestOpenAPIDocument(t *testing.T) {
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	h := api.New(configOn(t, st)).Handler()
	ts := httptest.NewServer(h)
	defer ts.Close()
	ctx := context.Background()

	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/openapi.json", nil)
	req.Header.Set("Accept", "application/vnd.oai.openapi+json;version=3.0, application/json") // as QGIS asks
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.oai.openapi+json;version=3.0" {
		t.Fatalf("GET /openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3.0: %v", err)
	}

	routes := walkRoutes(t, h)
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		item := doc.Paths.Value(pattern)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in /openapi.json (describe it in apiOps, api/openapi.go)", r)
		}
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops++
			found := false
			for _, r := range routes {
				found = found || r == method+" "+path
			}
			if !found {
				t.Errorf("/openapi.json has %s %s, which the router does not serve", method, path)
			}
		}
	}
	if ops != len(routes) || ops < 70 {
		t.Errorf("%d operations for %d routes", ops, len(routes))
	}

	// QGIS and GDAL page OGC items by the limit parameter's maximum.
	limit := doc.Components.Parameters["limit"]
	if limit == nil || limit.Value.Schema.Value.Max == nil || *limit.Value.Schema.Value.Max != 10000 {
		t.Errorf("components.parameters.limit does not advertise the maximum page: %+v", limit)
	}

	// Every GET answers as the document says. Pages, scripts, tiles and
	// glyphs are checked for status and media type only.
	for _, t := range []string{"text/html", "text/javascript", "text/css", "application/vnd.mapbox-vector-tile", "application/x-protobuf", "application/xml"} {
		openapi3filter.RegisterBodyDecoder(t, openapi3filter.FileBodyDecoder)
	}
	checked := 0
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		if method != http.MethodGet {
			continue
		}
		url := ts.URL + concrete(t, pattern)
		req, _ := http.NewRequest(method, url, nil)
		item := doc.Paths.Value(pattern)
		route := &routers.Route{Spec: doc, Path: pattern, PathItem: item, Method: method, Operation: item.GetOperation(method)}
		params := map[string]string{}
		for _, m := range paramRe.FindAllStringSubmatch(pattern, -1) {
			params[m[1]] = routeParam[m[1]]
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode,
			Header: res.Header, Body: io.NopCloser(strings.NewReader(string(body))),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s answered %d %s, not as documented: %v\n%.300s", r, res.StatusCode, res.Header.Get("Content-Type"), err, body)
		}
		checked++
	}
	t.Logf("%d operations, %d GET answers checked against the document", ops, checked)

	// The docs page lists every path.
	_, _, page := request(t, http.MethodGet, ts.URL+"/docs", "", "")
	for path := range doc.Paths.Map() {
		if !strings.Contains(page, "<code>"+path+"</code>") {
			t.Errorf("/docs does not list %s", path)
		}
	}
}
