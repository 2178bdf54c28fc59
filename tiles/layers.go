package tiles

import (
	"fmt"
	"strings"

	"gridd/grids"
)

// Field is one attribute a layer's features carry, as TileJSON lists it.
type Field struct {
	Name string
	// Type is the TileJSON/MVT value type: "String", "Number" or "Boolean".
	Type        string
	Description string
}

// Layer is one vector-tile layer: a table of the map drawn between two
// zooms. Its SQL lives with the tile source (for PostGIS:
// grids/postgis/queries/tiles_<Name>.sql); adding a layer is one entry in
// Layers plus that query.
type Layer struct {
	// Name is the layer's name in tile URLs, in the MVT and in the style.
	Name        string
	Description string
	// Table is the table the layer draws (its current rows' geom gives the
	// layer's data bounds) and the change-feed table whose changes touch its
	// tiles.
	Table string
	// Also are further change-feed tables whose changes touch the layer's
	// tiles: tables (or derived tables the database announces, such as
	// social_grid_totals) whose rows feed the layer's attributes.
	Also []string
	// Geometry is "polygon", "line", "point" or "mixed", for the style.
	Geometry string
	// MinZoom and MaxZoom bound the zooms whose tiles hold the layer; outside
	// them the layer is left out of the tile (MapLibre overzooms past MaxZoom).
	MinZoom, MaxZoom int
	// Simplify is the simplification tolerance in screen pixels (of a
	// 256-pixel tile); 0 draws the stored geometry as is.
	Simplify float64
	// LabelMinZoom is the zoom from which each feature also comes as a point
	// (inside its polygon, in the one tile that holds it) for its label.
	LabelMinZoom int
	// Fields are the attributes every feature has besides its integer id.
	Fields []Field
}

// SocialTotalsTable is the derived change-feed table the database announces
// when the building totals of social grids change, with the extent of those
// grids (migration 0029).
const SocialTotalsTable = "social_grid_totals"

// Tables lists the change-feed tables whose changes touch the layer's tiles:
// Table, then Also.
func (l *Layer) Tables() []string {
	return append([]string{l.Table}, l.Also...)
}

// ComponentsFromZoom is the zoom from which the components layer draws every
// component; below it the layer draws cluster points.
const ComponentsFromZoom = 16

// Visible reports whether the layer is drawn in tiles of zoom z.
func (l *Layer) Visible(z int) bool { return z >= l.MinZoom && z <= l.MaxZoom }

// Layers is the closed list of layers gridd serves, in drawing order (the
// order of the layers inside a multi-layer tile). Polygon layers also carry
// one label point per feature from their LabelMinZoom on: style fills and
// lines ignore points, and labels filter on the point geometry. Feature ids are integers
// (the numeric code where the code is all digits) so that MapLibre's
// feature-state can address them.
var Layers = []*Layer{
	{Name: "districts", Description: "districts (区县)", Table: "districts", Geometry: "polygon",
		MinZoom: 0, MaxZoom: MaxZoom, Simplify: 1, LabelMinZoom: 6, Fields: divisionFields},
	{Name: "streets", Description: "streets and towns (街道/乡镇)", Table: "streets", Geometry: "polygon",
		MinZoom: 8, MaxZoom: MaxZoom, Simplify: 0.5, LabelMinZoom: 10, Fields: divisionFields},
	{Name: "communities", Description: "communities (社区/村)", Table: "communities", Geometry: "polygon",
		MinZoom: 9, MaxZoom: MaxZoom, Simplify: 0.5, LabelMinZoom: 11, Fields: divisionFields},
	{Name: "mgmt_grids", Description: "responsibility grids (责任网格), drawn by hand; social grids are social_grids",
		Table: "mgmt_grids", Geometry: "polygon",
		MinZoom: 10, MaxZoom: MaxZoom, Simplify: 0.5, LabelMinZoom: 14, Fields: []Field{
			{"code", "String", "management grid code"},
			{"name", "String", "management grid name"},
			{"street_code", "String", "street the grid belongs to"},
		}},
	// Social-management grids with their households, residents and
	// buildings summed over their unit grids' current buildings, and their
	// load against their community's target. The totals change with any
	// building of the grid, and are drawn in every tile the grid spans: the
	// database announces such changes as social_grid_totals with the extent
	// of the grids concerned (migration 0029); a target change (no extent)
	// touches every tile of the layer.
	{Name: "social_grids", Description: "social-management grids (社会管理网格) with households, residents and load",
		Table: "mgmt_grids", Also: []string{SocialTotalsTable, "social_targets"}, Geometry: "polygon",
		MinZoom: 10, MaxZoom: MaxZoom, Simplify: 0.5, LabelMinZoom: 14, Fields: []Field{
			{"code", "String", "social grid code (COMMUNITY-SNN)"},
			{"name", "String", "social grid name"},
			{"community_code", "String", "community the grid belongs to"},
			{"households", "Number", "households (户数) of the current buildings in its unit grids"},
			{"residents", "Number", "residents (人口) of those buildings"},
			{"buildings", "Number", "current buildings in its unit grids"},
			{"unit_grids", "Number", "member unit grids"},
			{"target_households", "Number", "households per grid its community was built to (0: none)"},
			{"target_residents", "Number", "residents per grid its community was built to (0: none)"},
			{"load", "Number", "households over the target (mean with residents over theirs when both are set); 0 without a target"},
		}},
	{Name: "grids", Description: "unit grids (单元网格)", Table: "unit_grids", Geometry: "polygon",
		MinZoom: 10, MaxZoom: MaxZoom, Simplify: 0.5, LabelMinZoom: 15, Fields: []Field{
			{"code", "String", "15-digit unit grid code"},
			{"community_code", "String", "community (社区) code"},
			{"street_code", "String", "street (街道) code"},
			{"district_code", "String", "district (区) code"},
			{"area_m2", "Number", "area in square metres"},
			{"version", "Number", "version of the grid's shape"},
		}},
	// Components (部件) are points, lines and polygons. From zoom 16 every
	// component is drawn as stored (LabelMinZoom is that zoom: the layer has
	// no label points); below it, one point per cluster cell (16 x 16 cells
	// per tile, kept by the database ahead of requests) with cluster = true,
	// point_count and the cell's dominant major_code, so no tile grows with
	// the census. Feature ids are row ids; a cluster's id is 2^50 + its cell.
	{Name: "components", Description: "urban components (城市部件), clustered below z16", Table: "components",
		Geometry: "mixed", MinZoom: 10, MaxZoom: MaxZoom, Simplify: 0.5, LabelMinZoom: ComponentsFromZoom, Fields: []Field{
			{"code", "String", "17-digit component code"},
			{"class_code", "String", "5-digit component class (GB/T 47678.5-2026)"},
			{"class_name", "String", "class name"},
			{"major_code", "String", "major class: 01 municipal, 02 traffic, 03 sanitation, 04 landscaping, 05 other (of a cluster: most of its components)"},
			{"status", "String", "intact, damaged, lost, abandoned or removed"},
			{"grid_code", "String", "owning unit grid"},
			{"cluster", "Boolean", "true on a cluster point (zooms below 16)"},
			{"point_count", "Number", "components in the cluster"},
		}},
}

var divisionFields = []Field{
	{"code", "String", "division code"},
	{"name", "String", "division name"},
	{"parent_code", "String", "code of the parent division"},
}

// LayerNames lists the served layers, comma-separated.
func LayerNames() string {
	names := make([]string, len(Layers))
	for i, l := range Layers {
		names[i] = l.Name
	}
	return strings.Join(names, ",")
}

// ParseLayers reads a comma-separated layer list ("streets,communities,grids")
// into the layers in drawing order, without repeats. An unknown or empty name
// is an *grids.InvalidError that lists the valid ones.
func ParseLayers(s string) ([]*Layer, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, grids.Invalid("layers", "empty layer name in %q; valid layers: %s", s, LayerNames())
		}
		if Lookup(n) == nil {
			return nil, grids.Invalid("layers", "unknown layer %q; valid layers: %s", n, LayerNames())
		}
		want[n] = true
	}
	var out []*Layer
	for _, l := range Layers {
		if want[l.Name] {
			out = append(out, l)
		}
	}
	return out, nil
}

// Lookup returns the layer of that name, or nil.
func Lookup(name string) *Layer {
	for _, l := range Layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// Key is the canonical name of a layer list: the names in drawing order,
// comma-separated. Requests naming the same layers share tiles.
func Key(layers []*Layer) string {
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name
	}
	return strings.Join(names, ",")
}

func (l *Layer) String() string {
	return fmt.Sprintf("layer %s (z%d-%d)", l.Name, l.MinZoom, l.MaxZoom)
}
