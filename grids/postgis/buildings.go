package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/ewkb"

	"gridd/grids"
)

// The building import runs in one transaction: COPY the features into the
// temporary table staged_buildings, check each footprint and place each
// building in the unit grid owning its representative point
// (gridd_grid_at(ST_PointOnSurface(geom)), the lookups' single owner), and,
// when none is refused, insert them all and record each in the history.

const createStagedBuildings = `CREATE TEMP TABLE staged_buildings (
	idx integer PRIMARY KEY, place text NOT NULL, name text NOT NULL,
	households integer NOT NULL, residents integer NOT NULL,
	geom geometry NOT NULL, attrs jsonb, grid_code text
) ON COMMIT DROP`

// rejectBuildings places the staged buildings and lists the refused ones:
// a footprint that is empty or not valid, a point in no unit grid.
const rejectBuildings = `
WITH checked AS (
	SELECT idx, place, name, geom,
	       CASE WHEN ST_IsEmpty(geom) THEN 'geometry is empty'
	            WHEN NOT ST_IsValid(geom) THEN 'geometry is not valid: ' || ST_IsValidReason(geom)
	       END AS bad
	FROM staged_buildings
), placed AS (
	UPDATE staged_buildings s SET grid_code = gridd_grid_at(ST_PointOnSurface(s.geom))
	FROM checked c WHERE c.idx = s.idx AND c.bad IS NULL
	RETURNING s.idx, s.grid_code
)
SELECT c.idx, c.name,
       concat_ws(': ', nullif(c.place, ''),
                 coalesce(c.bad, format('its point %s lies in no unit grid',
                                        ST_AsText(ST_PointOnSurface(c.geom), 7))))
FROM checked c LEFT JOIN placed p USING (idx)
WHERE c.bad IS NOT NULL OR p.grid_code IS NULL
ORDER BY c.idx`

// ImportBuildings implements grids.BuildingStore.
func (s *Store) ImportBuildings(ctx context.Context, feats []grids.BuildingFeature, actor, reason string) (grids.BuildingImportReport, error) {
	var rep grids.BuildingImportReport
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		rep = grids.BuildingImportReport{}
		return importBuildingsTx(ctx, tx, feats, actor, reason, &rep)
	})
	if err != nil {
		rep.Created, rep.Grids = 0, nil
	}
	return rep, err
}

func importBuildingsTx(ctx context.Context, tx pgx.Tx, feats []grids.BuildingFeature, actor, reason string, rep *grids.BuildingImportReport) error {
	if len(feats) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.actor', $1, true)`, actor); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, createStagedBuildings); err != nil {
		return fmt.Errorf("import buildings: stage: %w", err)
	}
	rows := make([][]any, len(feats))
	for i, f := range feats {
		g, err := ewkb.Marshal(f.Geom, 4326)
		if err != nil {
			return fmt.Errorf("import buildings: feature %d: encode geometry: %w", f.Index, err)
		}
		var attrs any
		if len(f.Attrs) > 0 {
			attrs = attrsJSON(f.Attrs)
		}
		rows[i] = []any{int32(f.Index), f.Where, f.Name, int32(f.Households), int32(f.Residents), g, attrs}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"staged_buildings"},
		[]string{"idx", "place", "name", "households", "residents", "geom", "attrs"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("import buildings: stage: %w", translate(err))
	}
	r, err := tx.Query(ctx, rejectBuildings)
	if err != nil {
		return fmt.Errorf("import buildings: place: %w", err)
	}
	rejected, err := pgx.CollectRows(r, pgx.RowToStructByPos[grids.Rejection])
	if err != nil {
		return fmt.Errorf("import buildings: place: %w", err)
	}
	if len(rejected) > 0 {
		rep.Rejected = rejected
		return &grids.RejectedError{What: "building", Rejected: rejected}
	}
	var ids []int64
	r, err = tx.Query(ctx, `INSERT INTO buildings (name, households, residents, grid_code, community_code, street_code, district_code, geom, attrs)
		SELECT name, households, residents, grid_code, left(grid_code, 12), left(grid_code, 9), left(grid_code, 6),
		       ST_SetSRID(geom, 4326), attrs
		FROM staged_buildings ORDER BY idx
		RETURNING id`)
	if err != nil {
		return fmt.Errorf("import buildings: write: %w", translate(err))
	}
	if ids, err = pgx.CollectRows(r, pgx.RowTo[int64]); err != nil {
		return fmt.Errorf("import buildings: write: %w", translate(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
		SELECT $2, 'create', 'building', b.id::text, $3, gridd_building_json(b)
		FROM buildings b WHERE b.id = ANY($1) ORDER BY b.id`, ids, actor, reason); err != nil {
		return fmt.Errorf("import buildings: history: %w", err)
	}
	rep.Created = len(ids)
	rep.Grids = map[string]int{}
	r, err = tx.Query(ctx, `SELECT grid_code, count(*)::int FROM staged_buildings GROUP BY 1`)
	if err != nil {
		return err
	}
	var code string
	var n int
	_, err = pgx.ForEachRow(r, []any{&code, &n}, func() error { rep.Grids[code] = n; return nil })
	return err
}

// BuildingTotals implements grids.BuildingStore: every current unit grid
// whose code starts with area, with the count, households and residents of
// its current buildings (zeros for a grid without any).
func (s *Store) BuildingTotals(ctx context.Context, area string) (map[string]grids.GridPopulation, error) {
	if len(area) > 15 || !digitsOnly(area) {
		return nil, grids.Invalid("area", "%q is not a district, street, community or grid code", area)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT u.code, coalesce(b.n, 0)::int, coalesce(b.households, 0)::bigint, coalesce(b.residents, 0)::bigint
		FROM unit_grids u
		LEFT JOIN (SELECT grid_code, count(*) AS n, sum(households) AS households, sum(residents) AS residents
		           FROM buildings WHERE valid_to IS NULL AND grid_code LIKE $1 || '%'
		           GROUP BY 1) b ON b.grid_code = u.code
		WHERE u.valid_to IS NULL AND u.code LIKE $1 || '%'`, area)
	if err != nil {
		return nil, fmt.Errorf("building totals of %q: %w", area, err)
	}
	out := map[string]grids.GridPopulation{}
	var code string
	var p grids.GridPopulation
	_, err = pgx.ForEachRow(rows, []any{&code, &p.Buildings, &p.Households, &p.Residents}, func() error {
		out[code] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("building totals of %q: %w", area, err)
	}
	return out, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
