package postgis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"gridd/grids"
)

// The component import runs in one transaction, set-based after a COPY:
//
//  1. COPY the features into the temporary table staged_components;
//  2. place each one (components_place.sql): the owning grid of its
//     representative point, else the nearest grid within the snap distance;
//  3. resolve its class and match it to a stored component by code, else by
//     legacy code (components_resolve.sql);
//  4. list every rejection (components_reject.sql); all-or-nothing stops here;
//  5. allocate sequences per district and class for new features without a
//     code (one counter row update per district and class);
//  6. update changed components and insert new ones, with their history.

// stagedColumns are the COPY columns of staged_components, in order.
var stagedColumns = []string{
	"idx", "code", "legacy_code", "class_code", "name", "competent_dept_code", "competent_dept_name", "owner_unit", "maint_unit",
	"status", "initial_date", "change_date", "data_source", "accuracy", "note", "geom", "pt", "attrs",
}

const createStaged = `CREATE TEMP TABLE staged_components (
	idx integer NOT NULL, code text, legacy_code text, class_code text, name text NOT NULL,
	competent_dept_code text, competent_dept_name text NOT NULL, owner_unit text NOT NULL, maint_unit text NOT NULL,
	status text NOT NULL, initial_date date, change_date date, data_source text NOT NULL,
	accuracy text, note text NOT NULL, geom geometry NOT NULL, pt geometry, attrs jsonb
) ON COMMIT DROP`

// componentImportLock is the advisory lock that serialises component
// imports ("gridd_ci" in ASCII).
const componentImportLock = 0x67726964645f6369

// ImportComponents implements grids.ComponentStore.
func (s *Store) ImportComponents(ctx context.Context, feats []grids.ComponentFeature, opt grids.ComponentImport) (grids.ComponentImportReport, error) {
	var rep grids.ComponentImportReport
	if opt.Mode == "" {
		opt.Mode = grids.AllOrNothing
	}
	// One feature is a single write (the API's creates and replaces): it
	// has an edit's budget; more is an import, with a build's.
	run := s.inWorkTx
	if len(feats) == 1 {
		run = s.inTx
	}
	err := run(ctx, func(tx pgx.Tx) error { return importComponentsTx(ctx, tx, feats, opt, &rep) })
	return rep, err
}

// importComponentsTx is ImportComponents in the caller's transaction.
func importComponentsTx(ctx context.Context, tx pgx.Tx, feats []grids.ComponentFeature, opt grids.ComponentImport, rep *grids.ComponentImportReport) error {
	*rep = grids.ComponentImportReport{}
	// Imports run one at a time. Two imports rewriting the same
	// components (and the cluster cells they share) would otherwise
	// lock rows in different orders and deadlock; one after the other,
	// each also matches against what the previous one committed.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, componentImportLock); err != nil {
		return fmt.Errorf("import components: wait for other imports: %w", err)
	}
	if opt.IfVersion > 0 {
		if len(feats) != 1 || feats[0].Code == "" {
			return fmt.Errorf("import components: a conditional write is of one feature with a code, got %d", len(feats))
		}
		if err := lockComponentVersion(ctx, tx, feats[0].Code, opt.IfVersion); err != nil {
			return err
		}
	}
	if err := roomForStaging(ctx, tx); err != nil {
		return err
	}
	// Big imports hash in memory; the joins of staged rows are hash
	// joins (a merge join's sorts lose at every size).
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.actor', $1, true), set_config('work_mem', '256MB', true),
		set_config('enable_mergejoin', 'off', true)`, opt.Actor); err != nil {
		return err
	}
	t0 := time.Now()
	if err := stageComponents(ctx, tx, feats); err != nil {
		return err
	}
	trace(t0, "stage")
	// Scripts of several statements go by the simple protocol.
	if _, err := tx.Exec(ctx, query("components_place"), pgx.QueryExecModeSimpleProtocol, grids.SnapDistanceM); err != nil {
		return fmt.Errorf("import components: place: %w", err)
	}
	trace(t0, "place")
	if _, err := tx.Exec(ctx, query("components_resolve"), pgx.QueryExecModeSimpleProtocol); err != nil {
		return fmt.Errorf("import components: resolve: %w", err)
	}
	trace(t0, "resolve")
	rows, err := tx.Query(ctx, query("components_reject"), grids.SnapDistanceM)
	if err != nil {
		return fmt.Errorf("import components: validate: %w", err)
	}
	rejected, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grids.Rejection])
	if err != nil {
		return fmt.Errorf("import components: validate: %w", err)
	}
	trace(t0, "reject")
	rejected = mergeRejections(opt.Rejected, rejected)
	if len(rejected) > 0 {
		if opt.Mode == grids.AllOrNothing {
			return &grids.RejectedError{What: "component", Rejected: rejected}
		}
		idx := make([]int32, len(rejected))
		for i, r := range rejected {
			idx[i] = int32(r.Index)
		}
		for _, t := range []string{"staged_components", "staged_resolved"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE idx = ANY($1)`, idx); err != nil {
				return err
			}
		}
		rep.Rejected = rejected
		// Renumber the remaining features to allocate without gaps.
		if _, err := tx.Exec(ctx, `UPDATE staged_resolved r SET rn = n.rn
			FROM (SELECT idx, row_number() OVER (PARTITION BY district_code, class_code ORDER BY idx) AS rn
			      FROM staged_resolved WHERE new_code IS NULL) n
			WHERE r.idx = n.idx`); err != nil {
			return err
		}
	}
	if err := checkMatchRule(ctx, tx, opt); err != nil {
		return err
	}
	return writeComponents(ctx, tx, opt, t0, len(feats) <= 10000, rep)
}

// trace prints the time since t0 when GRIDD_TRACE_IMPORT is set: a way to
// see where a slow import spends its time.
func trace(t0 time.Time, what string) {
	if os.Getenv("GRIDD_TRACE_IMPORT") != "" {
		fmt.Fprintf(os.Stderr, "import: %s at %v\n", what, time.Since(t0).Round(time.Millisecond))
	}
}

// roomForStaging gives the session's temporary tables room in memory (the
// default, 8 MB, sends a big import's staging through the disk). The
// setting can only change before the session's first temporary table, so
// on a connection that already staged an import it stays as it was set
// then.
func roomForStaging(ctx context.Context, tx pgx.Tx) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, "SET temp_buffers = '1GB'"); err != nil {
		return sp.Rollback(ctx)
	}
	return sp.Commit(ctx)
}

// stageComponents copies the features into staged_components.
func stageComponents(ctx context.Context, tx pgx.Tx, feats []grids.ComponentFeature) error {
	if _, err := tx.Exec(ctx, createStaged); err != nil {
		return fmt.Errorf("stage components: %w", err)
	}
	src := &featureSource{feats: feats, i: -1}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"staged_components"}, stagedColumns, src); err != nil {
		return fmt.Errorf("stage components: %w", err)
	}
	// The representative point of a line or polygon.
	if _, err := tx.Exec(ctx, `UPDATE staged_components SET pt = ST_PointOnSurface(geom) WHERE pt IS NULL;
		ALTER TABLE staged_components ADD PRIMARY KEY (idx);
		ANALYZE staged_components (idx)`); err != nil {
		return fmt.Errorf("stage components: %w", err)
	}
	return nil
}

// featureSource feeds COPY without building a second copy of the rows.
type featureSource struct {
	feats []grids.ComponentFeature
	i     int
	row   [18]any
	err   error
}

func (f *featureSource) Next() bool { f.i++; return f.i < len(f.feats) && f.err == nil }
func (f *featureSource) Err() error { return f.err }
func (f *featureSource) Values() ([]any, error) {
	c := &f.feats[f.i]
	g, err := ewkb.Marshal(c.Geom, 4326)
	if err != nil {
		return nil, fmt.Errorf("feature %d: encode geometry: %w", c.Index, err)
	}
	r := f.row[:]
	r[0], r[1], r[2], r[3], r[4] = int32(c.Index), nullable(c.Code), nullable(c.LegacyCode), nullable(c.ClassCode), c.Name
	r[5], r[6], r[7], r[8] = nullable(c.DeptCode), c.DeptName, c.OwnerUnit, c.MaintUnit
	r[9], r[10], r[11], r[12] = c.Status, c.InitialDate, c.ChangeDate, c.DataSource
	r[13], r[14], r[15], r[16] = nullable(c.Accuracy), c.Note, g, nil
	if _, ok := c.Geom.(orb.Point); ok {
		r[16] = g
	}
	// A feature without attributes leaves the stored ones as they are.
	r[17] = nil
	if len(c.Attrs) > 0 {
		r[17] = attrsJSON(c.Attrs)
	}
	return r, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkMatchRule enforces a create's "must be new" or a replace's "must
// exist".
func checkMatchRule(ctx context.Context, tx pgx.Tx, opt grids.ComponentImport) error {
	if !opt.OnlyNew && !opt.OnlyExisting {
		return nil
	}
	var code string
	var matched bool
	err := tx.QueryRow(ctx, `SELECT coalesce(r.match_code, s.code, s.legacy_code, ''), r.match_id IS NOT NULL
		FROM staged_resolved r JOIN staged_components s USING (idx)
		WHERE (r.match_id IS NOT NULL) = $1 LIMIT 1`, opt.OnlyNew).Scan(&code, &matched)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if matched {
		return fmt.Errorf("%w: component %s already exists", grids.ErrConflict, code)
	}
	return fmt.Errorf("component %s: %w", code, grids.ErrNotFound)
}

// writeComponents allocates codes and writes the staged features that
// survived validation.
func writeComponents(ctx context.Context, tx pgx.Tx, opt grids.ComponentImport, t0 time.Time, wantCodes bool, rep *grids.ComponentImportReport) error {
	if _, err := tx.Exec(ctx, query("components_allocate")); err != nil {
		return fmt.Errorf("import components: allocate codes: %w", translate(err))
	}
	tag, err := tx.Exec(ctx, query("components_update"), opt.Actor, opt.Reason)
	if err != nil {
		return fmt.Errorf("import components: update: %w", translate(err))
	}
	rep.Updated = int(tag.RowsAffected())
	trace(t0, "allocate+update")
	rebuild, err := dropIndexesForBulk(ctx, tx)
	if err != nil {
		return fmt.Errorf("import components: %w", err)
	}
	tag, err = tx.Exec(ctx, query("components_insert"), opt.Actor, opt.Reason)
	if err != nil {
		return fmt.Errorf("import components: insert: %w", translate(err))
	}
	trace(t0, "insert")
	for _, def := range rebuild {
		if _, err := tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("import components: rebuild index: %w", err)
		}
	}
	trace(t0, "rebuild")
	rep.Created = int(tag.RowsAffected())
	err = tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE match_id IS NOT NULL AND NOT changed),
		count(*) FILTER (WHERE snapped) FROM staged_resolved`).Scan(&rep.Unchanged, &rep.Snapped)
	if err != nil {
		return err
	}
	if wantCodes {
		rows, err := tx.Query(ctx, `SELECT r.idx, coalesce(r.new_code, r.district_code || r.class_code || lpad((a.base + r.rn)::text, 6, '0'))
			FROM staged_resolved r
			LEFT JOIN staged_alloc a ON r.new_code IS NULL AND a.district_code = r.district_code AND a.class_code = r.class_code`)
		if err != nil {
			return err
		}
		rep.Codes = map[int]string{}
		var idx int
		var code string
		_, err = pgx.ForEachRow(rows, []any{&idx, &code}, func() error { rep.Codes[idx] = code; return nil })
		if err != nil {
			return err
		}
	}
	return nil
}

// bulkRows is the size from which an import that at least doubles the
// components table drops the spatial and grid indexes and builds them again
// after the insert: building them whole is several times faster than
// growing them row by row. The transaction then holds the table's exclusive
// lock until it commits, so readers wait: that is a census load's trade.
const bulkRows = 100_000

// dropIndexesForBulk drops the indexes to rebuild, when the import is bulk,
// and returns the statements that create them again (read from the catalog,
// so they always match the migration).
func dropIndexesForBulk(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var newRows int
	var stored float64
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM staged_resolved WHERE match_id IS NULL),
		(SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'components'::regclass)`).Scan(&newRows, &stored)
	if err != nil || newRows < bulkRows || float64(newRows) < stored {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'components'
		  AND indexname IN ('components_geom', 'components_grid', 'components_geom_3857')`)
	if err != nil {
		return nil, err
	}
	var names, defs []string
	var name, def string
	if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		names, defs = append(names, name), append(defs, def)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{n}.Sanitize()); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

// componentColumns is the select list scanComponent reads; the FROM clause
// is componentFrom.
const componentColumns = `c.code, coalesce(c.legacy_code, ''), c.class_code, coalesce(k.name, ''), c.district_code,
	coalesce(c.grid_code, ''), c.grids, coalesce(c.community_code, ''), coalesce(cm.name, ''),
	coalesce(c.street_code, ''), coalesce(st.name, ''), c.snapped, c.snap_m,
	c.name, coalesce(c.competent_dept_code, ''), coalesce(nullif(c.competent_dept_name, ''), d.name, ''), c.owner_unit, c.maint_unit,
	c.status, c.initial_date, c.change_date, c.data_source, coalesce(c.accuracy, ''), c.note,
	ST_AsBinary(c.geom), c.version, c.created_at, c.updated_at`

const componentFrom = ` FROM components c
	LEFT JOIN classes k ON k.kind = 'component' AND k.code = c.class_code
	LEFT JOIN communities cm ON cm.code = c.community_code AND cm.valid_to IS NULL
	LEFT JOIN streets st ON st.code = c.street_code AND st.valid_to IS NULL
	LEFT JOIN departments d ON d.code = c.competent_dept_code AND d.valid_to IS NULL`

func scanComponent(row pgx.CollectableRow) (grids.Component, error) {
	var c grids.Component
	var g []byte
	var initial, change *time.Time
	err := row.Scan(&c.Code, &c.LegacyCode, &c.ClassCode, &c.ClassName, &c.DistrictCode,
		&c.GridCode, &c.Grids, &c.CommunityCode, &c.CommunityName, &c.StreetCode, &c.StreetName, &c.Snapped, &c.SnapM,
		&c.Name, &c.DeptCode, &c.DeptName, &c.OwnerUnit, &c.MaintUnit,
		&c.Status, &initial, &change, &c.DataSource, &c.Accuracy, &c.Note,
		&g, &c.Version, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, err
	}
	c.InitialDate, c.ChangeDate = initial, change
	c.Geom, err = fromWKB(g)
	return c, err
}

// Component implements grids.ComponentStore.
func (s *Store) Component(ctx context.Context, code string) (grids.Component, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+componentColumns+componentFrom+` WHERE c.code = $1 AND c.valid_to IS NULL`, code)
	if err != nil {
		return grids.Component{}, fmt.Errorf("component %s: %w", code, err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanComponent)
	if err != nil {
		return c, fmt.Errorf("component %s: %w", code, translate(err))
	}
	return c, nil
}

// MaxComponentPage is the largest page a search returns.
const MaxComponentPage = 1000

// SearchComponents implements grids.ComponentStore.
func (s *Store) SearchComponents(ctx context.Context, q grids.ComponentQuery) (grids.ComponentPage, error) {
	limit := q.Limit
	if limit <= 0 || limit > MaxComponentPage {
		limit = MaxComponentPage
	}
	where := []string{"c.valid_to IS NULL"}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q.CodePrefix != "" {
		where = append(where, "c.code LIKE "+arg(escapeLike(q.CodePrefix)+"%"))
	}
	if q.ClassCode != "" {
		where = append(where, "c.class_code = "+arg(q.ClassCode))
	}
	if q.Status != "" {
		where = append(where, "c.status = "+arg(q.Status))
	}
	if q.GridCode != "" {
		where = append(where, "c.grid_code = "+arg(q.GridCode))
	}
	if q.CommunityCode != "" {
		where = append(where, "c.community_code = "+arg(q.CommunityCode))
	}
	if b := q.BBox; b != nil {
		where = append(where, fmt.Sprintf("c.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
			arg(b.Min[0]), arg(b.Min[1]), arg(b.Max[0]), arg(b.Max[1])))
	}
	if q.After != "" {
		where = append(where, "c.code > "+arg(q.After))
	}
	sql := `SELECT ` + componentColumns + componentFrom + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY c.code LIMIT ` + arg(limit+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return grids.ComponentPage{}, fmt.Errorf("search components: %w", err)
	}
	cs, err := pgx.CollectRows(rows, scanComponent)
	if err != nil {
		return grids.ComponentPage{}, fmt.Errorf("search components: %w", translate(err))
	}
	page := grids.ComponentPage{Components: cs}
	if len(cs) > limit {
		page.Components = cs[:limit]
		page.Next = cs[limit-1].Code
	}
	return page, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// RetireComponent implements grids.ComponentStore.
func (s *Store) RetireComponent(ctx context.Context, code string, version int, actor, reason string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if version > 0 {
			if err := lockComponentVersion(ctx, tx, code, version); err != nil {
				return err
			}
		}
		return retireComponentTx(ctx, tx, code, actor, reason)
	})
}

// lockComponentVersion locks the component's row until the transaction
// ends and checks that it is current at the version: the compare of a
// conditional write (If-Match), in the write's transaction so that no other
// writer can come in between.
func lockComponentVersion(ctx context.Context, tx pgx.Tx, code string, version int) error {
	var cur int
	var retired bool
	err := tx.QueryRow(ctx, `SELECT version, valid_to IS NOT NULL FROM components WHERE code = $1 FOR UPDATE`, code).Scan(&cur, &retired)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("component %s: %w", code, grids.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("component %s: %w", code, translate(err))
	}
	if retired {
		return grids.NewVersionError("component", code, version, 0)
	}
	if cur != version {
		return grids.NewVersionError("component", code, version, cur)
	}
	return nil
}

// retireComponentTx is RetireComponent in the caller's transaction.
func retireComponentTx(ctx context.Context, tx pgx.Tx, code, actor, reason string) error {
	tag, err := tx.Exec(ctx, `WITH gone AS (
			UPDATE components SET valid_to = now(), updated_at = now(), version = version + 1
			WHERE code = $1 AND valid_to IS NULL RETURNING *)
		INSERT INTO history (actor, action, entity, code, reason, before)
		SELECT $2, 'retire', 'component', g.code, $3, gridd_component_json(g::components) FROM gone g`,
		code, actor, reason)
	if err != nil {
		return fmt.Errorf("retire component %s: %w", code, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("component %s: %w", code, grids.ErrNotFound)
	}
	return nil
}

// ComponentHistory implements grids.ComponentStore.
func (s *Store) ComponentHistory(ctx context.Context, code string) ([]grids.ComponentHistoryEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, reason, before, after FROM history
		WHERE entity = 'component' AND code = $1 ORDER BY at, id`, code)
	if err != nil {
		return nil, fmt.Errorf("history of component %s: %w", code, err)
	}
	hs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grids.ComponentHistoryEntry])
	if err != nil {
		return nil, fmt.Errorf("history of component %s: %w", code, err)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("component %s: %w", code, grids.ErrNotFound)
	}
	return hs, nil
}

// ComponentCount counts the current components.
func (s *Store) ComponentCount(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM components WHERE valid_to IS NULL`).Scan(&n)
	return n, err
}

// GridCount counts the current unit grids.
func (s *Store) GridCount(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL`).Scan(&n)
	return n, err
}

// mergeRejections joins two lists of rejections in feature order.
func mergeRejections(a, b []grids.Rejection) []grids.Rejection {
	if len(a) == 0 {
		return b
	}
	out := append(append([]grids.Rejection{}, a...), b...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

var _ grids.ComponentStore = (*Store)(nil)

// GridShapes lists the current unit grids' codes and outlines in code order.
func (s *Store) GridShapes(ctx context.Context) ([]grids.GridShape, error) {
	rows, err := s.pool.Query(ctx, `SELECT code, ST_AsBinary(geom) FROM unit_grids WHERE valid_to IS NULL ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list grids: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.GridShape, error) {
		var g grids.GridShape
		var b []byte
		if err := r.Scan(&g.Code, &b); err != nil {
			return g, err
		}
		geom, err := fromWKB(b)
		if err != nil {
			return g, err
		}
		p, ok := geom.(orb.Polygon)
		if !ok {
			return g, fmt.Errorf("grid %s: not a polygon", g.Code)
		}
		g.Geom = p
		return g, nil
	})
}
