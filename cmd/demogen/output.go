package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// GeoJSON is written by hand (orb's geojson package would pull in a BSON
// dependency). encoding/json prints each float64 in its shortest form that
// parses back to the same double, so the files carry exactly the coordinates
// PostGIS held; as every vertex lies on the 1e-7° grid, that is at most seven
// decimals. One feature per line keeps diffs of regenerated data readable.

type jsonGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

type divisionProps struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type roadProps struct {
	ID    int    `json:"id"`
	Class string `json:"class"`
	Name  string `json:"name"`
}

type jsonFeature struct {
	Type       string       `json:"type"`
	Properties any          `json:"properties"`
	Geometry   jsonGeometry `json:"geometry"`
}

func geometryJSON(g orb.Geometry) (jsonGeometry, error) {
	switch v := g.(type) {
	case orb.Polygon:
		return jsonGeometry{"Polygon", v}, nil
	case orb.MultiPolygon:
		return jsonGeometry{"MultiPolygon", v}, nil
	case orb.LineString:
		return jsonGeometry{"LineString", v}, nil
	}
	return jsonGeometry{}, fmt.Errorf("unexpected geometry %s", g.GeoJSONType())
}

// writeCollection writes a FeatureCollection, one feature per line.
func writeCollection(path string, features []jsonFeature) error {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	for i, f := range features {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		buf.Write(b)
		if i < len(features)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeDivisions writes the district, its streets and its communities (in
// that order, each level by code), exterior rings counter-clockwise as RFC
// 7946 recommends (reversing a ring keeps its vertices), and checks that PostGIS reads every written
// geometry back to exactly the geometry it produced.
func (g *gen) writeDivisions(path string) error {
	names := map[string]string{g.divs.district.Code: g.divs.district.Name}
	for _, s := range g.divs.streets {
		names[s.Code] = s.Name
		for _, c := range g.divs.communities[s.Code] {
			names[c.Code] = c.Name
		}
	}
	rows, err := g.conn.Query(g.ctx, `
		SELECT 0 AS lvl, $1::text AS code, ST_AsBinary(ST_ForcePolygonCCW(g)) FROM demo_district
		UNION ALL SELECT 1, code, ST_AsBinary(ST_ForcePolygonCCW(g)) FROM demo_street
		UNION ALL SELECT 2, code, ST_AsBinary(ST_ForcePolygonCCW(g)) FROM demo_comm
		ORDER BY lvl, code`, g.divs.district.Code)
	if err != nil {
		return err
	}
	var features []jsonFeature
	var wkbs [][]byte
	for rows.Next() {
		var lvl int
		var code string
		var w []byte
		if err := rows.Scan(&lvl, &code, &w); err != nil {
			return err
		}
		geom, err := wkb.Unmarshal(w)
		if err != nil {
			return err
		}
		gj, err := geometryJSON(geom)
		if err != nil {
			return fmt.Errorf("%s: %w", code, err)
		}
		name, ok := names[code]
		if !ok {
			return fmt.Errorf("no name for code %s", code)
		}
		features = append(features, jsonFeature{"Feature", divisionProps{code, name}, gj})
		wkbs = append(wkbs, w)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if want := 1 + len(g.divs.streets) + g.divs.communityCount(); len(features) != want {
		return fmt.Errorf("%d divisions, want %d", len(features), want)
	}
	// Round trip: the JSON text of each geometry must parse to the same WKB.
	for i, f := range features {
		b, err := json.Marshal(f.Geometry)
		if err != nil {
			return err
		}
		var same bool
		if err := g.conn.QueryRow(g.ctx, `SELECT ST_AsBinary(ST_GeomFromGeoJSON($1)) = $2`, string(b), wkbs[i]).Scan(&same); err != nil {
			return err
		}
		if !same {
			return fmt.Errorf("%s: GeoJSON does not round-trip to the PostGIS geometry", f.Properties.(divisionProps).Code)
		}
	}
	fmt.Printf("check %-62s %-12d ok\n", "divisions whose GeoJSON round-trips bit-exactly", len(features))
	return writeCollection(path, features)
}

// writeRoads writes the road network in id order.
func (g *gen) writeRoads(path string) error {
	features := make([]jsonFeature, 0, len(g.roads))
	for _, r := range g.roads {
		gj, err := geometryJSON(r.Line)
		if err != nil {
			return err
		}
		features = append(features, jsonFeature{"Feature", roadProps{r.ID, r.Class, r.Name}, gj})
	}
	return writeCollection(path, features)
}
