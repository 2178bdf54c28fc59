package postgis

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// Geometry crosses the database edge here and only here: gridd sends WKB
// (wrapped in ST_GeomFromWKB(..., 4326) in the SQL) and reads ST_AsBinary.

// toWKB encodes a geometry for a query argument.
func toWKB(g orb.Geometry) ([]byte, error) {
	b, err := wkb.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encode geometry: %w", err)
	}
	return b, nil
}

// fromWKB decodes a geometry read with ST_AsBinary.
func fromWKB(b []byte) (orb.Geometry, error) {
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode geometry: %w", err)
	}
	return g, nil
}

// multiPolygon decodes WKB that holds a Polygon or MultiPolygon.
func multiPolygon(b []byte) (orb.MultiPolygon, error) {
	g, err := fromWKB(b)
	if err != nil {
		return nil, err
	}
	switch g := g.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("decode geometry: want a polygon, got %s", g.GeoJSONType())
}
