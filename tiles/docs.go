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
//
// The district view reads first. Bottom up: the fills, the components'
// density wash (below ComponentClustersFromZoom), the boundary lines, the
// components (count bubbles from ComponentClustersFromZoom, each component
// from 16), and the labels on top of everything, in the order of their rank.
// MapLibre places the symbols of upper layers first, so district, street,
// community, management-grid, social-grid and grid labels win every
// collision with each other in that order and with the cluster counts, which
// are dropped where a label stands; the bubbles themselves are drawn under
// the labels. Social grids are a choropleth of their load (socialFill) over
// the communities' wash and under the unit grids.
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
	zoom := func(stops ...any) []any {
		return append([]any{"interpolate", []any{"linear"}, []any{"zoom"}}, stops...)
	}
	fill := func(id, layer, color string, opacity any, minzoom float64) map[string]any {
		return map[string]any{"id": id, "type": "fill", "source": "gridd", "source-layer": layer, "minzoom": minzoom,
			"paint": map[string]any{"fill-color": color, "fill-opacity": opacity}}
	}
	line := func(id, layer, color string, width, opacity any, dash []float64, minzoom float64) map[string]any {
		paint := map[string]any{"line-color": color, "line-width": width, "line-opacity": opacity}
		if dash != nil {
			paint["line-dasharray"] = dash
		}
		return map[string]any{"id": id, "type": "line", "source": "gridd", "source-layer": layer, "minzoom": minzoom,
			"layout": map[string]any{"line-join": "round"}, "paint": paint}
	}
	label := func(id, layer string, text, size any, color string, halo float64, minzoom, maxzoom float64) map[string]any {
		return map[string]any{"id": id, "type": "symbol", "source": "gridd", "source-layer": layer,
			"minzoom": minzoom, "maxzoom": maxzoom, "filter": []any{"==", []any{"geometry-type"}, "Point"},
			"layout": map[string]any{"text-field": text, "text-font": []string{FontStack},
				"text-size": size, "text-max-width": 7, "symbol-placement": "point", "text-padding": 3},
			"paint": map[string]any{"text-color": color, "text-halo-color": "#ffffff", "text-halo-width": halo,
				"text-halo-blur": 0.5}}
	}
	// Community names without the committee suffix: 灯市口社区居委会 is
	// labelled 灯市口社区.
	communityName := []any{"let", "n", []any{"get", "name"},
		[]any{"let", "i", []any{"index-of", "居委会", []any{"var", "n"}},
			[]any{"case", []any{">", []any{"var", "i"}, 0},
				[]any{"slice", []any{"var", "n"}, 0, []any{"var", "i"}}, []any{"var", "n"}}}}
	// A social grid's number in its community and its households: the name
	// from 第 on (东华门社区居委会第3网格 is labelled 第3网格), then 312户.
	socialLabel := []any{"let", "n", []any{"get", "name"},
		[]any{"let", "i", []any{"index-of", "第", []any{"var", "n"}},
			[]any{"concat",
				[]any{"case", []any{">", []any{"var", "i"}, 0},
					[]any{"slice", []any{"var", "n"}, []any{"var", "i"}}, []any{"var", "n"}},
				"\n", []any{"to-string", []any{"get", "households"}}, "户"}}}
	// Highlight a selected or hovered grid through feature-state.
	gridFill := []any{"case",
		[]any{"boolean", []any{"feature-state", "selected"}, false}, 0.45,
		[]any{"boolean", []any{"feature-state", "hover"}, false}, 0.25,
		0.06}
	layers = append(layers,
		fill("districts-fill", "districts", "#e9e4d8", 0.6, 0),
		fill("communities-fill", "communities", "#cfe3f4", 0.35, 9),
		socialFill(),
		fill("grids-fill", "grids", "#4f9d2d", gridFill, 10),
	)
	layers = append(layers, componentHeatLayer())
	layers = append(layers,
		// Unit grid lines fade in from zoom 12.5: at the district view their
		// mesh would only blur the streets and communities.
		line("grids-line", "grids", "#4f9d2d", zoom(12.5, 0.3, 16, 1.2), zoom(12.5, 0, 14, 0.8), nil, 12.5),
		line("social_grids-line", "social_grids", "#5b3f8c", zoom(10, 0.4, 13, 0.9, 16, 1.8), zoom(10, 0.5, 13, 0.9), nil, 10),
		line("mgmt_grids-line", "mgmt_grids", "#d1495b", 1.6, 1, []float64{3, 2}, 10),
		line("communities-line", "communities", "#2f6fad", zoom(10, 0.5, 13, 1, 16, 1.8), zoom(10, 0.5, 13, 0.9), nil, 9),
		line("streets-line", "streets", "#6a4c93", zoom(8, 1, 12, 2, 16, 3.5), 0.9, []float64{4, 1.5}, 8),
		line("districts-line", "districts", "#3d3d3d", zoom(6, 1.2, 16, 4), 1, nil, 0),
	)
	layers = append(layers, componentStyleLayers()...)
	// Labels last, the most important on top: MapLibre places upper layers'
	// symbols first.
	// A street's name may move an em off its label point to any side when
	// another name stands there (the district's over a street's); a
	// community's, smaller, only half an em up or down, so that it stays
	// over its community.
	shifting := func(l map[string]any, offset float64, anchors ...string) map[string]any {
		lay := l["layout"].(map[string]any)
		lay["text-variable-anchor"] = append([]string{"center"}, anchors...)
		lay["text-radial-offset"] = offset
		return l
	}
	layers = append(layers,
		label("grids-label", "grids", []any{"get", "code"}, 10, "#2f5e1b", 1.5, 15.5, 24),
		label("social_grids-label", "social_grids", socialLabel, 11, "#3f2a66", 1.5, 14, 24),
		label("mgmt_grids-label", "mgmt_grids", []any{"get", "name"}, 11, "#a02c3c", 1.5, 14, 24),
		shifting(label("communities-label", "communities", communityName, zoom(11, 10, 13, 12, 16, 14), "#1d4f80", 1.5, 11, 17),
			0.5, "top", "bottom"),
		shifting(label("streets-label", "streets", []any{"get", "name"}, zoom(10, 12, 12, 15, 15, 17), "#4b2e7a", 2, 10, 15),
			1, "top", "bottom", "left", "right"),
		label("districts-label", "districts", []any{"get", "name"}, zoom(6, 14, 11, 20), "#222222", 2.5, 6, 12.5),
	)
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

// SocialLoadClasses are the classes of the social grids' choropleth: a
// grid whose load is below the first bound gets the first colour, one at or
// above the last bound the last. A diverging scale around the target (1):
// blue under it, pale yellow within ±15 %, red over it; ±30 % is the
// tolerance the grids are built to (grids.SocialTolerance).
var SocialLoadClasses = struct {
	Bounds []float64
	Colors []string
}{
	Bounds: []float64{0.7, 0.85, 1.15, 1.3},
	Colors: []string{"#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"},
}

// SocialNoTargetColors colour the social grids of a community with no
// target by their households: the first colour at 0, the second from
// SocialNoTargetHouseholds on.
var SocialNoTargetColors = [2]string{"#f2f0f7", "#54278f"}

// SocialNoTargetHouseholds is where the no-target scale ends.
const SocialNoTargetHouseholds = 600

// socialFill is the social grids' choropleth: by load where the community
// has a target (SocialLoadClasses), by households where it has none; more
// opaque on a selected or hovered grid.
func socialFill() map[string]any {
	step := []any{"step", []any{"get", "load"}, SocialLoadClasses.Colors[0]}
	for i, b := range SocialLoadClasses.Bounds {
		step = append(step, b, SocialLoadClasses.Colors[i+1])
	}
	hasTarget := []any{"any", []any{">", []any{"get", "target_households"}, 0}, []any{">", []any{"get", "target_residents"}, 0}}
	byHouseholds := []any{"interpolate", []any{"linear"}, []any{"get", "households"},
		0, SocialNoTargetColors[0], SocialNoTargetHouseholds, SocialNoTargetColors[1]}
	return map[string]any{"id": "social_grids-fill", "type": "fill", "source": "gridd", "source-layer": "social_grids",
		"minzoom": 10,
		"paint": map[string]any{
			"fill-color": []any{"case", hasTarget, step, byHouseholds},
			"fill-opacity": []any{"case",
				[]any{"boolean", []any{"feature-state", "selected"}, false}, 0.75,
				[]any{"boolean", []any{"feature-state", "hover"}, false}, 0.6,
				0.45},
		}}
}

// ComponentMajorColors are the colours of the components' major classes on
// the map: 01 municipal, 02 traffic, 03 sanitation, 04 landscaping, 05 other.
var ComponentMajorColors = [][2]string{
	{"01", "#2b6cb0"}, {"02", "#dd6b20"}, {"03", "#805ad5"}, {"04", "#2f855a"}, {"05", "#718096"},
}

// ComponentClustersFromZoom is the zoom from which the map draws the
// components' clusters as count bubbles; below it they are a density wash
// under the division lines and labels, so that the district view shows the
// districts, streets and communities rather than a carpet of bubbles.
const ComponentClustersFromZoom = 15

// componentHeatLayer draws the cluster points below ComponentClustersFromZoom
// as a heatmap weighted by their counts, fading out as the bubbles come in.
func componentHeatLayer() map[string]any {
	return map[string]any{"id": "components-heat", "type": "heatmap", "source": "gridd", "source-layer": "components",
		"minzoom": 10, "maxzoom": ComponentClustersFromZoom,
		"filter": []any{"all", []any{"==", []any{"geometry-type"}, "Point"}, []any{"==", []any{"get", "cluster"}, true}},
		"paint": map[string]any{
			// Weight times intensity is 1 for about 1,400 components per
			// km² (1,200 in a 64-pixel block at zoom 12, about 0.9 km² at
			// Beijing's latitude), a built-up district's density, at every
			// zoom: each zoom's blocks hold a quarter of the previous
			// zoom's, and the intensity quadruples.
			"heatmap-weight": []any{"/", []any{"get", "point_count"}, 1200},
			"heatmap-intensity": []any{"interpolate", []any{"exponential", 4}, []any{"zoom"},
				10, 0.0625, 11, 0.25, 12, 1, 13, 4, 14, 16, 15, 64},
			// As wide as the clusters' spacing on screen: 64 pixels in the
			// tile, which MapLibre scales up to twice that before the next
			// zoom's tiles.
			"heatmap-radius": heatRadius(),
			"heatmap-color": []any{"interpolate", []any{"linear"}, []any{"heatmap-density"},
				0, "rgba(221,107,32,0)", 0.3, "rgba(237,137,54,0.2)", 0.7, "rgba(221,107,32,0.3)", 1, "rgba(192,86,33,0.45)"},
			"heatmap-opacity": []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 0.55,
				ComponentClustersFromZoom - 1, 0.55, ComponentClustersFromZoom, 0},
		}}
}

// heatRadius is the heatmap's radius: 64 pixels at each whole zoom, growing
// with the tiles' scale to 128 just before the next, where MapLibre loads
// that zoom's tiles.
func heatRadius() []any {
	r := []any{"interpolate", []any{"exponential", 2}, []any{"zoom"}}
	for z := 10; z < ComponentClustersFromZoom; z++ {
		r = append(r, z, 64, float64(z)+0.999, 128)
	}
	return r
}

// componentStyleLayers draws the components layer over the division lines:
// polygons and lines in their major class's colour, single components as
// circles (ringed in red when not intact), and from
// ComponentClustersFromZoom to 16 the cluster points as bubbles sized by
// their count in the colour of their dominant class, with the count where no
// label stands.
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
	cluster := src("components-cluster", "circle", ComponentClustersFromZoom, []any{"all", isPoint, isCluster})
	cluster["paint"] = map[string]any{
		"circle-color":        color,
		"circle-opacity":      0.75,
		"circle-radius":       []any{"step", []any{"get", "point_count"}, 6, 10, 8, 50, 10, 200, 12, 1000, 15},
		"circle-stroke-width": 1,
		"circle-stroke-color": "#ffffff",
	}
	count := src("components-cluster-count", "symbol", ComponentClustersFromZoom, []any{"all", isPoint, isCluster})
	count["layout"] = map[string]any{
		"text-field": []any{"case", []any{">=", []any{"get", "point_count"}, 1000},
			[]any{"concat", []any{"to-string", []any{"round", []any{"/", []any{"get", "point_count"}, 1000}}}, "k"},
			[]any{"to-string", []any{"get", "point_count"}}},
		"text-font": []string{FontStack}, "text-size": 10,
		// Counts yield to every label (the label layers are above) and to
		// each other; the bubble stays, under the label.
		"text-allow-overlap": false, "text-ignore-placement": false, "text-padding": 1,
	}
	count["paint"] = map[string]any{"text-color": "#ffffff"}
	return []map[string]any{fill, line, point, cluster, count}
}
