package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"gridd/grids"
)

// Invalid or huge grid geometry is refused with a 400 naming the field, the
// problem and its place before PostGIS sees it, on every path that redraws
// or creates a grid: a redraw changeset, PUT /v1/grids/{code}, and the OGC
// API's PUT and POST. The cases are the issue's: a bow-tie, an unclosed
// ring, a self-intersecting polygon of 2,000 points (which ran 51 s and
// answered 500), 200,000 points (which kept a backend busy for minutes
// holding the community's editing lock), and a hole outside its shell
// (which a redraw accepted, dropping the hole). Nothing changes.
func TestGridGeometryRefused(t *testing.T) {
	ctx := context.Background()
	ts, st := newOGCServer(t)
	tok, err := st.CreateToken(ctx, "alice", grids.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	c := client{t: t, base: ts.URL, token: tok}

	// Grid 005 is the middle cell of the southern row.
	x0, x1, y0, y1 := eLon0+eDLon, eLon0+2*eDLon, eLat0, eLat0+eDLat
	cell := orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	// 2,000 points winding seven times round the cell's centre.
	var star orb.Ring
	for i := range 2000 {
		a := 2 * math.Pi * 7 * float64(i) / 2000
		r := 0.0004 * (0.6 + 0.4*math.Sin(float64(i)))
		star = append(star, orb.Point{(x0+x1)/2 + r*math.Cos(a), (y0+y1)/2 + r*math.Sin(a)})
	}
	star = append(star, star[0])
	// 200,000 points, written short so that the body stays under the
	// edit limit and reaches the geometry check.
	var huge strings.Builder
	huge.WriteString("[[")
	for i := range 200_000 {
		if i > 0 {
			huge.WriteByte(',')
		}
		fmt.Fprintf(&huge, "[116.40%d,39.90%d]", 117+i%117, i%9)
	}
	huge.WriteString(",[116.40117,39.900]]]")

	coords := func(p orb.Polygon) string {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name   string
		coords string
		want   string
	}{
		{"bow-tie", coords(orb.Polygon{{{x0, y0}, {x1, y1}, {x1, y0}, {x0, y1}, {x0, y0}}}), "ring 0 crosses itself at 116.401755, 39.90045 (edges 0 and 2)"},
		{"unclosed", coords(orb.Polygon{cell[:4]}), "ring 0 (the shell) is not closed"},
		{"self-intersecting 2,000 points", coords(orb.Polygon{star}), "ring 0 crosses itself at"},
		{"hole outside its shell", coords(orb.Polygon{cell, {{x1 + 0.0002, y0 + 0.0002}, {x1 + 0.0004, y0 + 0.0002}, {x1 + 0.0004, y0 + 0.0004}, {x1 + 0.0002, y0 + 0.0002}}}),
			"hole 1 (ring 1) lies outside the shell, at 116.4025"},
		{"200,000 points", huge.String(), "polygon has 200001 points; at most 5000 are allowed"},
		{"three points", coords(orb.Polygon{{{x0, y0}, {x1, y0}, {x0, y0}}}), "has 3 points; a ring needs at least 4"},
		{"latitude first", coords(orb.Polygon{{{y0, x0}, {y0, x1}, {y1, x1}, {y0, x0}}}), "point 0 (39.9, 116.401"},
		{"a district pasted in", coords(orb.Polygon{{{116.3, 39.8}, {116.5, 39.8}, {116.5, 40}, {116.3, 39.8}}}), "polygon spans 0.2° × 0.2°"},
		{"nested holes", coords(orb.Polygon{cell,
			{{x0 + 0.0001, y0 + 0.0001}, {x1 - 0.0001, y0 + 0.0001}, {x1 - 0.0001, y1 - 0.0001}, {x0 + 0.0001, y0 + 0.0001}},
			{{x0 + 0.0008, y0 + 0.0002}, {x0 + 0.0009, y0 + 0.0002}, {x0 + 0.0009, y0 + 0.0003}, {x0 + 0.0008, y0 + 0.0002}}}),
			"hole 2 (ring 2) lies inside hole 1 (ring 1)"},
	}
	type route struct {
		name, method, path, field string
		body                      func(geom string) string
		hdr                       []string
	}
	routes := []route{
		{"changeset redraw", "POST", "/v1/changesets", "operations[0].geometry", func(g string) string {
			return `{"message":"m","operations":[{"op":"redraw","grids":[{"code":"110101001007005","version":1}],"geometry":` + g + `}]}`
		}, nil},
		{"grid PUT", "PUT", "/v1/grids/110101001007005", "geometry", func(g string) string {
			return `{"type":"Feature","geometry":` + g + `,"properties":{"message":"m"}}`
		}, []string{"If-Match", `"v1"`}},
		{"OGC PUT", "PUT", "/ogc/collections/grids/items/110101001007005", "geometry", func(g string) string {
			return `{"type":"Feature","geometry":` + g + `,"properties":{"message":"m"}}`
		}, nil},
		{"OGC POST", "POST", "/ogc/collections/grids/items", "geometry", func(g string) string {
			return `{"type":"Feature","geometry":` + g + `,"properties":{"message":"m"}}`
		}, nil},
	}

	before := editState(t, st.Pool())
	for _, tc := range cases {
		geom := `{"type":"Polygon","coordinates":` + tc.coords + `}`
		for _, rt := range routes {
			t.Run(tc.name+"/"+rt.name, func(t *testing.T) {
				start := time.Now()
				status, _, body := c.do(rt.method, rt.path, rt.body(geom), rt.hdr...)
				d := time.Since(start)
				var e struct {
					Error struct {
						Code    string `json:"code"`
						Message string `json:"message"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil {
					t.Fatalf("%d %.300s: %v", status, body, err)
				}
				if status != 400 || !strings.Contains(e.Error.Message, rt.field+": ") || !strings.Contains(e.Error.Message, tc.want) {
					t.Fatalf("%d %.500s, want 400 naming %s and %q", status, body, rt.field, tc.want)
				}
				// Refused by gridd's own check (the message is
				// ValidatePolygon's, and for a huge polygon its size
				// limit's), so PostGIS never worked on it. The time is
				// for the record: most of it is decoding the body.
				t.Logf("refused after %v", d.Round(time.Millisecond))
			})
		}
	}
	// The 200,000-point redraw as sent, 8 MB of full-precision
	// coordinates: refused at once for its size.
	var full strings.Builder
	full.WriteString(`{"message":"m","operations":[{"op":"redraw","grids":[{"code":"110101001007005","version":1}],"geometry":{"type":"Polygon","coordinates":[[`)
	for i := range 200_000 {
		a := 2 * math.Pi * float64(i) / 200_000
		fmt.Fprintf(&full, "[%.15f,%.15f],", (x0+x1)/2+0.0004*math.Cos(a), (y0+y1)/2+0.0004*math.Sin(a))
	}
	fmt.Fprintf(&full, "[%.15f,%.15f]]]}}]}", (x0+x1)/2+0.0004, (y0+y1)/2)
	start := time.Now()
	status, _, body := c.do("POST", "/v1/changesets", full.String())
	// Refused by the body limit before it is decoded.
	if status != 413 || !strings.Contains(body, "too_large") {
		t.Errorf("8 MB redraw: %d after %v: %.300s, want 413 too_large", status, time.Since(start), body)
	}
	if after := editState(t, st.Pool()); after != before {
		t.Errorf("refused edits changed the grids:\nbefore %s\nafter  %s", before, after)
	}

	// A valid redraw still goes through, and the community stays editable.
	ok := coords(orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1 + 0.0002}, {x0, y1}, {x0, y0}}})
	if status, _, body := c.do("POST", "/v1/changesets", routes[0].body(`{"type":"Polygon","coordinates":`+ok+`}`)); status != 201 {
		t.Fatalf("valid redraw: %d %s", status, body)
	}
}

// editState sums up everything an edit writes: every grid version (code,
// version, validity, geometry), the changesets and the history.
func editState(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) || ' grids ' || coalesce(md5(string_agg(code || ':' || version || ':' || coalesce(valid_to::text, '') || ':' || md5(ST_AsBinary(geom)), ',' ORDER BY code, version)), '') FROM unit_grids)
		|| ' / ' || (SELECT count(*) FROM changesets) || ' changesets / ' || (SELECT count(*) FROM history) || ' history'`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
