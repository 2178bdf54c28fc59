package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// mgmtRow is a current management grid as a move reads it. version is the
// row's number among the rows the code has had (1 for the first).
type mgmtRow struct {
	id                             int64
	code, name, kind, street, comm string
	validFrom                      time.Time
	version                        int
	members                        []string
}

// mgmtRowColumns reads a current management grid g into a mgmtRow.
const mgmtRowColumns = `g.id, g.code, g.name, g.kind, g.street_code, coalesce(g.community_code, ''), g.valid_from,
	(SELECT count(*) FROM mgmt_grids h WHERE h.code = g.code)::int,
	coalesce((SELECT array_agg(m.grid_code ORDER BY m.grid_code) FROM mgmt_grid_members m WHERE m.mgmt_grid_id = g.id), '{}')`

func scanMgmtRow(r pgx.CollectableRow) (mgmtRow, error) {
	var m mgmtRow
	return m, r.Scan(&m.id, &m.code, &m.name, &m.kind, &m.street, &m.comm, &m.validFrom, &m.version, &m.members)
}

// MoveUnitGrid implements grids.MgmtMover. A real move takes, in this
// order, the editing lock of every community the two grids' members lie in
// (the lock changesets take, so the unit grids do not change under the
// move), the social-grid lock of the moving grid's community (the one the
// social builder takes), a share lock on the unit grid and update locks on
// both management grids; then it checks, and writes new versions of both
// grids with history. A dry run takes no lock and writes nothing.
func (s *Store) MoveUnitGrid(ctx context.Context, m grids.MgmtMove, actor, reason string) (grids.MgmtMoveResult, error) {
	mv, reason, err := grids.ParseMgmtMove(m.Grid.String(), m.From, m.To, m.FromVersion, m.ToVersion, m.DryRun, reason)
	if err != nil {
		return grids.MgmtMoveResult{}, err
	}
	var out grids.MgmtMoveResult
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = moveUnitGrid(ctx, tx, mv, actor, reason)
		return err
	})
	if err != nil {
		var inv *grids.InvalidError
		var verr *grids.VersionError
		if errors.As(err, &inv) || errors.As(err, &verr) {
			return grids.MgmtMoveResult{}, err
		}
		return grids.MgmtMoveResult{}, fmt.Errorf("move unit grid %s from %s to %s: %w", mv.Grid, mv.From, mv.To, translate(err))
	}
	return out, nil
}

func moveUnitGrid(ctx context.Context, tx pgx.Tx, m grids.MgmtMove, actor, reason string) (grids.MgmtMoveResult, error) {
	g := m.Grid.String()
	codes := []string{m.From, m.To}
	if !m.DryRun {
		rows, err := tx.Query(ctx, `SELECT left(mm.grid_code, 12) FROM mgmt_grids x JOIN mgmt_grid_members mm ON mm.mgmt_grid_id = x.id
			WHERE x.code = ANY($1) AND x.valid_to IS NULL
			UNION SELECT left($2::text, 12) ORDER BY 1`, codes, g)
		if err != nil {
			return grids.MgmtMoveResult{}, err
		}
		comms, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return grids.MgmtMoveResult{}, err
		}
		for _, c := range comms {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('gridd.community:' || $1, 0))`, c); err != nil {
				return grids.MgmtMoveResult{}, err
			}
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd social grids ' || $1)), set_config('gridd.actor', $2, true)`,
			g[:12], actor); err != nil {
			return grids.MgmtMoveResult{}, err
		}
	}
	lock := func(clause string) string {
		if m.DryRun {
			return ""
		}
		return " " + clause
	}

	// The unit grid, then both management grids.
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM unit_grids WHERE code = $1 AND valid_to IS NULL`+lock("FOR SHARE"), g).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return grids.MgmtMoveResult{}, grids.Invalid("grid", "%s is not a current unit grid", g)
	}
	if err != nil {
		return grids.MgmtMoveResult{}, err
	}
	rows, err := tx.Query(ctx, `SELECT `+mgmtRowColumns+` FROM mgmt_grids g
		WHERE g.code = ANY($1) AND g.valid_to IS NULL ORDER BY g.id`+lock("FOR UPDATE OF g"), codes)
	if err != nil {
		return grids.MgmtMoveResult{}, err
	}
	found, err := pgx.CollectRows(rows, scanMgmtRow)
	if err != nil {
		return grids.MgmtMoveResult{}, err
	}
	var a, b *mgmtRow
	for i := range found {
		switch found[i].code {
		case m.From:
			a = &found[i]
		case m.To:
			b = &found[i]
		}
	}
	if a == nil {
		return grids.MgmtMoveResult{}, grids.Invalid("from", "%s is not a current management grid", m.From)
	}
	if b == nil {
		return grids.MgmtMoveResult{}, grids.Invalid("to", "%s is not a current management grid", m.To)
	}

	// Versions the client read.
	var stale grids.VersionError
	stale.Entity = "mgmt_grid"
	stale.Current = []grids.RecordRef{}
	for _, c := range []struct {
		want int
		row  *mgmtRow
	}{{m.FromVersion, a}, {m.ToVersion, b}} {
		if c.want != 0 && c.want != c.row.version {
			stale.Stale = append(stale.Stale, grids.RecordRef{Code: c.row.code, Version: c.want})
			stale.Current = append(stale.Current, grids.RecordRef{Code: c.row.code, Version: c.row.version})
		}
	}
	if len(stale.Stale) > 0 {
		return grids.MgmtMoveResult{}, &stale
	}

	// Same kind, same community (social) or street (responsibility).
	if a.kind != b.kind {
		return grids.MgmtMoveResult{}, grids.Invalid("to", "%s is a %s grid and %s a %s grid: a unit grid moves only between management grids of one kind",
			a.code, a.kind, b.code, b.kind)
	}
	if a.kind == "social" && a.comm != b.comm {
		return grids.MgmtMoveResult{}, grids.Invalid("to", "social grid %s is in community %s and %s in community %s: a unit grid moves only between social grids of its community",
			a.code, a.comm, b.code, b.comm)
	}
	if a.street != b.street {
		return grids.MgmtMoveResult{}, grids.Invalid("to", "management grid %s is in street %s and %s in street %s: a unit grid moves only between management grids of one street",
			a.code, a.street, b.code, b.street)
	}

	// Membership.
	if !slices.Contains(a.members, g) {
		var in []string
		rows, err := tx.Query(ctx, `SELECT x.code FROM mgmt_grids x JOIN mgmt_grid_members mm ON mm.mgmt_grid_id = x.id
			WHERE mm.grid_code = $1 AND x.valid_to IS NULL AND x.kind = $2 ORDER BY x.code`, g, a.kind)
		if err == nil {
			in, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return grids.MgmtMoveResult{}, err
		}
		where := "it is in no " + a.kind + " grid"
		if len(in) > 0 {
			where = "it is in " + strings.Join(in, ", ")
		}
		return grids.MgmtMoveResult{}, grids.Invalid("grid", "unit grid %s is not a member of management grid %s (%s)", g, a.code, where)
	}
	if slices.Contains(b.members, g) {
		return grids.MgmtMoveResult{}, grids.Invalid("grid", "unit grid %s is already a member of management grid %s", g, b.code)
	}
	if len(a.members) == 1 {
		return grids.MgmtMoveResult{}, grids.Invalid("grid", "unit grid %s is the only unit grid of management grid %s, which would be left empty: a management grid keeps at least one unit grid",
			g, a.code)
	}

	// A neighbour: a boundary line shared with one of To's unit grids, not
	// just a corner.
	var line, touch bool
	err = tx.QueryRow(ctx, `SELECT coalesce(bool_or(ST_Relate(x.geom, u.geom, '****1****')), false),
			coalesce(bool_or(ST_Intersects(x.geom, u.geom)), false)
		FROM unit_grids x JOIN unit_grids u ON u.geom && x.geom
		WHERE x.code = $1 AND x.valid_to IS NULL AND u.code = ANY($2) AND u.valid_to IS NULL`, g, b.members).Scan(&line, &touch)
	if err != nil {
		return grids.MgmtMoveResult{}, err
	}
	if !line {
		how := fmt.Sprintf("does not border management grid %s", b.code)
		if touch {
			how = fmt.Sprintf("meets management grid %s only at a corner", b.code)
		}
		return grids.MgmtMoveResult{}, grids.Invalid("to", "unit grid %s %s: a unit grid moves only to a management grid it shares a boundary line with",
			g, how)
	}

	// The donor stays in one piece (or in no more pieces than it had).
	aAfter := slices.DeleteFunc(slices.Clone(a.members), func(c string) bool { return c == g })
	bAfter := append(slices.Clone(b.members), g)
	slices.Sort(bAfter)
	var partsBefore, partsAfter int
	err = tx.QueryRow(ctx, `SELECT
			(SELECT ST_NumGeometries(ST_Multi(ST_Union(u.geom))) FROM unit_grids u WHERE u.code = ANY($1) AND u.valid_to IS NULL),
			(SELECT ST_NumGeometries(ST_Multi(ST_Union(u.geom))) FROM unit_grids u WHERE u.code = ANY($2) AND u.valid_to IS NULL)`,
		a.members, aAfter).Scan(&partsBefore, &partsAfter)
	if err != nil {
		return grids.MgmtMoveResult{}, err
	}
	if partsAfter > 1 && partsAfter > partsBefore {
		return grids.MgmtMoveResult{}, grids.Invalid("grid", "without unit grid %s, management grid %s would fall into %d separate pieces: a management grid stays one connected area",
			g, a.code, partsAfter)
	}

	// The balance.
	out, err := moveBalance(ctx, tx, g, a, b, aAfter, bAfter)
	if err != nil {
		return out, err
	}
	out.DryRun = m.DryRun
	if m.DryRun {
		return out, nil
	}

	// New versions of both grids: the old rows close, new rows (same code)
	// take the new members and their union.
	var at time.Time
	if err := tx.QueryRow(ctx, `SELECT greatest(now(), $1::timestamptz + interval '1 microsecond', $2::timestamptz + interval '1 microsecond')`,
		a.validFrom, b.validFrom).Scan(&at); err != nil {
		return out, err
	}
	if _, err := tx.Exec(ctx, `UPDATE mgmt_grids SET valid_to = $2 WHERE id = ANY($1)`, []int64{a.id, b.id}, at); err != nil {
		return out, fmt.Errorf("close the old versions: %w", err)
	}
	moved := map[string]any{"grid": g, "from": a.code, "to": b.code}
	for _, side := range []struct {
		row     *mgmtRow
		members []string
		res     *grids.MgmtMoveSide
	}{{a, aAfter, &out.From}, {b, bAfter, &out.To}} {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO mgmt_grids (code, name, street_code, community_code, kind, geom, valid_from)
			SELECT o.code, o.name, o.street_code, o.community_code, o.kind,
			       (SELECT ST_Multi(ST_Union(u.geom)) FROM unit_grids u WHERE u.code = ANY($2) AND u.valid_to IS NULL), $3
			FROM mgmt_grids o WHERE o.id = $1
			RETURNING id`, side.row.id, side.members, at).Scan(&id)
		if err != nil {
			return out, fmt.Errorf("new version of %s: %w", side.row.code, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mgmt_grid_members (mgmt_grid_id, grid_code) SELECT $1, unnest($2::text[])`,
			id, side.members); err != nil {
			return out, fmt.Errorf("members of %s: %w", side.row.code, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before, after)
			SELECT $1, 'update', 'mgmt_grid', n.code, $2,
			       jsonb_build_object('kind', o.kind, 'name', o.name, 'version', $5::int, 'members', to_jsonb($6::text[]),
			                          'households', $8::int, 'residents', $9::int, 'geometry', ST_AsGeoJSON(o.geom)::jsonb),
			       jsonb_build_object('kind', n.kind, 'name', n.name, 'version', $5::int + 1, 'members', to_jsonb($7::text[]),
			                          'households', $10::int, 'residents', $11::int, 'geometry', ST_AsGeoJSON(n.geom)::jsonb,
			                          'moved', $12::jsonb)
			FROM mgmt_grids o, mgmt_grids n WHERE o.id = $3 AND n.id = $4`,
			actor, reason, side.row.id, id, side.row.version, side.row.members, side.members,
			side.res.Before.Households, side.res.Before.Residents, side.res.After.Households, side.res.After.Residents, moved)
		if err != nil {
			return out, fmt.Errorf("history of %s: %w", side.row.code, err)
		}
		side.res.NewVersion = side.row.version + 1
		side.res.ValidFrom = at
		side.res.Members = side.members
	}
	out.Saved = true
	return out, nil
}

// moveBalance sums the current buildings of both grids' members before and
// after the move, with the social target where there is one.
func moveBalance(ctx context.Context, tx pgx.Tx, g string, a, b *mgmtRow, aAfter, bAfter []string) (grids.MgmtMoveResult, error) {
	out := grids.MgmtMoveResult{Grid: g, Kind: a.kind, Community: a.comm}
	all := append(slices.Clone(a.members), b.members...)
	rows, err := tx.Query(ctx, `SELECT m.code, coalesce(sum(b.households), 0)::int, coalesce(sum(b.residents), 0)::int
		FROM unnest($1::text[]) m(code) LEFT JOIN buildings b ON b.grid_code = m.code AND b.valid_to IS NULL
		GROUP BY m.code`, all)
	if err != nil {
		return out, err
	}
	per := map[string][2]int{}
	for rows.Next() {
		var c string
		var hh, res int
		if err := rows.Scan(&c, &hh, &res); err != nil {
			rows.Close()
			return out, err
		}
		per[c] = [2]int{hh, res}
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	if a.kind == "social" {
		var t grids.SocialTarget
		err := tx.QueryRow(ctx, `SELECT households, residents FROM social_targets WHERE community_code = $1`, a.comm).Scan(&t.Households, &t.Residents)
		switch {
		case err == nil:
			if t.Validate() == nil {
				out.Target = &t
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return out, err
		}
	}
	sum := func(codes []string) grids.MgmtTotals {
		t := grids.MgmtTotals{UnitGrids: len(codes)}
		for _, c := range codes {
			t.Households += per[c][0]
			t.Residents += per[c][1]
		}
		if out.Target != nil {
			l := out.Target.Load(t.Households, t.Residents)
			t.Load = &l
		}
		return t
	}
	out.Totals = sum([]string{g})
	side := func(r *mgmtRow, after []string) grids.MgmtMoveSide {
		return grids.MgmtMoveSide{Code: r.code, Name: r.name, Version: r.version, ValidFrom: r.validFrom,
			Members: after, Before: sum(r.members), After: sum(after)}
	}
	out.From, out.To = side(a, aAfter), side(b, bAfter)
	return out, nil
}

// MgmtGridsOf implements grids.MgmtMover.
func (s *Store) MgmtGridsOf(ctx context.Context, community geo.Code) ([]grids.MgmtGridSummary, error) {
	comm := community.String()
	rows, err := s.pool.Query(ctx, `WITH ids AS (
			SELECT g.id FROM mgmt_grids g WHERE g.kind = 'social' AND g.community_code = $1 AND g.valid_to IS NULL
			UNION
			SELECT g.id FROM unit_grids u
			JOIN mgmt_grid_members mm ON mm.grid_code = u.code
			JOIN mgmt_grids g ON g.id = mm.mgmt_grid_id AND g.valid_to IS NULL
			WHERE u.community_code = $1 AND u.valid_to IS NULL)
		SELECT `+mgmtRowColumns+`,
			coalesce((SELECT sum(b.households) FROM mgmt_grid_members mm JOIN buildings b ON b.grid_code = mm.grid_code AND b.valid_to IS NULL
			          WHERE mm.mgmt_grid_id = g.id), 0)::int,
			coalesce((SELECT sum(b.residents) FROM mgmt_grid_members mm JOIN buildings b ON b.grid_code = mm.grid_code AND b.valid_to IS NULL
			          WHERE mm.mgmt_grid_id = g.id), 0)::int,
			t.households, t.residents
		FROM mgmt_grids g JOIN ids USING (id)
		LEFT JOIN social_targets t ON g.kind = 'social' AND t.community_code = g.community_code
		ORDER BY g.kind = 'social' DESC, g.code`, comm)
	if err != nil {
		return nil, fmt.Errorf("management grids of %s: %w", comm, translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.MgmtGridSummary, error) {
		var m mgmtRow
		var s grids.MgmtGridSummary
		var th, tr *int32
		if err := r.Scan(&m.id, &m.code, &m.name, &m.kind, &m.street, &m.comm, &m.validFrom, &m.version, &m.members,
			&s.Households, &s.Residents, &th, &tr); err != nil {
			return s, err
		}
		s.Code, s.Name, s.Kind, s.Community, s.StreetCode = m.code, m.name, m.kind, m.comm, m.street
		s.Version, s.ValidFrom, s.Members = m.version, m.validFrom, m.members
		if th != nil && tr != nil {
			t := grids.SocialTarget{Households: int(*th), Residents: int(*tr)}
			if t.Validate() == nil {
				s.Target = &t
				l := t.Load(s.Households, s.Residents)
				s.Load = &l
			}
		}
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("management grids of %s: %w", comm, translateCtx(ctx, err))
	}
	return out, nil
}

var _ grids.MgmtMover = (*Store)(nil)
