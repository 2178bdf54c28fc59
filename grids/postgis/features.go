package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

// featureSources is the closed list of feature collections: for each, the
// SQL that yields (id, geom, feature JSON) of its current rows. Identifiers
// never come from a request.
var featureSources = map[string]string{
	"divisions": `SELECT code AS id, geom, json_build_object('type', 'Feature', 'id', code,
			'geometry', ST_AsGeoJSON(geom, 9)::json,
			'properties', json_build_object('level', level, 'code', code, 'name', name, 'parent_code', parent_code,
				'valid_from', valid_from)) AS f, valid_from AS since
		FROM divisions WHERE valid_to IS NULL`,
	// Every grid carries every attribute, null when unset, so that a client
	// that learns the fields from the first features (QGIS 3.22) sees them.
	"grids": `SELECT code AS id, geom, json_build_object('type', 'Feature', 'id', code,
			'geometry', ST_AsGeoJSON(geom, 9)::json,
			'properties', json_build_object('code', code, 'community_code', community_code,
				'street_code', street_code, 'district_code', district_code, 'area_m2', round(area_m2::numeric, 1),
				'version', version, 'land_use', land_use, 'mgmt_level', mgmt_level, 'responsible', responsible,
				'note', note, 'valid_from', valid_from)) AS f, valid_from AS since
		FROM unit_grids WHERE valid_to IS NULL`,
	"mgmt_grids": `SELECT code AS id, geom, json_build_object('type', 'Feature', 'id', code,
			'geometry', ST_AsGeoJSON(geom, 9)::json,
			'properties', json_build_object('code', code, 'name', name, 'street_code', street_code,
				'grids', (SELECT json_agg(grid_code ORDER BY grid_code) FROM mgmt_grid_members m WHERE m.mgmt_grid_id = g.id),
				'valid_from', valid_from)) AS f, valid_from AS since
		FROM mgmt_grids g WHERE valid_to IS NULL`,
	// The components' properties carry the names the component API writes
	// and reads, so that a feature read here and sent back whole (as QGIS
	// does on a Part 4 replace) changes nothing it did not edit; unset ones
	// are null rather than left out, as for grids, so that QGIS 3.22 (which
	// learns the fields from the features) shows every field.
	"components": componentsSource,
	// One collection per kind of geometry too: QGIS gives a layer one
	// geometry type, the first feature's, and draws only features of it.
	"components_point":   componentsSource + ` AND GeometryType(c.geom) IN ('POINT', 'MULTIPOINT')`,
	"components_line":    componentsSource + ` AND GeometryType(c.geom) IN ('LINESTRING', 'MULTILINESTRING')`,
	"components_polygon": componentsSource + ` AND GeometryType(c.geom) IN ('POLYGON', 'MULTIPOLYGON')`,
}

// componentsSource is the components collection's statement.
const componentsSource = `SELECT c.code AS id, c.geom, json_build_object('type', 'Feature', 'id', c.code,
			'geometry', ST_AsGeoJSON(c.geom, 9)::json,
			'properties', json_build_object('code', c.code, 'class_code', c.class_code, 'class_name', k.name,
				'legacy_code', c.legacy_code, 'district_code', c.district_code, 'grid_code', c.grid_code,
				'community_code', c.community_code, 'street_code', c.street_code, 'name', c.name,
				'dept_code', c.competent_dept_code, 'dept_name', nullif(c.competent_dept_name, ''),
				'owner_unit', c.owner_unit, 'maint_unit', c.maint_unit, 'status', c.status,
				'initial_date', c.initial_date, 'change_date', c.change_date, 'data_source', c.data_source,
				'accuracy', c.accuracy, 'note', c.note, 'version', c.version, 'updated_at', c.updated_at)) AS f,
			c.created_at AS since
		FROM components c LEFT JOIN classes k ON k.kind = 'component' AND k.code = c.class_code
		WHERE c.valid_to IS NULL`

func prop(name, typ, title string, readOnly bool) grids.FeatureProperty {
	p := grids.FeatureProperty{Name: name, Type: typ, Title: title, ReadOnly: readOnly}
	if typ == "date" || typ == "date-time" {
		p.Type, p.Format = "string", typ
	}
	return p
}

// featureSchemas lists each collection's properties in the order clients
// show them, as featureSources writes them. ReadOnly ones are written by
// gridd: an edit that sends them back changes nothing.
var featureSchemas = map[string][]grids.FeatureProperty{
	"divisions": {
		prop("code", "string", "区划代码", true), prop("level", "string", "Level", true),
		prop("name", "string", "名称", true), prop("parent_code", "string", "上级代码", true),
		prop("valid_from", "date-time", "Current since", true),
	},
	"grids": {
		prop("code", "string", "单元网格代码", true), prop("community_code", "string", "社区代码", true),
		prop("street_code", "string", "街道代码", true), prop("district_code", "string", "区代码", true),
		prop("area_m2", "number", "面积 m²", true), prop("version", "integer", "Version", true),
		prop("land_use", "string", "用地类型", false), prop("mgmt_level", "string", "管理级别", false),
		prop("responsible", "string", "责任人/单位", false), prop("note", "string", "备注", false),
		prop("valid_from", "date-time", "Current since", true),
	},
	"mgmt_grids": {
		prop("code", "string", "管理网格代码", true), prop("name", "string", "名称", true),
		prop("street_code", "string", "街道代码", true), prop("valid_from", "date-time", "Current since", true),
	},
	"components": {
		prop("code", "string", "部件代码 (empty on a new one: gridd allocates it)", false),
		prop("class_code", "string", "小类代码", false), prop("class_name", "string", "小类名称", true),
		prop("legacy_code", "string", "原编码", false), prop("district_code", "string", "区代码", true),
		prop("grid_code", "string", "单元网格代码", true), prop("community_code", "string", "社区代码", true),
		prop("street_code", "string", "街道代码", true), prop("name", "string", "名称", false),
		prop("dept_code", "string", "主管部门代码", false), prop("dept_name", "string", "主管部门名称", false),
		prop("owner_unit", "string", "权属单位", false), prop("maint_unit", "string", "养护单位", false),
		prop("status", "string", "状态", false), prop("initial_date", "date", "初始日期", false),
		prop("change_date", "date", "变更日期", false), prop("data_source", "string", "数据来源", false),
		prop("accuracy", "string", "精度", false), prop("note", "string", "备注", false),
		prop("version", "integer", "Version", true), prop("updated_at", "date-time", "Updated", true),
	},
}

// FeatureSchema implements api.FeatureDescriber.
func (s *Store) FeatureSchema(coll string) []grids.FeatureProperty {
	if strings.HasPrefix(coll, "components_") {
		coll = "components" // the collections of one kind of geometry
	}
	return featureSchemas[coll]
}

// CollectionExtent implements api.FeatureDescriber: the bounds, first
// time and count of a collection's current features.
func (s *Store) CollectionExtent(ctx context.Context, coll string) (grids.CollectionExtent, error) {
	src, ok := featureSources[coll]
	if !ok {
		return grids.CollectionExtent{}, fmt.Errorf("collection %s: %w", coll, grids.ErrNotFound)
	}
	var e grids.CollectionExtent
	var x0, y0, x1, y1 *float64
	err := s.reader(ctx).QueryRow(ctx, `SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), since, n
		FROM (SELECT ST_Extent(s.geom) b, min(s.since) since, count(*) n FROM (`+src+`) s) x`).Scan(&x0, &y0, &x1, &y1, &e.Since, &e.Count)
	if err != nil {
		return e, fmt.Errorf("collection %s: %w", coll, err)
	}
	if x0 != nil {
		e.BBox = &orb.Bound{Min: orb.Point{*x0, *y0}, Max: orb.Point{*x1, *y1}}
	}
	return e, nil
}

// FeatureCollections lists the collections Items serves.
func (s *Store) FeatureCollections() []string {
	return []string{"divisions", "grids", "mgmt_grids", "components", "components_point", "components_line", "components_polygon"}
}

// Items returns one page of a collection's current features, ordered by id.
func (s *Store) Items(ctx context.Context, coll string, q grids.FeatureQuery) (grids.FeaturePage, error) {
	src, ok := featureSources[coll]
	if !ok {
		return grids.FeaturePage{}, fmt.Errorf("collection %s: %w", coll, grids.ErrNotFound)
	}
	var bbox []float64
	if q.BBox != nil {
		bbox = []float64{q.BBox.Min[0], q.BBox.Min[1], q.BBox.Max[0], q.BBox.Max[1]}
	}
	filter := ` WHERE $1::float8[] IS NULL OR s.geom && ST_MakeEnvelope(($1::float8[])[1], ($1::float8[])[2], ($1::float8[])[3], ($1::float8[])[4], 4326)`
	var page grids.FeaturePage
	if err := s.reader(ctx).QueryRow(ctx, `SELECT count(*) FROM (`+src+`) s`+filter, bbox).Scan(&page.Matched); err != nil {
		return page, fmt.Errorf("collection %s: %w", coll, err)
	}
	rows, err := s.reader(ctx).Query(ctx, `SELECT s.f FROM (`+src+`) s`+filter+` ORDER BY s.id LIMIT $2 OFFSET $3`, bbox, q.Limit, q.Offset)
	if err != nil {
		return page, fmt.Errorf("collection %s: %w", coll, err)
	}
	page.Features, err = pgx.CollectRows(rows, pgx.RowTo[json.RawMessage])
	if err != nil {
		return page, fmt.Errorf("collection %s: %w", coll, err)
	}
	return page, nil
}

// Item returns one current feature of a collection by id.
func (s *Store) Item(ctx context.Context, coll, id string) (json.RawMessage, error) {
	src, ok := featureSources[coll]
	if !ok {
		return nil, fmt.Errorf("collection %s: %w", coll, grids.ErrNotFound)
	}
	var f json.RawMessage
	err := s.reader(ctx).QueryRow(ctx, `SELECT s.f FROM (`+src+`) s WHERE s.id = $1`, id).Scan(&f)
	if err != nil {
		return nil, fmt.Errorf("%s item %s: %w", coll, id, translate(err))
	}
	return f, nil
}

// CarveGrid implements grids.GridShaper.
func (s *Store) CarveGrid(ctx context.Context, actor string, geom orb.Polygon, attrs grids.GridAttributes, message string) (grids.Changeset, error) {
	if err := grids.CheckGridPolygon("geometry", geom); err != nil {
		return grids.Changeset{}, err
	}
	b, err := toWKB(geom)
	if err != nil {
		return grids.Changeset{}, err
	}
	if message == "" {
		message = "new grid"
	}
	var comm string
	err = s.pool.QueryRow(ctx, `SELECT code FROM communities WHERE valid_to IS NULL AND ST_Intersects(geom, ST_GeomFromWKB($1, 4326))
		ORDER BY ST_Area(ST_Intersection(geom, ST_GeomFromWKB($1, 4326))) DESC LIMIT 1`, b).Scan(&comm)
	if errors.Is(err, pgx.ErrNoRows) {
		return grids.Changeset{}, grids.Invalid("geometry", "the new grid lies in no community")
	}
	if err != nil {
		return grids.Changeset{}, err
	}
	var id int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		e, err := s.beginEdit(ctx, tx, actor, message, []grids.Operation{{Op: grids.Replace}}, []string{comm}, nil)
		if err != nil {
			return err
		}
		id = e.id
		var clipped []byte
		var typ string
		err = tx.QueryRow(ctx, `SELECT ST_AsBinary(g), GeometryType(g) FROM (SELECT ST_CollectionExtract(ST_Intersection(ST_GeomFromWKB($2, 4326), geom), 3) g
			FROM communities WHERE code = $1 AND valid_to IS NULL) x`, comm, b).Scan(&clipped, &typ)
		if err != nil {
			return err
		}
		if typ != "POLYGON" {
			return grids.Invalid("geometry", "the new grid, clipped to community %s, is not one polygon", comm)
		}
		rows, err := tx.Query(ctx, `SELECT code, version, ST_AsBinary(geom), ST_AsBinary(ST_Difference(geom, ST_GeomFromWKB($2, 4326)))
			FROM unit_grids WHERE community_code = $1 AND valid_to IS NULL AND ST_Relate(geom, ST_GeomFromWKB($2, 4326), '2********')
			ORDER BY code FOR UPDATE`, comm, clipped)
		if err != nil {
			return err
		}
		var inputs []gridRow
		var outs []output
		var g gridRow
		var rest []byte
		if _, err := pgx.ForEachRow(rows, []any{&g.code, &g.version, &g.wkb, &rest}, func() error {
			inputs = append(inputs, g)
			outs = append(outs, output{code: g.code, wkb: rest})
			return nil
		}); err != nil {
			return err
		}
		if len(inputs) == 0 {
			return grids.Invalid("geometry", "the new grid covers no existing grid of community %s", comm)
		}
		for _, o := range outs {
			var typ string
			var empty bool
			if err := tx.QueryRow(ctx, `SELECT GeometryType(g), ST_IsEmpty(g) FROM (SELECT ST_GeomFromWKB($1, 4326) g) x`, o.wkb).Scan(&typ, &empty); err != nil {
				return err
			}
			if empty {
				return grids.Invalid("geometry", "the new grid covers all of grid %s; edit that grid instead", o.code)
			}
			if typ != "POLYGON" {
				return grids.Invalid("geometry", "the new grid would cut grid %s into pieces", o.code)
			}
		}
		outs = append(outs, output{wkb: clipped, attrs: attrs})
		if err := e.write("geometry", grids.Replace, inputs, outs); err != nil {
			return err
		}
		return e.finish()
	})
	if err != nil {
		return grids.Changeset{}, editError(err)
	}
	return s.Changeset(ctx, id)
}

// DissolveGrid implements grids.GridShaper.
func (s *Store) DissolveGrid(ctx context.Context, actor string, ref grids.GridRef, message string) (grids.Changeset, error) {
	var nb string
	var nv int
	var union []byte
	err := s.pool.QueryRow(ctx, `SELECT b.code, b.version, ST_AsBinary(ST_Union(a.geom, b.geom)) FROM unit_grids a JOIN unit_grids b
			ON b.community_code = a.community_code AND b.valid_to IS NULL AND b.code <> a.code AND b.geom && a.geom
		WHERE a.code = $1 AND a.valid_to IS NULL
		ORDER BY ST_Length(ST_Intersection(ST_Boundary(a.geom), b.geom)) DESC, b.code LIMIT 1`, ref.Code.String()).Scan(&nb, &nv, &union)
	if errors.Is(err, pgx.ErrNoRows) {
		var n int
		s.pool.QueryRow(ctx, `SELECT count(*) FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, ref.Code.String()).Scan(&n) //nolint:errcheck
		if n == 0 {
			return grids.Changeset{}, fmt.Errorf("grid %s: %w", ref.Code, grids.ErrNotFound)
		}
		return grids.Changeset{}, grids.Invalid("code", "grid %s is the only grid of its community; it cannot be removed", ref.Code)
	}
	if err != nil {
		return grids.Changeset{}, err
	}
	if message == "" {
		message = "remove grid " + ref.Code.String()
	}
	// The neighbour takes the area and keeps its code; the grid retires.
	g, err := fromWKB(union)
	if err != nil {
		return grids.Changeset{}, err
	}
	return s.ApplyChangeset(ctx, actor, grids.ChangesetRequest{Message: message, Operations: []grids.Operation{{
		Op: grids.Replace, Grids: []grids.GridRef{ref, {Code: geo.Code(nb), Version: nv}},
		Parts: []grids.Part{{Code: geo.Code(nb), Geometry: geojson.NewGeometry(g)}}}}})
}

var _ grids.GridShaper = (*Store)(nil)
