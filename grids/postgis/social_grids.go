package postgis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
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
// one transaction: all are written, or none. The statements are set-based
// over every community at once (a district's thousand communities take a
// dozen statements, not a few per grid), so each table's change triggers
// fire once.
func (s *Store) ReplaceSocialGridsOf(ctx context.Context, plans []SocialPlan, actor, reason string) ([]SocialGridsWritten, error) {
	var out []SocialGridsWritten
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = replaceSocialGrids(ctx, tx, plans, actor, reason)
		return err
	})
	return out, err
}

// socialCurrent is a current social grid: its row, code, community and
// members (sorted, comma-separated).
type socialCurrent struct {
	id                       int64
	code, community, members string
}

func replaceSocialGrids(ctx context.Context, tx pgx.Tx, plans []SocialPlan, actor, reason string) ([]SocialGridsWritten, error) {
	out := make([]SocialGridsWritten, len(plans))
	comms := make([]string, len(plans))
	byComm := map[string]int{}
	var all []string
	for i, p := range plans {
		comm := p.Community.String()
		if _, err := geo.ParseCodeAt(comm, geo.Community); err != nil {
			return nil, fmt.Errorf("social grids: %w", err)
		}
		if j, dup := byComm[comm]; dup {
			return nil, fmt.Errorf("social grids: community %s is planned twice (plans %d and %d)", comm, j+1, i+1)
		}
		if err := p.Target.Validate(); err != nil {
			return nil, fmt.Errorf("social grids of %s: %w", comm, err)
		}
		byComm[comm], comms[i] = i, comm
		seen := map[geo.Code]int{}
		for k, g := range p.Groups {
			if len(g) == 0 {
				return nil, fmt.Errorf("social grids of %s: group %d is empty", comm, k+1)
			}
			for _, c := range g {
				if c.At(geo.Community) != p.Community {
					return nil, fmt.Errorf("social grids of %s: grid %s of group %d is not in the community", comm, c, k+1)
				}
				if j, dup := seen[c]; dup {
					return nil, fmt.Errorf("social grids of %s: grid %s is in groups %d and %d", comm, c, j+1, k+1)
				}
				seen[c] = k
				all = append(all, c.String())
			}
		}
	}
	if len(plans) == 0 {
		return out, nil
	}
	slices.Sort(all)
	// One writer per community at a time; locks taken in code order.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd social grids ' || c))
		FROM (SELECT unnest($1::text[]) c ORDER BY 1) cs`, comms); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT u.community_code, count(*), min(u.code) FROM unit_grids u
		WHERE u.community_code = ANY($1) AND u.valid_to IS NULL AND NOT (u.code = ANY($2))
		GROUP BY 1 ORDER BY 1 LIMIT 1`, comms, all)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var comm, first string
		var n int
		if err := rows.Scan(&comm, &n, &first); err != nil {
			rows.Close()
			return nil, err
		}
		rows.Close()
		return nil, fmt.Errorf("social grids of %s must cover the community: %d unit grid(s) in no group, first %s", comm, n, first)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT m FROM unnest($1::text[]) m
		WHERE NOT EXISTS (SELECT 1 FROM unit_grids u WHERE u.code = m AND u.valid_to IS NULL) ORDER BY m`, all)
	if err != nil {
		return nil, err
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		comm := missing[0][:12]
		var in []string
		for _, m := range missing {
			if m[:12] == comm {
				in = append(in, m)
			}
		}
		return nil, fmt.Errorf("social grids of %s: not current unit grids: %s", comm, strings.Join(in, ", "))
	}
	// The current social grids and their members, and every code the
	// communities' social grids have had.
	rows, err = tx.Query(ctx, `SELECT g.id, g.code, g.community_code, coalesce((SELECT string_agg(grid_code, ',' ORDER BY grid_code)
			FROM mgmt_grid_members WHERE mgmt_grid_id = g.id), '')
		FROM mgmt_grids g WHERE g.kind = 'social' AND g.community_code = ANY($1) AND g.valid_to IS NULL
		ORDER BY g.code FOR UPDATE`, comms)
	if err != nil {
		return nil, err
	}
	cur, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (socialCurrent, error) {
		var c socialCurrent
		return c, r.Scan(&c.id, &c.code, &c.community, &c.members)
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT DISTINCT code FROM mgmt_grids WHERE kind = 'social' AND community_code = ANY($1)`, comms)
	if err != nil {
		return nil, err
	}
	usedList, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range usedList {
		used[c] = true
	}
	curOf := map[string][]socialCurrent{}
	for _, c := range cur {
		curOf[c.community] = append(curOf[c.community], c)
	}
	// What each community keeps, retires and creates.
	var retireIDs []int64
	var retireCodes, retireMembers []string
	var newCodes, newComms, newNums, newMembers []string
	for i, p := range plans {
		comm := comms[i]
		byMembers := map[string]socialCurrent{}
		for _, c := range curOf[comm] {
			byMembers[c.members] = c
		}
		keep := map[int64]bool{}
		var fresh []string
		for _, g := range p.Groups {
			m := codeStrings(g)
			slices.Sort(m)
			joined := strings.Join(m, ",")
			if c, ok := byMembers[joined]; ok && !keep[c.id] {
				keep[c.id] = true
				out[i].Kept = append(out[i].Kept, c.code)
				continue
			}
			fresh = append(fresh, joined)
		}
		for _, c := range curOf[comm] {
			if !keep[c.id] {
				retireIDs, retireCodes, retireMembers = append(retireIDs, c.id), append(retireCodes, c.code), append(retireMembers, c.members)
				out[i].Retired = append(out[i].Retired, c.code)
			}
		}
		// New codes: the lowest numbers never used in the community.
		n := 0
		for _, m := range fresh {
			var code string
			for {
				n++
				if code = fmt.Sprintf("%s-S%02d", comm, n); !used[code] {
					break
				}
			}
			newCodes, newComms, newNums, newMembers = append(newCodes, code), append(newComms, comm), append(newNums, strconv.Itoa(n)), append(newMembers, m)
			out[i].Created = append(out[i].Created, code)
		}
	}
	if len(retireIDs) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE mgmt_grids SET valid_to = now() WHERE id = ANY($1)`, retireIDs); err != nil {
			return nil, fmt.Errorf("retire social grids: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before)
			SELECT $1, 'retire', 'mgmt_grid', r.code, $2, jsonb_build_object('kind', 'social', 'members', to_jsonb(string_to_array(r.members, ',')))
			FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS r(code, members, n) ORDER BY r.n`,
			actor, reason, retireCodes, retireMembers); err != nil {
			return nil, fmt.Errorf("retire social grids: history: %w", err)
		}
	}
	if len(newCodes) > 0 {
		rows, err := tx.Query(ctx, `INSERT INTO mgmt_grids (code, name, street_code, community_code, kind, geom)
			SELECT f.code, coalesce(c.name, f.comm) || '第' || f.num || '网格', left(f.comm, 9), f.comm, 'social',
			       (SELECT ST_Multi(ST_Union(u.geom)) FROM unit_grids u
			         WHERE u.code = ANY(string_to_array(f.members, ',')) AND u.valid_to IS NULL)
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS f(code, comm, num, members, n)
			LEFT JOIN communities c ON c.code = f.comm AND c.valid_to IS NULL
			ORDER BY f.n
			RETURNING id`, newCodes, newComms, newNums, newMembers)
		if err != nil {
			return nil, fmt.Errorf("create social grids: %w", translate(err))
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("create social grids: %w", translate(err))
		}
		if len(ids) != len(newCodes) {
			return nil, fmt.Errorf("create social grids: %d rows written for %d grids", len(ids), len(newCodes))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mgmt_grid_members (mgmt_grid_id, grid_code)
			SELECT t.id, unnest(string_to_array(t.members, ',')) FROM unnest($1::bigint[], $2::text[]) AS t(id, members)`,
			ids, newMembers); err != nil {
			return nil, fmt.Errorf("create social grids: members: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
			SELECT $1, 'create', 'mgmt_grid', g.code, $2,
			       jsonb_build_object('kind', 'social', 'name', g.name, 'members', to_jsonb(string_to_array(t.members, ',')),
			                          'geometry', ST_AsGeoJSON(g.geom)::jsonb)
			FROM unnest($3::bigint[], $4::text[]) WITH ORDINALITY AS t(id, members, n) JOIN mgmt_grids g ON g.id = t.id
			ORDER BY t.n`, actor, reason, ids, newMembers); err != nil {
			return nil, fmt.Errorf("create social grids: history: %w", err)
		}
	}
	return out, setSocialTargets(ctx, tx, plans, actor, reason)
}

// setSocialTargets records the target of each community's social grids,
// with history, where it differs from the stored one.
func setSocialTargets(ctx context.Context, tx pgx.Tx, plans []SocialPlan, actor, reason string) error {
	comms := make([]string, len(plans))
	hh := make([]int32, len(plans))
	res := make([]int32, len(plans))
	for i, p := range plans {
		comms[i], hh[i], res[i] = p.Community.String(), int32(p.Target.Households), int32(p.Target.Residents)
	}
	_, err := tx.Exec(ctx, `WITH t AS (
			SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) AS t(community_code, households, residents)),
		old AS (
			SELECT s.community_code, s.households, s.residents FROM social_targets s JOIN t USING (community_code) FOR UPDATE OF s),
		up AS (
			INSERT INTO social_targets AS s (community_code, households, residents) SELECT * FROM t
			ON CONFLICT (community_code) DO UPDATE SET households = EXCLUDED.households, residents = EXCLUDED.residents, set_at = now()
			WHERE (s.households, s.residents) IS DISTINCT FROM (EXCLUDED.households, EXCLUDED.residents)
			RETURNING s.community_code, s.households, s.residents)
		INSERT INTO history (actor, action, entity, code, reason, before, after)
		SELECT $4, CASE WHEN o.community_code IS NULL THEN 'create' ELSE 'update' END, 'social_target', u.community_code, $5,
		       CASE WHEN o.community_code IS NOT NULL THEN jsonb_build_object('households', o.households, 'residents', o.residents) END,
		       jsonb_build_object('households', u.households, 'residents', u.residents)
		FROM up u LEFT JOIN old o USING (community_code)
		ORDER BY u.community_code`, comms, hh, res, actor, reason)
	if err != nil {
		return fmt.Errorf("social grids: targets: %w", translate(err))
	}
	return nil
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
