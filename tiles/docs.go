package tiles

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// TileJSON returns the TileJSON 3.0.0 document of the layers, with tile URLs
// under base (scheme and host, no trailing slash) and the WGS-84 bounds of
// their data (the whole Web-Mercator square when bounds is empty).
func TileJSON(base string, layers []*Layer, bounds orb.Bound) map[string]any {
	minZ, maxZ := MaxZoom, 0
	vl := make([]map[string]any, 0, len(layers))
	for _, l := range layers {
		minZ, maxZ = min(minZ, l.MinZoom), max(maxZ, l.MaxZoom)
		fields := map[string]string{}
		for _, f := range l.Fields {
			fields[f.Name] = f.Type
		}
		vl = append(vl, map[string]any{
			"id": l.Name, "description": l.Description, "minzoom": l.MinZoom, "maxzoom": l.MaxZoom, "fields": fields,
		})
	}
	if bounds == (orb.Bound{}) {
		bounds = orb.Bound{Min: orb.Point{-180, -MaxLat}, Max: orb.Point{180, MaxLat}}
	}
	c := bounds.Center()
	key := Key(layers)
	return map[string]any{
		"tilejson":      "3.0.0",
		"name":          "gridd " + key,
		"description":   "gridd vector tiles: " + key,
		"scheme":        "xyz",
		"tiles":         []string{base + "/tiles/" + key + "/{z}/{x}/{y}.mvt"},
		"minzoom":       minZ,
		"maxzoom":       maxZ,
		"bounds":        []float64{bounds.Min[0], bounds.Min[1], bounds.Max[0], bounds.Max[1]},
		"center":        []float64{c[0], c[1], float64(FitZoom(bounds))},
		"vector_layers": vl,
	}
}

// FitZoom is the deepest zoom at which the WGS-84 bound fits in one 256-pixel
// tile's width, at most 16.
func FitZoom(b orb.Bound) int {
	m := MercatorBound(b)
	w := math.Max(m.Max[0]-m.Min[0], m.Max[1]-m.Min[1])
	if w <= 0 {
		return 16
	}
	z := int(math.Floor(math.Log2(2 * WorldHalf / w)))
	return max(0, min(16, z))
}

// FontStack is the font the style's labels use; the glyph endpoint serves it.
const FontStack = "Noto Sans Regular"

// StyleOptions are the choices of the style document.
type StyleOptions struct {
	// Basemap is an optional raster tile URL template ({z}/{x}/{y}) drawn
	// under gridd's layers; empty draws none.
	Basemap string
	// BasemapAttribution is shown with the basemap.
	BasemapAttribution string
}

// Style returns gridd's MapLibre style document: every layer from gridd's own
// source under base, labels in FontStack from gridd's glyph endpoint, and
// optionally a raster basemap. Layer ids start with the tile layer's name and
// a dash, so that a page can toggle a tile layer's style layers together.
func Style(base string, opt StyleOptions) map[string]any {
	sources := map[string]any{
		"gridd": map[string]any{"type": "vector", "url": base + "/tiles/" + Key(Layers) + ".json"},
	}
	layers := []map[string]any{
		{"id": "background", "type": "background", "paint": map[string]any{"background-color": "#f4f2ec"}},
	}
	if opt.Basemap != "" {
		sources["basemap"] = map[string]any{"type": "raster", "tiles": []string{opt.Basemap}, "tileSize": 256,
			"attribution": opt.BasemapAttribution}
		layers = append(layers, map[string]any{"id": "basemap", "type": "raster", "source": "basemap"})
	}
	fill := func(id, layer, color string, opacity any, minzoom float64) map[string]any {
		return map[string]any{"id": id, "type": "fill", "source": "gridd", "source-layer": layer, "minzoom": minzoom,
			"paint": map[string]any{"fill-color": color, "fill-opacity": opacity}}
	}
	line := func(id, layer, color string, width any, dash []float64, minzoom float64) map[string]any {
		paint := map[string]any{"line-color": color, "line-width": width}
		if dash != nil {
			paint["line-dasharray"] = dash
		}
		return map[string]any{"id": id, "type": "line", "source": "gridd", "source-layer": layer, "minzoom": minzoom,
			"layout": map[string]any{"line-join": "round"}, "paint": paint}
	}
	label := func(id, layer, field string, size float64, color string, minzoom, maxzoom float64) map[string]any {
		return map[string]any{"id": id, "type": "symbol", "source": "gridd", "source-layer": layer,
			"minzoom": minzoom, "maxzoom": maxzoom, "filter": []any{"==", []any{"geometry-type"}, "Point"},
			"layout": map[string]any{"text-field": []any{"get", field}, "text-font": []string{FontStack},
				"text-size": size, "text-max-width": 8, "symbol-placement": "point", "text-padding": 4},
			"paint": map[string]any{"text-color": color, "text-halo-color": "#ffffff", "text-halo-width": 1.5}}
	}
	// Highlight a selected or hovered grid through feature-state.
	gridFill := []any{"case",
		[]any{"boolean", []any{"feature-state", "selected"}, false}, 0.45,
		[]any{"boolean", []any{"feature-state", "hover"}, false}, 0.25,
		0.06}
	layers = append(layers,
		fill("districts-fill", "districts", "#e9e4d8", 0.6, 0),
		fill("communities-fill", "communities", "#cfe3f4", 0.35, 9),
		fill("grids-fill", "grids", "#4f9d2d", gridFill, 10),
		line("grids-line", "grids", "#4f9d2d", []any{"interpolate", []any{"linear"}, []any{"zoom"}, 12, 0.3, 16, 1.2}, nil, 11),
		line("mgmt_grids-line", "mgmt_grids", "#d1495b", 1.6, []float64{3, 2}, 10),
		line("communities-line", "communities", "#2f6fad", []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 0.6, 16, 1.8}, nil, 9),
		line("streets-line", "streets", "#6a4c93", []any{"interpolate", []any{"linear"}, []any{"zoom"}, 8, 1, 16, 3}, []float64{4, 2}, 8),
		line("districts-line", "districts", "#3d3d3d", []any{"interpolate", []any{"linear"}, []any{"zoom"}, 6, 1.2, 16, 4}, nil, 0),
		label("districts-label", "districts", "name", 16, "#222222", 6, 12),
		label("streets-label", "streets", "name", 14, "#4b2e7a", 11, 14),
		label("communities-label", "communities", "name", 12, "#1d4f80", 13, 16.5),
		label("grids-label", "grids", "code", 10, "#2f5e1b", 15, 24),
		label("mgmt_grids-label", "mgmt_grids", "name", 11, "#a02c3c", 14, 24),
	)
	layers = append(layers, componentStyleLayers()...)
	return map[string]any{
		"version": 8,
		"name":    "gridd",
		"sources": sources,
		"glyphs":  base + "/fonts/{fontstack}/{range}.pbf",
		"layers":  layers,
	}
}

// StyleLayerIDs lists the style's layer ids that draw the tile layer.
func StyleLayerIDs(style map[string]any, layer string) []string {
	var ids []string
	for _, l := range style["layers"].([]map[string]any) {
		if id := l["id"].(string); strings.HasPrefix(id, layer+"-") {
			ids = append(ids, id)
		}
	}
	return ids
}

// ComponentMajorColors are the colours of the components' major classes on
// the map: 01 municipal, 02 traffic, 03 sanitation, 04 landscaping, 05 other.
var ComponentMajorColors = [][2]string{
	{"01", "#2b6cb0"}, {"02", "#dd6b20"}, {"03", "#805ad5"}, {"04", "#2f855a"}, {"05", "#718096"},
}

// componentStyleLayers draws the components layer: polygons and lines in
// their major class's colour, single components as circles (ringed in red
// when not intact), and below zoom 16 the cluster points as circles sized by
// and labelled with their count, in the colour of their dominant class.
func componentStyleLayers() []map[string]any {
	color := []any{"match", []any{"get", "major_code"}}
	for _, c := range ComponentMajorColors {
		color = append(color, c[0], c[1])
	}
	color = append(color, "#4a5568")
	isPoint := []any{"==", []any{"geometry-type"}, "Point"}
	isCluster := []any{"==", []any{"get", "cluster"}, true}
	notCluster := []any{"!", []any{"has", "cluster"}}
	src := func(id, typ string, minzoom float64, filter any) map[string]any {
		return map[string]any{"id": id, "type": typ, "source": "gridd", "source-layer": "components",
			"minzoom": minzoom, "filter": filter}
	}
	fill := src("components-fill", "fill", 10, []any{"==", []any{"geometry-type"}, "Polygon"})
	fill["paint"] = map[string]any{"fill-color": color, "fill-opacity": 0.35, "fill-outline-color": color}
	line := src("components-line", "line", 10, []any{"==", []any{"geometry-type"}, "LineString"})
	line["paint"] = map[string]any{"line-color": color, "line-width": 2}
	point := src("components-point", "circle", 10, []any{"all", isPoint, notCluster})
	point["paint"] = map[string]any{
		"circle-color":        color,
		"circle-radius":       []any{"interpolate", []any{"linear"}, []any{"zoom"}, 16, 4, 20, 8},
		"circle-stroke-width": 1,
		"circle-stroke-color": []any{"case", []any{"==", []any{"get", "status"}, "intact"}, "#ffffff", "#e53e3e"},
	}
	cluster := src("components-cluster", "circle", 10, []any{"all", isPoint, isCluster})
	cluster["paint"] = map[string]any{
		"circle-color":        color,
		"circle-opacity":      0.8,
		"circle-radius":       []any{"step", []any{"get", "point_count"}, 7, 10, 10, 100, 13, 1000, 17, 10000, 22},
		"circle-stroke-width": 1.5,
		"circle-stroke-color": "#ffffff",
	}
	count := src("components-cluster-count", "symbol", 10, []any{"all", isPoint, isCluster})
	count["layout"] = map[string]any{
		"text-field": []any{"case", []any{">=", []any{"get", "point_count"}, 1000},
			[]any{"concat", []any{"to-string", []any{"round", []any{"/", []any{"get", "point_count"}, 1000}}}, "k"},
			[]any{"to-string", []any{"get", "point_count"}}},
		"text-font": []string{FontStack}, "text-size": 10, "text-allow-overlap": true,
	}
	count["paint"] = map[string]any{"text-color": "#ffffff"}
	return []map[string]any{fill, line, point, cluster, count}
}
