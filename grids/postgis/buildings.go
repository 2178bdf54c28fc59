package postgis

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/ewkb"

	"gridd/grids"
)

// The building import runs in one transaction: COPY the features into the
// temporary table staged_buildings, check each footprint and place each
// building in the unit grid owning its representative point
// (gridd_grid_at(ST_PointOnSurface(geom)), the lookups' single owner),
// refuse duplicates (grids.BuildingSameM), and, when none is refused, write
// them all and record each in the history. A re-survey (ReplaceBuildings)
// runs the same way and then matches the features to the current
// buildings of its area. Building imports run one at a time
// (buildingImportLock), so that two of them cannot both pass the duplicate
// checks and store the same building twice.

// buildingImportLock is the advisory lock that serialises building imports
// ("gridd_bi" in ASCII).
const buildingImportLock = 0x67726964645f6269

// nearDeg is a bound in degrees on BuildingSameM, for the index: 5 m is
// below 0.0001° of longitude up to 63°N (China ends at 53.6°N).
const nearDeg = 0.0001

const createStagedBuildings = `CREATE TEMP TABLE staged_buildings (
	idx integer PRIMARY KEY, place text NOT NULL, name text NOT NULL,
	households integer NOT NULL, residents integer NOT NULL,
	geom geometry NOT NULL, attrs jsonb, grid_code text, pt geometry, new_id bigint
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
	UPDATE staged_buildings s SET pt = x.p, grid_code = gridd_grid_at(x.p)
	FROM checked c, LATERAL (SELECT ST_PointOnSurface(c.geom) AS p) x
	WHERE c.idx = s.idx AND c.bad IS NULL
	RETURNING s.idx, s.grid_code
)
SELECT c.idx, c.name,
       concat_ws(': ', nullif(c.place, ''),
                 coalesce(c.bad, format('its point %s lies in no unit grid',
                                        ST_AsText(ST_PointOnSurface(c.geom), 7))))
FROM checked c LEFT JOIN placed p USING (idx)
WHERE c.bad IS NOT NULL OR p.grid_code IS NULL
ORDER BY c.idx`

// current_buildings holds the current buildings (placed in a unit grid) a
// file is compared with, and their representative points: candidates are
// those a re-survey may match (its area's; for a plain import all), the
// others only those near a file building.
const createCurrentBuildings = `CREATE TEMP TABLE current_buildings (
	id bigint PRIMARY KEY, name text NOT NULL, grid_code text NOT NULL, community_code text NOT NULL,
	pt geometry NOT NULL, candidate boolean NOT NULL
) ON COMMIT DROP`

// fillCurrentBuildings fills current_buildings: with $1 (an area) the
// area's buildings are the candidates, else those of every community the
// file touches; either way with every building near a file building.
// The rows are locked: what a re-survey compared is what it changes.
const fillCurrentBuildings = `
INSERT INTO current_buildings
SELECT b.id, b.name, b.grid_code, b.community_code, ST_PointOnSurface(b.geom),
       CASE WHEN $1 <> '' THEN starts_with(b.grid_code, $1) ELSE true END
FROM buildings b
WHERE b.valid_to IS NULL AND b.grid_code IS NOT NULL
  AND (CASE WHEN $1 <> '' THEN b.grid_code LIKE $1 || '%'
            ELSE b.community_code IN (SELECT DISTINCT left(grid_code, 12) FROM staged_buildings WHERE grid_code IS NOT NULL) END
       OR b.geom && (SELECT ST_Expand(ST_SetSRID(ST_Extent(pt)::geometry, 4326), $2) FROM staged_buildings WHERE grid_code IS NOT NULL))
ORDER BY b.id
FOR UPDATE OF b`

// fileNames and currentNames are the names that identify a building: non-
// empty and given once in their community, in the file and among the
// candidates.
const fileNames = `(SELECT idx, comm, name FROM (
		SELECT idx, left(grid_code, 12) AS comm, name, count(*) OVER (PARTITION BY left(grid_code, 12), name) AS n
		FROM staged_buildings WHERE grid_code IS NOT NULL AND name <> '') x WHERE n = 1)`
const currentNames = `(SELECT id, comm, name FROM (
		SELECT id, community_code AS comm, name, count(*) OVER (PARTITION BY community_code, name) AS n
		FROM current_buildings WHERE candidate AND name <> '') x WHERE n = 1)`

// checkBuildings lists the placed buildings refused for where they are
// ($1: the re-surveyed area, empty for a plain import; $2 BuildingSameM, $3
// nearDeg): outside the area, repeating an earlier building of the file,
// and, for a plain import, duplicating a current building (by name, else
// the nearest); for a re-survey, lying on a current building outside the
// area. stored says whether a reason is a stored duplicate.
const checkBuildings = `
WITH stored AS (
	SELECT DISTINCT ON (idx) idx, id, name, grid_code, how FROM (
		SELECT fn.idx, c.id, c.name, c.grid_code, format('the same name in community %s', fn.comm) AS how, 0 AS k, 0::float8 AS d
		FROM ` + fileNames + ` fn JOIN ` + currentNames + ` cn USING (comm, name) JOIN current_buildings c ON c.id = cn.id
		WHERE $1 = ''
		UNION ALL
		SELECT s.idx, c.id, c.name, c.grid_code,
		       format('their points are %s m apart', round(ST_Distance(c.pt::geography, s.pt::geography)::numeric, 1)),
		       1, ST_Distance(c.pt::geography, s.pt::geography)
		FROM staged_buildings s JOIN current_buildings c
		     ON ST_DWithin(c.pt, s.pt, $3) AND ST_DWithin(c.pt::geography, s.pt::geography, $2)
		WHERE $1 = '' AND s.grid_code IS NOT NULL
	) x ORDER BY idx, k, d, id
), why AS (
	SELECT s.idx, 1 AS ord, false AS stored,
	       format('its point %s lies in unit grid %s, outside the re-surveyed area %s', ST_AsText(s.pt, 7), s.grid_code, $1) AS reason
	FROM staged_buildings s
	WHERE $1 <> '' AND s.grid_code IS NOT NULL AND NOT starts_with(s.grid_code, $1)
	UNION ALL
	SELECT s.idx, 2, false,
	       format('repeats feature %s (%s) of the file: their points are %s m apart',
	              t.idx, coalesce(nullif(t.name, ''), 'no name'), round(t.d::numeric, 1))
	FROM staged_buildings s CROSS JOIN LATERAL (
		SELECT t.idx, t.name, ST_Distance(t.pt::geography, s.pt::geography) AS d
		FROM staged_buildings t
		WHERE t.grid_code IS NOT NULL AND t.idx < s.idx AND ST_DWithin(t.pt, s.pt, $3)
		  AND ST_DWithin(t.pt::geography, s.pt::geography, $2)
		ORDER BY t.idx LIMIT 1) t
	WHERE s.grid_code IS NOT NULL
	UNION ALL
	SELECT idx, 3, true,
	       format('duplicates building %s (%s, unit grid %s): %s', id, coalesce(nullif(name, ''), 'no name'), grid_code, how)
	FROM stored
	UNION ALL
	SELECT s.idx, 4, false,
	       format('its point is %s m from building %s (%s) in unit grid %s, outside the re-surveyed area %s: re-survey an area holding both',
	              round(c.d::numeric, 1), c.id, coalesce(nullif(c.name, ''), 'no name'), c.grid_code, $1)
	FROM staged_buildings s CROSS JOIN LATERAL (
		SELECT c.id, c.name, c.grid_code, ST_Distance(c.pt::geography, s.pt::geography) AS d
		FROM current_buildings c
		WHERE NOT c.candidate AND ST_DWithin(c.pt, s.pt, $3) AND ST_DWithin(c.pt::geography, s.pt::geography, $2)
		ORDER BY d, c.id LIMIT 1) c
	WHERE $1 <> '' AND s.grid_code IS NOT NULL AND starts_with(s.grid_code, $1)
)
SELECT s.idx, s.name, concat_ws(': ', nullif(s.place, ''), string_agg(w.reason, '; ' ORDER BY w.ord)), bool_or(w.stored)
FROM why w JOIN staged_buildings s USING (idx)
GROUP BY s.idx, s.name, s.place
ORDER BY s.idx`

// duplicateHint ends the error of a plain import that refused buildings
// already stored.
const duplicateHint = "some of these buildings are already stored: to re-survey an area, making its buildings what the file says " +
	"(matched ones updated or kept, the others retired or created), import with --replace AREA (a district, street, community or unit grid code)"

// buildingImport is how importBuildingsTx runs: a plain import (area "")
// or a re-survey of area.
type buildingImport struct {
	area          string
	actor, reason string
	dryRun        bool
}

// ImportBuildings implements grids.BuildingStore.
func (s *Store) ImportBuildings(ctx context.Context, feats []grids.BuildingFeature, actor, reason string) (grids.BuildingImportReport, error) {
	var rep grids.BuildingImportReport
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		rep = grids.BuildingImportReport{}
		return importBuildingsTx(ctx, tx, feats, buildingImport{actor: actor, reason: reason}, &rep)
	})
	if err != nil {
		rep.Created, rep.Grids = 0, nil
	}
	return rep, err
}

// errBuildingDryRun rolls back a dry run's transaction.
var errBuildingDryRun = errors.New("building re-survey: dry run")

// ReplaceBuildings implements grids.BuildingStore.
func (s *Store) ReplaceBuildings(ctx context.Context, feats []grids.BuildingFeature, opt grids.BuildingReplace) (grids.BuildingImportReport, error) {
	var rep grids.BuildingImportReport
	area := opt.Area
	if n := len(area); n != 6 && n != 9 && n != 12 && n != 15 || !digitsOnly(area) {
		return rep, grids.Invalid("area", "%q is not a district, street, community or unit grid code (6, 9, 12 or 15 digits)", area)
	}
	if len(feats) == 0 {
		return rep, grids.Invalid("file", "the file holds no buildings: a re-survey of %s with it would retire every building of the area", area)
	}
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		rep = grids.BuildingImportReport{}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unit_grids WHERE valid_to IS NULL AND code LIKE $1 || '%')`, area).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return grids.Invalid("area", "%s has no current unit grids", area)
		}
		err := importBuildingsTx(ctx, tx, feats, buildingImport{area: area, actor: opt.Actor, reason: opt.Reason, dryRun: opt.DryRun}, &rep)
		if err == nil && opt.DryRun {
			// A dry run writes nothing, and its transaction is rolled
			// back all the same.
			return errBuildingDryRun
		}
		return err
	})
	if errors.Is(err, errBuildingDryRun) {
		err = nil
	}
	if err != nil {
		rejected := rep.Rejected
		rep = grids.BuildingImportReport{Rejected: rejected}
	}
	return rep, err
}

// importBuildingsTx stages, places and checks the features and writes them
// (a plain import) or re-surveys the area with them.
func importBuildingsTx(ctx context.Context, tx pgx.Tx, feats []grids.BuildingFeature, im buildingImport, rep *grids.BuildingImportReport) error {
	if len(feats) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, buildingImportLock); err != nil {
		return fmt.Errorf("import buildings: wait for other imports: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.actor', $1, true)`, im.actor); err != nil {
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
	if _, err := tx.Exec(ctx, `CREATE INDEX ON staged_buildings USING gist (pt); ANALYZE staged_buildings; `+createCurrentBuildings); err != nil {
		return fmt.Errorf("import buildings: stage: %w", err)
	}
	if _, err := tx.Exec(ctx, fillCurrentBuildings, im.area, nearDeg); err != nil {
		return fmt.Errorf("import buildings: read the current buildings: %w", translate(err))
	}
	if _, err := tx.Exec(ctx, `CREATE INDEX ON current_buildings USING gist (pt); ANALYZE current_buildings`); err != nil {
		return fmt.Errorf("import buildings: read the current buildings: %w", err)
	}
	r, err = tx.Query(ctx, checkBuildings, im.area, grids.BuildingSameM, nearDeg)
	if err != nil {
		return fmt.Errorf("import buildings: check: %w", err)
	}
	stored := false
	var rj grids.Rejection
	var dup bool
	_, err = pgx.ForEachRow(r, []any{&rj.Index, &rj.Code, &rj.Reason, &dup}, func() error {
		rejected = append(rejected, rj)
		stored = stored || dup
		return nil
	})
	if err != nil {
		return fmt.Errorf("import buildings: check: %w", err)
	}
	if len(rejected) > 0 {
		sort.SliceStable(rejected, func(i, j int) bool { return rejected[i].Index < rejected[j].Index })
		rep.Rejected = rejected
		var err error = &grids.RejectedError{What: "building", Rejected: rejected}
		if stored {
			err = fmt.Errorf("%w\n%s", err, duplicateHint)
		}
		return err
	}
	if im.area != "" {
		return resurveyTx(ctx, tx, im, rep)
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
		FROM buildings b WHERE b.id = ANY($1) ORDER BY b.id`, ids, im.actor, im.reason); err != nil {
		return fmt.Errorf("import buildings: history: %w", err)
	}
	rep.Created = len(ids)
	return createdPerGrid(ctx, tx, `TRUE`, rep)
}

// createdPerGrid sets rep.Grids to the staged buildings created (those
// where cond holds) per unit grid.
func createdPerGrid(ctx context.Context, tx pgx.Tx, cond string, rep *grids.BuildingImportReport) error {
	rep.Grids = map[string]int{}
	r, err := tx.Query(ctx, `SELECT grid_code, count(*)::int FROM staged_buildings s WHERE `+cond+` GROUP BY 1`)
	if err != nil {
		return err
	}
	var code string
	var n int
	_, err = pgx.ForEachRow(r, []any{&code, &n}, func() error { rep.Grids[code] = n; return nil })
	return err
}

// buildingUnmatched holds for a staged building s matched to no current one.
const buildingUnmatched = `NOT EXISTS (SELECT 1 FROM building_matches m WHERE m.idx = s.idx)`

// resurveyTx re-surveys im.area with the staged buildings, all placed in
// it and checked: it matches them to the area's current buildings (by
// name, then by point, see grids.BuildingSameM), and, unless a dry run,
// updates the changed, retires the unmatched current buildings and
// creates the unmatched staged ones, each with its history row.
func resurveyTx(ctx context.Context, tx pgx.Tx, im buildingImport, rep *grids.BuildingImportReport) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE building_matches (
			idx integer PRIMARY KEY, id bigint NOT NULL UNIQUE, how text NOT NULL, changed text[]
		) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("re-survey: match: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO building_matches (idx, id, how)
		SELECT fn.idx, cn.id, 'name' FROM `+fileNames+` fn JOIN `+currentNames+` cn USING (comm, name)`); err != nil {
		return fmt.Errorf("re-survey: match by name: %w", err)
	}
	// By point: the closest pairs first, each building matched once.
	r, err := tx.Query(ctx, `SELECT s.idx, c.id FROM staged_buildings s JOIN current_buildings c
			ON c.candidate AND ST_DWithin(c.pt, s.pt, $2) AND ST_DWithin(c.pt::geography, s.pt::geography, $1)
		WHERE `+buildingUnmatched+` AND NOT EXISTS (SELECT 1 FROM building_matches m WHERE m.id = c.id)
		ORDER BY ST_Distance(c.pt::geography, s.pt::geography), s.idx, c.id`, grids.BuildingSameM, nearDeg)
	if err != nil {
		return fmt.Errorf("re-survey: match by point: %w", err)
	}
	var idx int32
	var id int64
	var idxs []int32
	var ids []int64
	usedIdx, usedID := map[int32]bool{}, map[int64]bool{}
	_, err = pgx.ForEachRow(r, []any{&idx, &id}, func() error {
		if !usedIdx[idx] && !usedID[id] {
			usedIdx[idx], usedID[id] = true, true
			idxs, ids = append(idxs, idx), append(ids, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("re-survey: match by point: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO building_matches (idx, id, how) SELECT i, d, 'point' FROM unnest($1::integer[], $2::bigint[]) AS u (i, d)`, idxs, ids); err != nil {
		return fmt.Errorf("re-survey: match by point: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE building_matches m SET changed = array_remove(ARRAY[
			CASE WHEN b.name <> s.name THEN 'name' END,
			CASE WHEN b.households <> s.households THEN 'households' END,
			CASE WHEN b.residents <> s.residents THEN 'residents' END,
			CASE WHEN ST_AsEWKB(b.geom) <> ST_AsEWKB(ST_SetSRID(s.geom, 4326)) THEN 'geometry' END,
			CASE WHEN b.attrs IS DISTINCT FROM s.attrs THEN 'attrs' END,
			CASE WHEN b.grid_code IS DISTINCT FROM s.grid_code THEN 'grid' END], NULL)
		FROM staged_buildings s, buildings b WHERE s.idx = m.idx AND b.id = m.id`); err != nil {
		return fmt.Errorf("re-survey: compare: %w", err)
	}
	if !im.dryRun {
		if err := applyResurvey(ctx, tx, im); err != nil {
			return err
		}
	}
	rep.DryRun = im.dryRun
	err = tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM staged_buildings s WHERE `+buildingUnmatched+`),
			(SELECT count(*) FILTER (WHERE changed <> '{}') FROM building_matches),
			(SELECT count(*) FILTER (WHERE changed = '{}') FROM building_matches),
			(SELECT count(*) FROM current_buildings c WHERE c.candidate AND NOT EXISTS (SELECT 1 FROM building_matches m WHERE m.id = c.id))`).
		Scan(&rep.Created, &rep.Updated, &rep.Unchanged, &rep.Retired)
	if err != nil {
		return fmt.Errorf("re-survey: report: %w", err)
	}
	r, err = tx.Query(ctx, `
		SELECT 'retire', c.id, -1, '', c.name, c.grid_code, '', '{}'::text[]
		FROM current_buildings c WHERE c.candidate AND NOT EXISTS (SELECT 1 FROM building_matches m WHERE m.id = c.id)
		UNION ALL
		SELECT * FROM (
			SELECT 'update', m.id, s.idx, s.place, s.name, s.grid_code, m.how, m.changed
			FROM building_matches m JOIN staged_buildings s USING (idx) WHERE m.changed <> '{}'
			UNION ALL
			SELECT 'create', coalesce(s.new_id, 0), s.idx, s.place, s.name, s.grid_code, '', '{}'
			FROM staged_buildings s WHERE `+buildingUnmatched+`
		) f
		ORDER BY 3, 2`)
	if err != nil {
		return fmt.Errorf("re-survey: report: %w", err)
	}
	var c grids.BuildingChange
	_, err = pgx.ForEachRow(r, []any{&c.Action, &c.ID, &c.Index, &c.Where, &c.Name, &c.Grid, &c.MatchedBy, &c.Changed}, func() error {
		if len(c.Changed) == 0 {
			c.Changed = nil
		}
		rep.Changes = append(rep.Changes, c)
		c = grids.BuildingChange{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("re-survey: report: %w", err)
	}
	return createdPerGrid(ctx, tx, buildingUnmatched, rep)
}

// applyResurvey writes a re-survey matched in building_matches: every
// retirement, update and creation with its history row.
func applyResurvey(ctx context.Context, tx pgx.Tx, im buildingImport) error {
	if _, err := tx.Exec(ctx, `WITH gone AS (
			UPDATE buildings b SET valid_to = now()
			FROM current_buildings c
			WHERE c.candidate AND b.id = c.id AND NOT EXISTS (SELECT 1 FROM building_matches m WHERE m.id = c.id)
			RETURNING b.*)
		INSERT INTO history (actor, action, entity, code, reason, before)
		SELECT $1, 'retire', 'building', g.id::text, $2, gridd_building_json(g::buildings) FROM gone g ORDER BY g.id`,
		im.actor, im.reason); err != nil {
		return fmt.Errorf("re-survey: retire: %w", translate(err))
	}
	// All CTEs see the rows as they were before the statement: old holds
	// the history's before.
	if _, err := tx.Exec(ctx, `WITH old AS (
			SELECT b.id, gridd_building_json(b) AS j FROM buildings b JOIN building_matches m ON m.id = b.id WHERE m.changed <> '{}'
		), upd AS (
			UPDATE buildings b SET name = s.name, households = s.households, residents = s.residents,
			       geom = ST_SetSRID(s.geom, 4326), attrs = s.attrs, grid_code = s.grid_code,
			       community_code = left(s.grid_code, 12), street_code = left(s.grid_code, 9), district_code = left(s.grid_code, 6)
			FROM building_matches m JOIN staged_buildings s USING (idx)
			WHERE b.id = m.id AND m.changed <> '{}'
			RETURNING b.*)
		INSERT INTO history (actor, action, entity, code, reason, before, after)
		SELECT $1, 'update', 'building', u.id::text, $2, o.j, gridd_building_json(u::buildings)
		FROM upd u JOIN old o USING (id) ORDER BY u.id`, im.actor, im.reason); err != nil {
		return fmt.Errorf("re-survey: update: %w", translate(err))
	}
	// The new buildings' ids are drawn in file order first, so that the
	// report can name them.
	if _, err := tx.Exec(ctx, `UPDATE staged_buildings s SET new_id = n.id
		FROM (SELECT o.idx, nextval(pg_get_serial_sequence('buildings', 'id')) AS id
		      FROM (SELECT s.idx FROM staged_buildings s WHERE `+buildingUnmatched+` ORDER BY s.idx) o) n
		WHERE n.idx = s.idx`); err != nil {
		return fmt.Errorf("re-survey: create: %w", err)
	}
	if _, err := tx.Exec(ctx, `WITH made AS (
			INSERT INTO buildings (id, name, households, residents, grid_code, community_code, street_code, district_code, geom, attrs)
			SELECT new_id, name, households, residents, grid_code, left(grid_code, 12), left(grid_code, 9), left(grid_code, 6),
			       ST_SetSRID(geom, 4326), attrs
			FROM staged_buildings WHERE new_id IS NOT NULL ORDER BY idx
			RETURNING *)
		INSERT INTO history (actor, action, entity, code, reason, after)
		SELECT $1, 'create', 'building', m.id::text, $2, gridd_building_json(m::buildings) FROM made m ORDER BY m.id`,
		im.actor, im.reason); err != nil {
		return fmt.Errorf("re-survey: create: %w", translate(err))
	}
	return nil
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
