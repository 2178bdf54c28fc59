package postgis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// SocialGridsWritten says what ReplaceSocialGrids did in a community: the
// social grids kept as they were, created and retired, by code.
type SocialGridsWritten struct {
	Kept, Created, Retired []string
}

// ReplaceSocialGrids makes the current social grids of a community the
// groups given (each a set of current unit grids of the community), in one
// transaction with history. A group with exactly the members of a current
// social grid keeps that grid and its code; the others are retired, and the
// new groups are coded COMMUNITY-SNN with the lowest numbers no current or
// past social grid of the community has used, in the order given.
// Management grids of other kinds are not touched.
func (s *Store) ReplaceSocialGrids(ctx context.Context, community geo.Code, groups [][]geo.Code, target grids.SocialTarget, actor, reason string) (SocialGridsWritten, error) {
	ws, err := s.ReplaceSocialGridsOf(ctx, []SocialPlan{{Community: community, Groups: groups, Target: target}}, actor, reason)
	if err != nil {
		return SocialGridsWritten{}, err
	}
	return ws[0], nil
}

// SocialPlan is the social grids wanted in a community: groups of its unit
// grids, and the target they were balanced on (kept in social_targets for
// the map and the editor).
type SocialPlan struct {
	Community geo.Code
	Groups    [][]geo.Code
	Target    grids.SocialTarget
}

// SocialPlanOf is the plan of a community's partition into social grids
// built to target t.
func SocialPlanOf(p grids.SocialPartition, t grids.SocialTarget) SocialPlan {
	plan := SocialPlan{Community: geo.Code(p.Community), Target: t}
	for _, g := range p.Groups {
		codes := make([]geo.Code, len(g.Grids))
		for i, x := range g.Grids {
			codes[i] = geo.Code(x)
		}
		plan.Groups = append(plan.Groups, codes)
	}
	return plan
}

// ReplaceSocialGridsOf does ReplaceSocialGrids for several communities in
// one transaction: all are written, or none.
func (s *Store) ReplaceSocialGridsOf(ctx context.Context, plans []SocialPlan, actor, reason string) ([]SocialGridsWritten, error) {
	out := make([]SocialGridsWritten, len(plans))
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		for i, p := range plans {
			w, err := replaceSocialGrids(ctx, tx, p.Community, p.Groups, actor, reason)
			if err != nil {
				return err
			}
			if err := setSocialTarget(ctx, tx, p.Community, p.Target, actor, reason); err != nil {
				return err
			}
			out[i] = w
		}
		return nil
	})
	return out, err
}

func replaceSocialGrids(ctx context.Context, tx pgx.Tx, community geo.Code, groups [][]geo.Code, actor, reason string) (SocialGridsWritten, error) {
	var w SocialGridsWritten
	comm := community.String()
	if _, err := geo.ParseCodeAt(comm, geo.Community); err != nil {
		return w, fmt.Errorf("social grids: %w", err)
	}
	seen := map[geo.Code]int{}
	for i, g := range groups {
		if len(g) == 0 {
			return w, fmt.Errorf("social grids of %s: group %d is empty", comm, i+1)
		}
		for _, c := range g {
			if c.At(geo.Community) != community {
				return w, fmt.Errorf("social grids of %s: grid %s of group %d is not in the community", comm, c, i+1)
			}
			if j, dup := seen[c]; dup {
				return w, fmt.Errorf("social grids of %s: grid %s is in groups %d and %d", comm, c, j+1, i+1)
			}
			seen[c] = i
		}
	}
	err := func() error {
		// One writer per community at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd social grids ' || $1))`, comm); err != nil {
			return err
		}
		var missing []string
		rows, err := tx.Query(ctx, `SELECT u.code FROM unit_grids u WHERE u.community_code = $1 AND u.valid_to IS NULL
			AND NOT (u.code = ANY($2)) ORDER BY u.code`, comm, codeStrings(sortedCodes(seen)))
		if err != nil {
			return err
		}
		left, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("social grids of %s must cover the community: %d unit grid(s) in no group, first %s", comm, len(left), left[0])
		}
		rows, err = tx.Query(ctx, `SELECT m FROM unnest($1::text[]) m
			WHERE NOT EXISTS (SELECT 1 FROM unit_grids u WHERE u.code = m AND u.valid_to IS NULL) ORDER BY m`, codeStrings(sortedCodes(seen)))
		if err != nil {
			return err
		}
		if missing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("social grids of %s: not current unit grids: %s", comm, strings.Join(missing, ", "))
		}
		// The current social grids and their members.
		type current struct {
			id      int64
			code    string
			members string
		}
		rows, err = tx.Query(ctx, `SELECT g.id, g.code, coalesce((SELECT string_agg(grid_code, ',' ORDER BY grid_code)
				FROM mgmt_grid_members WHERE mgmt_grid_id = g.id), '')
			FROM mgmt_grids g WHERE g.kind = 'social' AND g.community_code = $1 AND g.valid_to IS NULL
			ORDER BY g.code FOR UPDATE`, comm)
		if err != nil {
			return err
		}
		cur, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (current, error) {
			var c current
			return c, r.Scan(&c.id, &c.code, &c.members)
		})
		if err != nil {
			return err
		}
		byMembers := map[string]current{}
		for _, c := range cur {
			byMembers[c.members] = c
		}
		keep := map[int64]bool{}
		var fresh [][]string
		for _, g := range groups {
			m := codeStrings(g)
			slices.Sort(m)
			if c, ok := byMembers[strings.Join(m, ",")]; ok && !keep[c.id] {
				keep[c.id] = true
				w.Kept = append(w.Kept, c.code)
				continue
			}
			fresh = append(fresh, m)
		}
		for _, c := range cur {
			if keep[c.id] {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE mgmt_grids SET valid_to = now() WHERE id = $1`, c.id); err != nil {
				return fmt.Errorf("retire social grid %s: %w", c.code, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before)
				VALUES ($1, 'retire', 'mgmt_grid', $2, $3, jsonb_build_object('kind', 'social', 'members', to_jsonb(string_to_array($4, ','))))`,
				actor, c.code, reason, c.members); err != nil {
				return fmt.Errorf("retire social grid %s: history: %w", c.code, err)
			}
			w.Retired = append(w.Retired, c.code)
		}
		// New codes: the lowest numbers never used in the community.
		rows, err = tx.Query(ctx, `SELECT DISTINCT code FROM mgmt_grids WHERE kind = 'social' AND community_code = $1`, comm)
		if err != nil {
			return err
		}
		used, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n := 0
		next := func() string {
			for {
				n++
				c := fmt.Sprintf("%s-S%02d", comm, n)
				if !slices.Contains(used, c) {
					return c
				}
			}
		}
		for _, m := range fresh {
			code := next()
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO mgmt_grids (code, name, street_code, community_code, kind, geom)
				SELECT $1, c.name || '第' || $4 || '网格', left($2, 9), $2, 'social', ST_Multi(ST_Union(u.geom))
				FROM unit_grids u, (SELECT name FROM communities WHERE code = $2 AND valid_to IS NULL
				                    UNION ALL SELECT $2 LIMIT 1) c
				WHERE u.code = ANY($3) AND u.valid_to IS NULL
				GROUP BY c.name
				RETURNING id`, code, comm, m, strings.TrimPrefix(code[len(comm)+2:], "0")).Scan(&id)
			if err != nil {
				return fmt.Errorf("create social grid %s: %w", code, translate(err))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO mgmt_grid_members (mgmt_grid_id, grid_code) SELECT $1, unnest($2::text[])`, id, m); err != nil {
				return fmt.Errorf("create social grid %s: %w", code, translate(err))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
				SELECT $1, 'create', 'mgmt_grid', code, $2,
				       jsonb_build_object('kind', 'social', 'name', name, 'members', to_jsonb($4::text[]), 'geometry', ST_AsGeoJSON(geom)::jsonb)
				FROM mgmt_grids WHERE id = $3`, actor, reason, id, m); err != nil {
				return fmt.Errorf("create social grid %s: history: %w", code, err)
			}
			w.Created = append(w.Created, code)
		}
		return nil
	}()
	return w, err
}

// setSocialTarget records the target of a community's social grids, with
// history, when it differs from the stored one.
func setSocialTarget(ctx context.Context, tx pgx.Tx, community geo.Code, t grids.SocialTarget, actor, reason string) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("social grids of %s: %w", community, err)
	}
	_, err := tx.Exec(ctx, `WITH old AS (
			SELECT households, residents FROM social_targets WHERE community_code = $1 FOR UPDATE),
		up AS (
			INSERT INTO social_targets (community_code, households, residents) VALUES ($1, $2, $3)
			ON CONFLICT (community_code) DO UPDATE SET households = $2, residents = $3, set_at = now()
			WHERE (social_targets.households, social_targets.residents) IS DISTINCT FROM ($2, $3)
			RETURNING 1)
		INSERT INTO history (actor, action, entity, code, reason, before, after)
		SELECT $4, CASE WHEN (SELECT count(*) FROM old) = 0 THEN 'create' ELSE 'update' END, 'social_target', $1, $5,
		       (SELECT jsonb_build_object('households', households, 'residents', residents) FROM old),
		       jsonb_build_object('households', $2::int, 'residents', $3::int)
		WHERE EXISTS (SELECT 1 FROM up)`, community.String(), t.Households, t.Residents, actor, reason)
	if err != nil {
		return fmt.Errorf("social grids of %s: target: %w", community, translate(err))
	}
	return nil
}

func sortedCodes(m map[geo.Code]int) []geo.Code {
	out := make([]geo.Code, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// SocialGridCodes returns the codes of the current social grids of the
// communities of an area (a district, street or community code), in order.
func (s *Store) SocialGridCodes(ctx context.Context, area string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT code FROM mgmt_grids
		WHERE kind = 'social' AND valid_to IS NULL AND community_code LIKE $1 || '%' ORDER BY code`, area)
	if err != nil {
		return nil, fmt.Errorf("social grids of %s: %w", area, translateCtx(ctx, err))
	}
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("social grids of %s: %w", area, translateCtx(ctx, err))
	}
	return codes, nil
}
