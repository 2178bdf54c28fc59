package postgis

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// CreateMgmtGrid implements grids.MgmtStore. The geometry is the union of
// the members' current geometry; the database keeps it (and the members)
// consistent with later unit-grid changes (see migration 0003).
func (s *Store) CreateMgmtGrid(ctx context.Context, code, name string, members []geo.Code, actor, reason string) (grids.MgmtGrid, error) {
	code, name, members, err := grids.ParseMgmtGrid(code, name, codeStrings(members))
	if err != nil {
		return grids.MgmtGrid{}, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT m FROM unnest($1::text[]) m
			WHERE NOT EXISTS (SELECT 1 FROM unit_grids u WHERE u.code = m AND u.valid_to IS NULL) ORDER BY m`, codeStrings(members))
		if err != nil {
			return fmt.Errorf("create management grid %s: %w", code, err)
		}
		missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("create management grid %s: %w", code, err)
		}
		if len(missing) > 0 {
			return grids.Invalid("grids", "not current unit grids: %s", strings.Join(missing, ", "))
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO mgmt_grids (code, name, street_code, geom)
			SELECT $1, $2, $3, ST_Multi(ST_Union(geom)) FROM unit_grids WHERE code = ANY($4) AND valid_to IS NULL
			RETURNING id`, code, name, members[0].At(geo.Street).String(), codeStrings(members)).Scan(&id)
		if err != nil {
			return fmt.Errorf("create management grid %s: %w", code, translate(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mgmt_grid_members (mgmt_grid_id, grid_code) SELECT $1, unnest($2::text[])`,
			id, codeStrings(members)); err != nil {
			return fmt.Errorf("create management grid %s: %w", code, translate(err))
		}
		_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
			SELECT $1, 'create', 'mgmt_grid', code, $2,
			       jsonb_build_object('name', name, 'members', to_jsonb($4::text[]), 'geometry', ST_AsGeoJSON(geom)::jsonb)
			FROM mgmt_grids WHERE id = $3`, actor, reason, id, codeStrings(members))
		if err != nil {
			return fmt.Errorf("create management grid %s: history: %w", code, err)
		}
		return nil
	})
	if err != nil {
		return grids.MgmtGrid{}, err
	}
	return s.MgmtGrid(ctx, code)
}

// MgmtGrid implements grids.MgmtStore.
func (s *Store) MgmtGrid(ctx context.Context, code string) (grids.MgmtGrid, error) {
	m := grids.MgmtGrid{Code: code}
	var street string
	var wkbGeom []byte
	var members []string
	err := s.pool.QueryRow(ctx, `SELECT g.name, g.street_code, ST_AsBinary(g.geom),
			coalesce(gridd_area_m2(g.geom, gridd_metric_srid(g.geom)), 0), g.valid_from,
			coalesce((SELECT array_agg(grid_code ORDER BY grid_code) FROM mgmt_grid_members WHERE mgmt_grid_id = g.id), '{}')
		FROM mgmt_grids g WHERE g.code = $1 AND g.valid_to IS NULL`, code).
		Scan(&m.Name, &street, &wkbGeom, &m.AreaM2, &m.ValidFrom, &members)
	if err != nil {
		return m, fmt.Errorf("management grid %s: %w", code, translate(err))
	}
	m.StreetCode = geo.Code(street)
	for _, c := range members {
		m.Members = append(m.Members, geo.Code(c))
	}
	if wkbGeom != nil {
		if m.Geom, err = multiPolygon(wkbGeom); err != nil {
			return m, fmt.Errorf("management grid %s: %w", code, err)
		}
	}
	return m, nil
}

func codeStrings(cs []geo.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

var _ grids.MgmtStore = (*Store)(nil)
