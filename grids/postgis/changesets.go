package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
)

// vertexTolDeg is how close (in degrees, about 1 mm) a vertex move's From
// must be to a stored vertex.
const vertexTolDeg = 1e-8

// Limits are the area and width limits the editor applies; zero means
// grids.DefaultLimits.
func (s *Store) limits() grids.Limits {
	if s.editLimits.TargetM2 > 0 {
		return s.editLimits
	}
	return grids.DefaultLimits
}

// SetEditLimits sets the limits edits are checked against.
func (s *Store) SetEditLimits(l grids.Limits) { s.editLimits = l }

// gridRow is a locked current grid.
type gridRow struct {
	code    string
	version int
	wkb     []byte
}

// output is one geometry an operation produces: for an input's code (kept)
// or, with code "", a new grid.
type output struct {
	code  string
	wkb   []byte
	noded bool // a neighbour that only gained vertices: no limits apply
	// attrs are set on the new version over those it inherits (see
	// setAttr): a new grid's attributes given with its geometry.
	attrs grids.GridAttributes
}

// editTx is one changeset being applied.
type editTx struct {
	ctx     context.Context
	tx      pgx.Tx
	id      int64
	actor   string
	message string
	action  string // history action override ("revert"), or "" for create/update/retire
	limits  grids.Limits
	res     grids.ChangesetResult
}

// ApplyChangeset implements grids.Editor.
func (s *Store) ApplyChangeset(ctx context.Context, actor string, req grids.ChangesetRequest) (grids.Changeset, error) {
	if err := req.Validate(); err != nil {
		return grids.Changeset{}, err
	}
	var comms []string
	for _, op := range req.Operations {
		comms = append(comms, op.Grids[0].Code.At(geo.Community).String())
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		e, err := s.beginEdit(ctx, tx, actor, req.Message, req.Operations, comms, nil)
		if err != nil {
			return err
		}
		for i, op := range req.Operations {
			if err := e.apply(fmt.Sprintf("operations[%d]", i), op); err != nil {
				return err
			}
		}
		id = e.id
		return e.finish()
	})
	if err != nil {
		return grids.Changeset{}, editError(err)
	}
	return s.Changeset(ctx, id)
}

// beginEdit takes the editing locks of the communities (in code order, so
// two editors never deadlock) and records the changeset.
func (s *Store) beginEdit(ctx context.Context, tx pgx.Tx, actor, message string, ops []grids.Operation, comms []string, reverts *int64) (*editTx, error) {
	sort.Strings(comms)
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.actor', $1, true)`, actor); err != nil {
		return nil, err
	}
	for i, c := range comms {
		if i > 0 && comms[i-1] == c {
			continue
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('gridd.community:' || $1, 0))`, c); err != nil {
			return nil, fmt.Errorf("lock community %s: %w", c, err)
		}
	}
	opsJSON, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	e := &editTx{ctx: ctx, tx: tx, actor: actor, message: message, limits: s.limits()}
	if reverts != nil {
		e.action = "revert"
	}
	err = tx.QueryRow(ctx, `INSERT INTO changesets (message, actor, operations, reverts) VALUES ($1, $2, $3, $4) RETURNING id`,
		message, actor, opsJSON, reverts).Scan(&e.id)
	if err != nil {
		return nil, fmt.Errorf("record changeset: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.changeset', $1, true)`, fmt.Sprint(e.id)); err != nil {
		return nil, err
	}
	return e, nil
}

// finish stores the result and runs the partition guard now, so that its
// verdict is returned here rather than at commit.
func (e *editTx) finish() error {
	for _, l := range []*[]grids.GridVersion{&e.res.Created, &e.res.Changed, &e.res.Retired} {
		if *l == nil {
			*l = []grids.GridVersion{}
		}
	}
	if e.res.Warnings == nil {
		e.res.Warnings = []grids.Warning{}
	}
	b, err := json.Marshal(e.res)
	if err != nil {
		return err
	}
	if _, err := e.tx.Exec(e.ctx, `UPDATE changesets SET result = $2 WHERE id = $1`, e.id, b); err != nil {
		return err
	}
	_, err = e.tx.Exec(e.ctx, `SET CONSTRAINTS gridd_partition_guard_ins, gridd_partition_guard_upd IMMEDIATE`)
	return err
}

// editError turns the guard's verdict into a *grids.PartitionError.
func editError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "GD001" {
		return &grids.PartitionError{Message: pgErr.Message}
	}
	return translate(err)
}

// lock locks the current rows of the named grids and checks their versions.
func (e *editTx) lock(refs []grids.GridRef) (map[string]gridRow, error) {
	codes := make([]string, len(refs))
	for i, r := range refs {
		codes[i] = r.Code.String()
	}
	rows, err := e.tx.Query(e.ctx, `SELECT code, version, ST_AsBinary(geom) FROM unit_grids
		WHERE code = ANY($1) AND valid_to IS NULL ORDER BY code FOR UPDATE`, codes)
	if err != nil {
		return nil, fmt.Errorf("lock grids: %w", err)
	}
	got := map[string]gridRow{}
	var g gridRow
	if _, err := pgx.ForEachRow(rows, []any{&g.code, &g.version, &g.wkb}, func() error {
		got[g.code] = g
		return nil
	}); err != nil {
		return nil, fmt.Errorf("lock grids: %w", err)
	}
	var stale grids.StaleError
	for _, r := range refs {
		cur, ok := got[r.Code.String()]
		stale.Current = append(stale.Current, grids.GridRef{Code: r.Code, Version: cur.version})
		if !ok || cur.version != r.Version {
			stale.Stale = append(stale.Stale, r)
		}
	}
	if len(stale.Stale) > 0 {
		return nil, &stale
	}
	return got, nil
}

// apply runs one operation.
func (e *editTx) apply(f string, op grids.Operation) error {
	locked, err := e.lock(op.Grids)
	if err != nil {
		return err
	}
	inputs := make([]gridRow, len(op.Grids))
	codes := make([]string, len(op.Grids))
	for i, r := range op.Grids {
		inputs[i] = locked[r.Code.String()]
		codes[i] = r.Code.String()
	}
	switch op.Op {
	case grids.Split:
		return e.split(f, op, inputs[0])
	case grids.Merge:
		return e.merge(f, inputs, codes)
	case grids.Reshape:
		if op.Line != nil {
			return e.reshapeLine(f, op, inputs, codes)
		}
		return e.reshapeVertices(f, op, inputs)
	case grids.Replace:
		outs := make([]output, len(op.Parts))
		for i, p := range op.Parts {
			b, err := toWKB(p.Geometry.Geometry())
			if err != nil {
				return err
			}
			outs[i] = output{code: p.Code.String(), wkb: b}
		}
		return e.write(f, grids.Replace, inputs, outs)
	case grids.Redraw:
		return e.redraw(f, op, inputs[0])
	}
	return grids.Invalid(f+".op", "unknown operation %q", op.Op)
}

func (e *editTx) split(f string, op grids.Operation, in gridRow) error {
	line, err := toWKB(op.Line.Geometry())
	if err != nil {
		return err
	}
	rows, err := e.tx.Query(e.ctx, `SELECT ST_AsBinary((d).geom) FROM (
			SELECT ST_Dump(ST_Split(g, ST_GeomFromWKB($2, 4326))) d FROM (SELECT ST_GeomFromWKB($1, 4326) g) x) y
		ORDER BY ST_Area((d).geom) DESC`, in.wkb, line)
	if err != nil {
		return fmt.Errorf("split %s: %w", in.code, err)
	}
	pieces, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return fmt.Errorf("split %s: %w", in.code, err)
	}
	if len(pieces) < 2 {
		return grids.Invalid(f+".line", "the line does not cut grid %s from side to side", in.code)
	}
	outs := []output{{code: in.code, wkb: pieces[0]}}
	for _, p := range pieces[1:] {
		outs = append(outs, output{wkb: p})
	}
	return e.write(f, grids.Split, []gridRow{in}, outs)
}

func (e *editTx) merge(f string, inputs []gridRow, codes []string) error {
	var typ string
	var union []byte
	var largest string
	err := e.tx.QueryRow(e.ctx, `SELECT GeometryType(ST_Union(geom)), ST_AsBinary(ST_Union(geom)),
			(array_agg(code ORDER BY ST_Area(geom) DESC, code))[1]
		FROM unit_grids WHERE code = ANY($1) AND valid_to IS NULL`, codes).Scan(&typ, &union, &largest)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if typ != "POLYGON" {
		return grids.Invalid(f+".grids", "grids %s are not adjacent: their union is not one polygon", strings.Join(codes, ", "))
	}
	return e.write(f, grids.Merge, inputs, []output{{code: largest, wkb: union}})
}

func (e *editTx) reshapeLine(f string, op grids.Operation, inputs []gridRow, codes []string) error {
	line, err := toWKB(op.Line.Geometry())
	if err != nil {
		return err
	}
	// Split the union of the two grids by the new edge; each piece goes to
	// the grid it overlaps most.
	rows, err := e.tx.Query(e.ctx, `WITH u AS (SELECT ST_Union(geom) g FROM unit_grids WHERE code = ANY($1) AND valid_to IS NULL),
		p AS (SELECT (ST_Dump(ST_Split(u.g, ST_GeomFromWKB($2, 4326)))).geom FROM u)
		SELECT ST_AsBinary(p.geom), (SELECT code FROM unit_grids g WHERE code = ANY($1) AND valid_to IS NULL
			ORDER BY ST_Area(ST_Intersection(g.geom, p.geom)) DESC LIMIT 1),
			(SELECT GeometryType(g) FROM u)
		FROM p`, codes, line)
	if err != nil {
		return fmt.Errorf("reshape: %w", err)
	}
	var outs []output
	var wkb []byte
	var code, typ string
	if _, err := pgx.ForEachRow(rows, []any{&wkb, &code, &typ}, func() error {
		outs = append(outs, output{code: code, wkb: wkb})
		return nil
	}); err != nil {
		return fmt.Errorf("reshape: %w", err)
	}
	if typ != "POLYGON" {
		return grids.Invalid(f+".grids", "grids %s do not share an edge", strings.Join(codes, " and "))
	}
	if len(outs) != 2 {
		return grids.Invalid(f+".line", "the new edge must cross the two grids from boundary to boundary once: it cuts them into %d piece(s), want 2", len(outs))
	}
	if outs[0].code == outs[1].code {
		return grids.Invalid(f+".line", "the new edge leaves grid %s without its own piece: it moves the boundary past the whole grid", otherCode(codes, outs[0].code))
	}
	return e.write(f, grids.Reshape, inputs, outs)
}

func otherCode(codes []string, c string) string {
	for _, x := range codes {
		if x != c {
			return x
		}
	}
	return c
}

func (e *editTx) reshapeVertices(f string, op grids.Operation, inputs []gridRow) error {
	var outs []output
	for _, in := range inputs {
		g, err := fromWKB(in.wkb)
		if err != nil {
			return err
		}
		p, ok := g.(orb.Polygon)
		if !ok {
			return fmt.Errorf("grid %s is not a polygon", in.code)
		}
		moved, n := grids.MoveVertices(p, op.Moves, vertexTolDeg)
		if n == 0 {
			return grids.Invalid(f+".grids", "grid %s has none of the moved vertices", in.code)
		}
		b, err := toWKB(moved)
		if err != nil {
			return err
		}
		outs = append(outs, output{code: in.code, wkb: b})
	}
	// Every current grid of the community that has a moved vertex must be
	// listed: otherwise its edge would no longer match.
	comm := inputs[0].code[:12]
	listed := make([]string, len(inputs))
	for i, in := range inputs {
		listed[i] = in.code
	}
	for j, m := range op.Moves {
		var other string
		err := e.tx.QueryRow(e.ctx, `SELECT code FROM unit_grids WHERE community_code = $1 AND valid_to IS NULL
			AND NOT (code = ANY($2)) AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5)
			AND EXISTS (SELECT 1 FROM ST_DumpPoints(geom) d WHERE ST_DWithin(d.geom, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5))
			ORDER BY code LIMIT 1`, comm, listed, m.From[0], m.From[1], vertexTolDeg).Scan(&other)
		if err == nil {
			return grids.Invalid(fmt.Sprintf("%s.moves[%d]", f, j), "vertex [%v, %v] is also a vertex of grid %s; list it (with its version) so it moves too", m.From[0], m.From[1], other)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	return e.write(f, grids.Reshape, inputs, outs)
}

// checkOutputs refuses geometries that are not valid single polygons,
// saying which output and why.
func (e *editTx) checkOutputs(f string, outs []output) error {
	for i, o := range outs {
		var typ, reason string
		var empty bool
		err := e.tx.QueryRow(e.ctx, `SELECT GeometryType(g), ST_IsValidReason(g), ST_IsEmpty(g)
			FROM (SELECT ST_GeomFromWKB($1, 4326) g) x`, o.wkb).Scan(&typ, &reason, &empty)
		if err != nil {
			return fmt.Errorf("%s: check geometry: %w", f, translate(err))
		}
		name := o.code
		if name == "" {
			name = fmt.Sprintf("new part %d", i+1)
		}
		switch {
		case empty:
			return grids.Invalid(f, "%s would be empty", name)
		case typ != "POLYGON":
			return grids.Invalid(f, "%s would be a %s, not a single polygon", name, typ)
		case reason != "Valid Geometry":
			return grids.Invalid(f, "%s would not be a valid polygon: %s", name, reason)
		}
	}
	return nil
}

// write stores what an operation produced: outputs with an input's code are
// new versions of it, outputs without a code are new grids, inputs with no
// output are retired. It records history and lineage and checks limits.
func (e *editTx) write(f string, op grids.OpKind, inputs []gridRow, outs []output) error {
	if err := e.checkOutputs(f, outs); err != nil {
		return err
	}
	inputs, outs, err := e.node(f, inputs, outs)
	if err != nil {
		return err
	}
	comm := inputs[0].code[:12]
	// New codes: the next sequence numbers never used in the community,
	// given north to south, then west to east.
	var news []int
	for i, o := range outs {
		if o.code == "" {
			news = append(news, i)
		}
	}
	if len(news) > 0 {
		wkbs := make([][]byte, len(news))
		for j, i := range news {
			wkbs[j] = outs[i].wkb
		}
		var order []int
		var next int
		err := e.tx.QueryRow(e.ctx, `SELECT
				(SELECT array_agg(i - 1 ORDER BY round(ST_Y(c)::numeric, 6) DESC, ST_X(c)) FROM
					(SELECT i, ST_Centroid(ST_GeomFromWKB(w, 4326)) c FROM unnest($1::bytea[]) WITH ORDINALITY AS t(w, i)) x),
				(SELECT coalesce(max(right(code, 3)::int), 0) + 1 FROM unit_grids WHERE community_code = $2)`,
			wkbs, comm).Scan(&order, &next)
		if err != nil {
			return fmt.Errorf("%s: number new grids: %w", f, err)
		}
		for _, j := range order {
			if next > 999 {
				return grids.Invalid(f, "community %s has used all 999 grid sequence numbers", comm)
			}
			outs[news[j]].code = fmt.Sprintf("%s%03d", comm, next)
			next++
		}
	}
	byCode := map[string]gridRow{}
	for _, in := range inputs {
		byCode[in.code] = in
	}
	kept := map[string]bool{}
	var parents, children []grids.GridVersion
	for _, in := range inputs {
		parents = append(parents, grids.GridVersion{Code: geo.Code(in.code), Version: in.version})
	}
	for _, o := range outs {
		kept[o.code] = true
		if in, ok := byCode[o.code]; ok {
			var same bool
			if err := e.tx.QueryRow(e.ctx, `SELECT ST_OrderingEquals(ST_GeomFromWKB($1, 4326), ST_GeomFromWKB($2, 4326))`,
				in.wkb, o.wkb).Scan(&same); err != nil {
				return err
			}
			if same {
				continue
			}
			if err := e.retire(in.code, in.version); err != nil {
				return err
			}
			v, err := e.insert(f, o, in.version+1, in)
			if err != nil {
				return err
			}
			children = append(children, v)
			e.res.Changed = append(e.res.Changed, v)
			if err := e.history("update", in.code, in.version, v.Version); err != nil {
				return err
			}
			continue
		}
		v, err := e.insert(f, o, 1, inputs[0])
		if err != nil {
			return err
		}
		children = append(children, v)
		e.res.Created = append(e.res.Created, v)
		if err := e.history("create", o.code, 0, 1); err != nil {
			return err
		}
	}
	for _, in := range inputs {
		if kept[in.code] {
			continue
		}
		if err := e.retire(in.code, in.version); err != nil {
			return err
		}
		e.res.Retired = append(e.res.Retired, grids.GridVersion{Code: geo.Code(in.code), Version: in.version})
		if err := e.history("retire", in.code, in.version, 0); err != nil {
			return err
		}
	}
	return e.lineage(op, parents, children)
}

func (e *editTx) retire(code string, version int) error {
	tag, err := e.tx.Exec(e.ctx, `UPDATE unit_grids SET valid_to = now() WHERE code = $1 AND version = $2 AND valid_to IS NULL`, code, version)
	if err != nil {
		return fmt.Errorf("retire %s: %w", code, translate(err))
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("retire %s v%d: %w", code, version, grids.ErrConflict)
	}
	return nil
}

// insert writes a new version of a grid, with the descriptive attributes of
// attrs as o.attrs changes them, and checks the limits.
func (e *editTx) insert(f string, o output, version int, attrs gridRow) (grids.GridVersion, error) {
	var area, width float64
	a := o.attrs
	err := e.tx.QueryRow(e.ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2,
			version, land_use, mgmt_level, responsible, note)
		SELECT $1, left($1, 12), left($1, 9), left($1, 6), x.g, ST_Area(gridd_edit_metric(x.g)), $3,
			`+setAttr(6, "p.land_use")+`, `+setAttr(7, "p.mgmt_level")+`, `+setAttr(8, "p.responsible")+`, `+setAttr(9, "p.note")+`
		FROM (SELECT ST_GeomFromWKB($2, 4326) g) x LEFT JOIN unit_grids p ON p.code = $4 AND p.version = $5
		RETURNING area_m2, gridd_edit_width_m(geom)`, o.code, o.wkb, version, attrs.code, attrs.version,
		a.LandUse, a.MgmtLevel, a.Responsible, a.Note).Scan(&area, &width)
	if err != nil {
		return grids.GridVersion{}, fmt.Errorf("%s: write grid %s: %w", f, o.code, translate(err))
	}
	v := grids.GridVersion{Code: geo.Code(o.code), Version: version}
	if e.action == "revert" || o.noded {
		return v, nil
	}
	ws, err := e.limits.Check(f, v.Code, area, width)
	if err != nil {
		return v, err
	}
	e.res.Warnings = append(e.res.Warnings, ws...)
	return v, nil
}

// history records one grid's change; a zero version means none (created or
// retired).
func (e *editTx) history(action, code string, before, after int) error {
	if e.action != "" {
		action = e.action
	}
	_, err := e.tx.Exec(e.ctx, `INSERT INTO history (actor, action, entity, code, reason, before, after, changeset_id)
		SELECT $1, $2, 'unit_grid', $3, $4,
			(SELECT gridd_grid_json(u) FROM unit_grids u WHERE code = $3 AND version = $5),
			(SELECT gridd_grid_json(u) FROM unit_grids u WHERE code = $3 AND version = $6), $7`,
		e.actor, action, code, e.message, before, after, e.id)
	if err != nil {
		return fmt.Errorf("history of %s: %w", code, err)
	}
	return nil
}

// lineage records parent → child for every input and output that share the
// code or overlap.
func (e *editTx) lineage(op grids.OpKind, parents, children []grids.GridVersion) error {
	if len(children) == 0 {
		return nil // only retirements: no child to link
	}
	pc, pv := versionsArrays(parents)
	cc, cv := versionsArrays(children)
	_, err := e.tx.Exec(e.ctx, `INSERT INTO grid_lineage (parent_code, parent_version, child_code, child_version, operation, changeset_id)
		SELECT p.code, p.version, c.code, c.version, $5, $6
		FROM unit_grids p JOIN unnest($1::text[], $2::int[]) AS pk(code, version) ON p.code = pk.code AND p.version = pk.version
		CROSS JOIN unit_grids c JOIN unnest($3::text[], $4::int[]) AS ck(code, version) ON c.code = ck.code AND c.version = ck.version
		WHERE p.code = c.code OR ST_Relate(p.geom, c.geom, '2********')
		ORDER BY p.code, c.code`, pc, pv, cc, cv, string(op), e.id)
	if err != nil {
		return fmt.Errorf("lineage: %w", err)
	}
	return nil
}

func versionsArrays(vs []grids.GridVersion) ([]string, []int32) {
	codes := make([]string, len(vs))
	versions := make([]int32, len(vs))
	for i, v := range vs {
		codes[i], versions[i] = v.Code.String(), int32(v.Version)
	}
	return codes, versions
}

func (e *editTx) redraw(f string, op grids.Operation, in gridRow) error {
	b, err := toWKB(op.Geometry.Geometry())
	if err != nil {
		return err
	}
	return e.redrawWKB(f+".geometry", in, b)
}

// redrawWKB gives grid in the geometry b, clipped to its community, and
// adjusts its neighbours (f names the field for errors).
//
// The requested polygon is first snapped onto the stored grids around it
// and the community (snapTarget): vertices sent back as they were served
// become the stored vertices again, bit for bit. When what is left differs
// from the grid only by moved vertices, the redraw is a vertex move: each
// moved vertex moves in every grid that shares it, as a reshape with moves
// does, so shared edges stay shared and no overlay runs. Otherwise the
// snapped polygon is clipped and the neighbours give up and gain the
// difference (edit_redraw.sql).
func (e *editTx) redrawWKB(f string, in gridRow, b []byte) error {
	req, err := polygonWKB(b)
	if err != nil {
		return grids.Invalid(f, "%v", err)
	}
	old, err := polygonWKB(in.wkb)
	if err != nil {
		return fmt.Errorf("grid %s: %w", in.code, err)
	}
	// Lock the neighbours that may change, and read them: the requested
	// polygon is snapped onto them.
	rows, err := e.tx.Query(e.ctx, `SELECT code, version, ST_AsBinary(geom) FROM unit_grids u
		WHERE u.community_code = left($1, 12) AND u.valid_to IS NULL AND u.code <> $1
		  AND u.geom && ST_Expand(ST_Envelope(ST_Collect(ST_GeomFromWKB($2, 4326), ST_GeomFromWKB($3, 4326))), 1e-6)
		ORDER BY code FOR UPDATE`, in.code, in.wkb, b)
	if err != nil {
		return fmt.Errorf("%s: lock neighbours: %w", f, err)
	}
	var nbs []gridRow
	var g gridRow
	if _, err := pgx.ForEachRow(rows, []any{&g.code, &g.version, &g.wkb}, func() error {
		nbs = append(nbs, g)
		return nil
	}); err != nil {
		return fmt.Errorf("%s: lock neighbours: %w", f, err)
	}
	var commWKB []byte
	if err := e.tx.QueryRow(e.ctx, `SELECT ST_AsBinary(geom) FROM communities WHERE code = left($1, 12) AND valid_to IS NULL`,
		in.code).Scan(&commWKB); err != nil {
		return fmt.Errorf("%s: community of %s: %w", f, in.code, translate(err))
	}
	comm, err := fromWKB(commWKB)
	if err != nil {
		return err
	}
	var tgt snapTarget
	tgt.add(old)
	for _, n := range nbs {
		ng, err := fromWKB(n.wkb)
		if err != nil {
			return err
		}
		tgt.add(ng)
	}
	tgt.add(comm)
	snapped := tgt.snapPolygon(req, snapTolM, edgeTolM)
	moves, ok := vertexMoves(old, snapped)
	if ok {
		if len(moves) == 0 {
			return nil // the grid as it is
		}
		done, err := e.moveShared(f, in, nbs, moves)
		if err != nil || done {
			return err
		}
	}
	sb, err := toWKB(snapped)
	if err != nil {
		return err
	}
	// Clip to the community, unless the polygon leaves it by no more than
	// rounding: clipping along an edge that nearly runs on the community's
	// boundary puts new vertices anywhere along it.
	var clipped []byte
	var typ string
	var outside float64
	err = e.tx.QueryRow(e.ctx, `SELECT ST_AsBinary(g), GeometryType(g), outside FROM (
			SELECT ST_CollectionExtract(ST_Intersection(r, c.geom), 3) g,
				ST_Area(ST_Difference(r, c.geom)) * gridd_m2_per_deg2(ST_Y(ST_Centroid(r))) outside
			FROM communities c, (SELECT ST_GeomFromWKB($2, 4326) r) x WHERE c.code = left($1, 12) AND c.valid_to IS NULL) y`,
		in.code, sb).Scan(&clipped, &typ, &outside)
	if err != nil {
		return fmt.Errorf("%s: clip to community: %w", f, translate(err))
	}
	if typ != "POLYGON" {
		return grids.Invalid(f, "the new geometry of grid %s, clipped to its community, is not one polygon", in.code)
	}
	if outside <= slackM2 {
		clipped = sb
	} else {
		// The clip's new vertices (where the polygon leaves the community)
		// go onto the stored ones they nearly repeat.
		cp, err := polygonWKB(clipped)
		if err != nil {
			return err
		}
		if clipped, err = toWKB(tgt.snapPolygon(cp, snapTolM, edgeTolM)); err != nil {
			return err
		}
	}
	rows, err = e.tx.Query(e.ctx, query("edit_redraw"), in.code, clipped)
	if err != nil {
		return fmt.Errorf("%s: redraw: %w", f, err)
	}
	outs := []output{{code: in.code, wkb: clipped}}
	inputs := []gridRow{in}
	var code, at *string
	var wkb []byte
	var area float64
	var gap error
	if _, err := pgx.ForEachRow(rows, []any{&code, &wkb, &area, &at}, func() error {
		if code == nil {
			if gap == nil {
				gap = grids.Invalid(f, "redrawing grid %s would leave a gap of %.2f m² near %s that no neighbour borders", in.code, area, *at)
			}
			return nil
		}
		outs = append(outs, output{code: *code, wkb: wkb})
		return nil
	}); err != nil {
		return fmt.Errorf("%s: redraw: %w", f, err)
	}
	if gap != nil {
		return gap
	}
	for _, o := range outs[1:] {
		var r gridRow
		err := e.tx.QueryRow(e.ctx, `SELECT code, version, ST_AsBinary(geom) FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, o.code).
			Scan(&r.code, &r.version, &r.wkb)
		if err != nil {
			return fmt.Errorf("%s: neighbour %s: %w", f, o.code, err)
		}
		inputs = append(inputs, r)
	}
	// The overlay's new vertices that nearly repeat a stored vertex or one
	// of the new geometry go onto it, and pieces of a neighbour no larger
	// than rounding are dropped.
	cp, err := polygonWKB(clipped)
	if err != nil {
		return err
	}
	tgt.add(cp)
	for i := range outs[1:] {
		if outs[i+1].wkb, err = tgt.clean(outs[i+1].wkb); err != nil {
			return err
		}
	}
	for i, o := range outs[1:] {
		var typ string
		var empty bool
		if err := e.tx.QueryRow(e.ctx, `SELECT GeometryType(g), ST_IsEmpty(g) FROM (SELECT ST_GeomFromWKB($1, 4326) g) x`, o.wkb).Scan(&typ, &empty); err != nil {
			return err
		}
		if empty {
			return grids.Invalid(f, "redrawing grid %s would swallow neighbour %s entirely; merge them instead", in.code, outs[i+1].code)
		}
		if typ != "POLYGON" {
			return grids.Invalid(f, "redrawing grid %s would cut neighbour %s into pieces", in.code, outs[i+1].code)
		}
	}
	return e.write(f, grids.Redraw, inputs, outs)
}

// moveShared applies vertex moves to grid in and to every neighbour that
// has a moved vertex (bit-identical: shared vertices are). It reports false,
// writing nothing, when the moved grids would not cover exactly what they
// covered before (a vertex of the community's boundary moved, or an edge
// pushed across another vertex): then the redraw takes the general path.
func (e *editTx) moveShared(f string, in gridRow, nbs []gridRow, moves []grids.VertexMove) (bool, error) {
	var ins []gridRow
	var outs []output
	for _, r := range append([]gridRow{in}, nbs...) {
		p, err := polygonWKB(r.wkb)
		if err != nil {
			return false, fmt.Errorf("grid %s: %w", r.code, err)
		}
		moved, n := grids.MoveVertices(p, moves, 0)
		if n == 0 {
			continue
		}
		b, err := toWKB(moved)
		if err != nil {
			return false, err
		}
		ins = append(ins, r)
		outs = append(outs, output{code: r.code, wkb: b})
	}
	if len(ins) == 0 || ins[0].code != in.code {
		return false, nil
	}
	before := make([][]byte, len(ins))
	after := make([][]byte, len(outs))
	for i := range ins {
		before[i], after[i] = ins[i].wkb, outs[i].wkb
	}
	var valid bool
	if err := e.tx.QueryRow(e.ctx, `SELECT bool_and(GeometryType(g) = 'POLYGON' AND ST_IsValid(g))
		FROM (SELECT ST_GeomFromWKB(w, 4326) g FROM unnest($1::bytea[]) w) x`, after).Scan(&valid); err != nil {
		return false, fmt.Errorf("%s: move vertices: %w", f, err)
	}
	if !valid {
		return false, nil
	}
	// Same cover, no overlap: beyond 1 cm² (a vertex moved along a straight
	// stretch of the boundary stays on it only to the last bit).
	var same bool
	if err := e.tx.QueryRow(e.ctx, `WITH o AS (SELECT ST_GeomFromWKB(w, 4326) g FROM unnest($1::bytea[]) w),
			n AS (SELECT ST_GeomFromWKB(w, 4326) g FROM unnest($2::bytea[]) w),
			k AS (SELECT gridd_m2_per_deg2(ST_Y(ST_Centroid(ST_Collect(g)))) k FROM o)
		SELECT ST_Area(ST_SymDifference((SELECT ST_Union(g) FROM o), (SELECT ST_Union(g) FROM n))) * k.k <= 1e-4
			AND ((SELECT sum(ST_Area(g)) FROM n) - ST_Area((SELECT ST_Union(g) FROM n))) * k.k <= 1e-4
		FROM k`, before, after).Scan(&same); err != nil {
		return false, fmt.Errorf("%s: move vertices: %w", f, err)
	}
	if !same {
		return false, nil
	}
	return true, e.write(f, grids.Redraw, ins, outs)
}

// staleCopy refuses a redraw sent without a version that puts back a vertex
// the grid's current version moved, when that version came from an edit of
// another grid (a vertex move there moved the shared vertex here too, or a
// revert). Such a polygon comes from a copy read before that edit: QGIS keeps
// the neighbours of a grid it edited as it read them and sends them back
// whole with the next geometry edit, which would silently undo the earlier
// move in every grid sharing the vertex.
func (e *editTx) staleCopy(in gridRow, req orb.Polygon) error {
	var prevWKB []byte
	var cs int64
	var named bool
	err := e.tx.QueryRow(e.ctx, `SELECT ST_AsBinary(p.geom), l.changeset_id,
			EXISTS (SELECT 1 FROM changesets c, jsonb_array_elements(c.operations) o, jsonb_array_elements(o->'grids') g
				WHERE c.id = l.changeset_id AND g->>'code' = $1)
		FROM grid_lineage l JOIN unit_grids p ON p.code = l.parent_code AND p.version = l.parent_version
		WHERE l.child_code = $1 AND l.child_version = $2 AND l.parent_code = $1
		ORDER BY l.id DESC LIMIT 1`, in.code, in.version).Scan(&prevWKB, &cs, &named)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && named) {
		return nil // the first version, or one an edit of this grid made
	}
	if err != nil {
		return fmt.Errorf("grid %s: previous version: %w", in.code, err)
	}
	prev, err := polygonWKB(prevWKB)
	if err != nil {
		return err
	}
	cur, err := polygonWKB(in.wkb)
	if err != nil {
		return err
	}
	var was, is snapTarget
	was.add(prev)
	is.add(cur)
	for _, r := range req {
		for _, p := range r {
			if _, old := was.snapPoint(p, snapTolM, 0); !old {
				continue
			}
			if _, now := is.snapPoint(p, snapTolM, 0); now {
				continue
			}
			return fmt.Errorf("%w: grid %s was changed by changeset %d, an edit of another grid, after this copy was read: "+
				"the vertex at %.7f, %.7f is where it was before that edit (version %d); reload the layer and edit again",
				grids.ErrConflict, in.code, cs, p[0], p[1], in.version-1)
		}
	}
	return nil
}

// RevertChangeset implements grids.Editor.
func (s *Store) RevertChangeset(ctx context.Context, actor string, id int64, message string) (grids.Changeset, error) {
	var newID int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var revertedBy *int64
		var orig string
		err := tx.QueryRow(ctx, `SELECT reverted_by, message FROM changesets WHERE id = $1 FOR UPDATE`, id).Scan(&revertedBy, &orig)
		if err != nil {
			return fmt.Errorf("changeset %d: %w", id, translate(err))
		}
		if revertedBy != nil {
			return fmt.Errorf("%w: changeset %d was already reverted by changeset %d", grids.ErrConflict, id, *revertedBy)
		}
		type touched struct {
			code          string
			before, after int
		}
		rows, err := tx.Query(ctx, `SELECT code,
				coalesce(((array_agg(before ORDER BY id))[1] ->> 'version')::int, 0),
				coalesce(((array_agg(after ORDER BY id DESC))[1] ->> 'version')::int, 0)
			FROM history WHERE changeset_id = $1 AND entity = 'unit_grid' GROUP BY code ORDER BY code`, id)
		if err != nil {
			return err
		}
		var ts []touched
		var t touched
		if _, err := pgx.ForEachRow(rows, []any{&t.code, &t.before, &t.after}, func() error {
			ts = append(ts, t)
			return nil
		}); err != nil {
			return err
		}
		if len(ts) == 0 {
			return grids.Invalid("id", "changeset %d changed no grid", id)
		}
		var comms []string
		for _, t := range ts {
			comms = append(comms, t.code[:12])
		}
		if message == "" {
			message = fmt.Sprintf("revert changeset %d: %s", id, orig)
		}
		e, err := s.beginEdit(ctx, tx, actor, message, []grids.Operation{{Op: grids.Revert, Changeset: id}}, comms, &id)
		if err != nil {
			return err
		}
		newID = e.id
		// Refuse when a later change touched any of the grids, unless it
		// left the grid as this changeset did (a change since reverted).
		var conflicts []string
		for i, t := range ts {
			var cur int
			var same bool
			var by *int64
			err := tx.QueryRow(ctx, `SELECT u.version,
					coalesce((SELECT ST_OrderingEquals(a.geom, u.geom) AND (a.land_use, a.mgmt_level, a.responsible, a.note)
						IS NOT DISTINCT FROM (u.land_use, u.mgmt_level, u.responsible, u.note)
						FROM unit_grids a WHERE a.code = u.code AND a.version = $2), false),
					(SELECT changeset_id FROM history h WHERE h.entity = 'unit_grid'
						AND h.code = u.code ORDER BY h.id DESC LIMIT 1)
				FROM unit_grids u WHERE u.code = $1 AND u.valid_to IS NULL FOR UPDATE`, t.code, t.after).Scan(&cur, &same, &by)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if cur == t.after || (t.after != 0 && same) {
				ts[i].after = cur
				continue
			}
			switch {
			case t.after == 0:
				conflicts = append(conflicts, fmt.Sprintf("grid %s, retired by it, is current again (version %d)", t.code, cur))
			case cur == 0:
				conflicts = append(conflicts, fmt.Sprintf("grid %s was retired later", t.code))
			default:
				c := fmt.Sprintf("grid %s was changed later (version %d, now %d", t.code, t.after, cur)
				if by != nil {
					c += fmt.Sprintf(", by changeset %d", *by)
				}
				conflicts = append(conflicts, c+")")
			}
		}
		if len(conflicts) > 0 {
			return fmt.Errorf("%w: changeset %d cannot be reverted: %s; revert the later changes first",
				grids.ErrConflict, id, strings.Join(conflicts, "; "))
		}
		var parents, children []grids.GridVersion
		for _, t := range ts {
			if t.after != 0 {
				if err := e.retire(t.code, t.after); err != nil {
					return err
				}
				parents = append(parents, grids.GridVersion{Code: geo.Code(t.code), Version: t.after})
			}
			if t.before == 0 {
				e.res.Retired = append(e.res.Retired, grids.GridVersion{Code: geo.Code(t.code), Version: t.after})
				if err := e.history("retire", t.code, t.after, 0); err != nil {
					return err
				}
				continue
			}
			var v int
			err := tx.QueryRow(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2,
					version, land_use, mgmt_level, responsible, note)
				SELECT code, community_code, street_code, district_code, geom, area_m2,
					(SELECT max(version) + 1 FROM unit_grids WHERE code = $1), land_use, mgmt_level, responsible, note
				FROM unit_grids WHERE code = $1 AND version = $2
				RETURNING version`, t.code, t.before).Scan(&v)
			if err != nil {
				return fmt.Errorf("restore %s v%d: %w", t.code, t.before, translate(err))
			}
			gv := grids.GridVersion{Code: geo.Code(t.code), Version: v}
			children = append(children, gv)
			if t.after == 0 {
				e.res.Created = append(e.res.Created, gv)
			} else {
				e.res.Changed = append(e.res.Changed, gv)
			}
			if err := e.history("update", t.code, t.after, v); err != nil {
				return err
			}
		}
		if err := e.lineage(grids.Revert, parents, children); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE changesets SET reverted_by = $2 WHERE id = $1`, id, e.id); err != nil {
			return err
		}
		return e.finish()
	})
	if err != nil {
		return grids.Changeset{}, editError(err)
	}
	return s.Changeset(ctx, newID)
}

// Changeset implements grids.Editor.
func (s *Store) Changeset(ctx context.Context, id int64) (grids.Changeset, error) {
	var cs grids.Changeset
	var ops, res []byte
	err := s.pool.QueryRow(ctx, `SELECT id, message, actor, created, operations, result, reverts, reverted_by
		FROM changesets WHERE id = $1`, id).Scan(&cs.ID, &cs.Message, &cs.Actor, &cs.Created, &ops, &res, &cs.Reverts, &cs.RevertedBy)
	if err != nil {
		return cs, fmt.Errorf("changeset %d: %w", id, translate(err))
	}
	if err := json.Unmarshal(ops, &cs.Operations); err != nil {
		return cs, fmt.Errorf("changeset %d: %w", id, err)
	}
	if err := json.Unmarshal(res, &cs.Result); err != nil {
		return cs, fmt.Errorf("changeset %d: %w", id, err)
	}
	return cs, nil
}

const gridColumns = `code, community_code, street_code, district_code, ST_AsBinary(geom), area_m2, version,
	land_use, mgmt_level, responsible, note, valid_from, valid_to`

func scanGrid(row pgx.Row) (grids.UnitGrid, error) {
	var g grids.UnitGrid
	var wkb []byte
	var landUse, mgmt, resp, note *string
	if err := row.Scan(&g.Code, &g.CommunityCode, &g.StreetCode, &g.DistrictCode, &wkb, &g.AreaM2, &g.Version,
		&landUse, &mgmt, &resp, &note, &g.ValidFrom, &g.ValidTo); err != nil {
		return g, err
	}
	g.LandUse, g.MgmtLevel, g.Responsible, g.Note = deref(landUse), deref(mgmt), deref(resp), deref(note)
	geom, err := fromWKB(wkb)
	if err != nil {
		return g, err
	}
	p, ok := geom.(orb.Polygon)
	if !ok {
		return g, fmt.Errorf("grid %s: stored geometry is not a polygon", g.Code)
	}
	g.Geom = p
	return g, nil
}

// Grid implements grids.Editor: the current version of a unit grid.
func (s *Store) Grid(ctx context.Context, code geo.Code) (grids.UnitGrid, error) {
	g, err := scanGrid(s.pool.QueryRow(ctx, `SELECT `+gridColumns+` FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, code.String()))
	if err != nil {
		return g, fmt.Errorf("grid %s: %w", code, translate(err))
	}
	return g, nil
}

// Grids implements grids.Editor.
func (s *Store) Grids(ctx context.Context, community geo.Code) ([]grids.UnitGrid, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+gridColumns+` FROM unit_grids WHERE community_code = $1 AND valid_to IS NULL ORDER BY code`, community.String())
	if err != nil {
		return nil, fmt.Errorf("grids of %s: %w", community, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.UnitGrid, error) { return scanGrid(r) })
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// GridHistory implements grids.Editor: every recorded change of the code,
// oldest first.
func (s *Store) GridHistory(ctx context.Context, code geo.Code) ([]grids.GridHistoryEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, code, reason, before, after, changeset_id
		FROM history WHERE entity = 'unit_grid' AND code = $1 ORDER BY id`, code.String())
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", code, err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.GridHistoryEntry, error) {
		var h grids.GridHistoryEntry
		err := r.Scan(&h.ID, &h.At, &h.Actor, &h.Action, &h.Code, &h.Reason, &h.Before, &h.After, &h.ChangesetID)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", code, err)
	}
	if len(hs) == 0 {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM unit_grids WHERE code = $1`, code.String()).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("grid %s: %w", code, grids.ErrNotFound)
		}
	}
	return hs, nil
}

// UpdateGrid implements grids.Editor.
func (s *Store) UpdateGrid(ctx context.Context, actor string, ref grids.GridRef, attrs grids.GridAttributes, geom orb.Polygon, message string) (grids.Changeset, error) {
	if geom != nil {
		if err := grids.CheckGridPolygon("geometry", geom); err != nil {
			return grids.Changeset{}, err
		}
	}
	if message == "" {
		message = "update grid " + ref.Code.String()
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		op := grids.Operation{Op: grids.Redraw, Grids: []grids.GridRef{ref}}
		e, err := s.beginEdit(ctx, tx, actor, message, []grids.Operation{op}, []string{ref.Code.At(geo.Community).String()}, nil)
		if err != nil {
			return err
		}
		id = e.id
		noVersion := ref.Version == 0
		if noVersion {
			// The community's editing lock is held: the version read now
			// is the one the edit applies to.
			if err := tx.QueryRow(ctx, `SELECT version FROM unit_grids WHERE code = $1 AND valid_to IS NULL`,
				ref.Code.String()).Scan(&ref.Version); err != nil {
				return fmt.Errorf("grid %s: %w", ref.Code, translate(err))
			}
		}
		locked, err := e.lock([]grids.GridRef{ref})
		if err != nil {
			return err
		}
		in := locked[ref.Code.String()]
		if geom != nil && noVersion {
			if err := e.staleCopy(in, geom); err != nil {
				return err
			}
		}
		if geom != nil {
			b, err := toWKB(geom)
			if err != nil {
				return err
			}
			if err := e.redrawWKB("geometry", in, b); err != nil {
				return err
			}
		}
		if attrs != (grids.GridAttributes{}) {
			var cur int
			if err := tx.QueryRow(ctx, `SELECT version FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, in.code).Scan(&cur); err != nil {
				return err
			}
			if err := e.retire(in.code, cur); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2,
					version, land_use, mgmt_level, responsible, note)
				SELECT code, community_code, street_code, district_code, geom, area_m2, version + 1,
					`+setAttr(3, "land_use")+`, `+setAttr(4, "mgmt_level")+`, `+setAttr(5, "responsible")+`, `+setAttr(6, "note")+`
				FROM unit_grids WHERE code = $1 AND version = $2`, in.code, cur, attrs.LandUse, attrs.MgmtLevel, attrs.Responsible, attrs.Note)
			if err != nil {
				return fmt.Errorf("update grid %s: %w", in.code, translate(err))
			}
			v := grids.GridVersion{Code: geo.Code(in.code), Version: cur + 1}
			e.res.Changed = append(e.res.Changed, v)
			if err := e.history("update", in.code, cur, cur+1); err != nil {
				return err
			}
		}
		return e.finish()
	})
	if err != nil {
		return grids.Changeset{}, editError(err)
	}
	return s.Changeset(ctx, id)
}

var _ grids.Editor = (*Store)(nil)

// setAttr is the SQL of one attribute of UpdateGrid from parameter $n: a
// nil attribute keeps the stored value, "" clears it (NULL), any other
// string replaces it.
func setAttr(n int, col string) string {
	p := fmt.Sprintf("$%d::text", n)
	return "CASE WHEN " + p + " IS NULL THEN " + col + " ELSE nullif(" + p + ", '') END"
}

// node keeps shared vertices bit-identical: each output gains the vertices
// of its neighbours (and of the other outputs) that lie on its edges, and
// each neighbour gains the outputs' new vertices on its edges (a split's
// end points, a reshape's). A neighbour that gains vertices keeps its shape
// and gets a new version.
func (e *editTx) node(f string, inputs []gridRow, outs []output) ([]gridRow, []output, error) {
	const snapTol = 1e-9 // degrees, about 0.1 mm
	comm := inputs[0].code[:12]
	inCodes := make([]string, len(inputs))
	for i, in := range inputs {
		inCodes[i] = in.code
	}
	wkbs := make([][]byte, len(outs))
	for i, o := range outs {
		wkbs[i] = o.wkb
	}
	rows, err := e.tx.Query(e.ctx, `SELECT code, version, ST_AsBinary(geom) FROM unit_grids
		WHERE community_code = $1 AND valid_to IS NULL AND NOT (code = ANY($2))
		  AND ST_DWithin(geom, (SELECT ST_Collect(ST_GeomFromWKB(w, 4326)) FROM unnest($3::bytea[]) w), $4)
		ORDER BY code FOR UPDATE`, comm, inCodes, wkbs, snapTol*10)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: lock neighbours: %w", f, err)
	}
	var nbs []gridRow
	var g gridRow
	if _, err := pgx.ForEachRow(rows, []any{&g.code, &g.version, &g.wkb}, func() error {
		nbs = append(nbs, g)
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("%s: lock neighbours: %w", f, err)
	}
	nbWKB := make([][]byte, len(nbs))
	for i, n := range nbs {
		nbWKB[i] = n.wkb
	}
	rows, err = e.tx.Query(e.ctx, `WITH o AS (SELECT i, ST_GeomFromWKB(w, 4326) g FROM unnest($1::bytea[]) WITH ORDINALITY t(w, i)),
		nb AS (SELECT i, ST_GeomFromWKB(w, 4326) g FROM unnest($2::bytea[]) WITH ORDINALITY t(w, i)),
		os AS (SELECT o.i, coalesce(ST_Snap(o.g, (SELECT ST_Collect(x.g) FROM
				(SELECT g FROM nb UNION ALL SELECT o2.g FROM o o2 WHERE o2.i <> o.i) x), $3), o.g) AS g FROM o)
		SELECT 'out', i, ST_AsBinary(g) FROM os
		UNION ALL
		SELECT 'nb', i, ST_AsBinary(s) FROM (SELECT nb.i, nb.g, ST_Snap(nb.g, (SELECT ST_Collect(g) FROM os), $3) s FROM nb) x
		WHERE NOT ST_OrderingEquals(x.g, x.s)`, wkbs, nbWKB, snapTol)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: node: %w", f, err)
	}
	var kind string
	var i int
	var b []byte
	if _, err := pgx.ForEachRow(rows, []any{&kind, &i, &b}, func() error {
		if kind == "out" {
			outs[i-1].wkb = b
			return nil
		}
		inputs = append(inputs, nbs[i-1])
		outs = append(outs, output{code: nbs[i-1].code, wkb: b, noded: true})
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("%s: node: %w", f, err)
	}
	if err := e.checkOutputs(f, outs); err != nil {
		return nil, nil, err
	}
	return inputs, outs, nil
}
