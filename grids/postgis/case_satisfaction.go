package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridd/grids"
)

// RateCase implements grids.CaseRater: under the case's row lock (as a
// step takes it), the rating is stored once (case_satisfaction, migration
// 0019) and logged as a 'rate' event of the closed case, its data holding
// the rating, at the case clock's time; the case's version moves on.
func (s *Store) RateCase(ctx context.Context, id int64, req grids.SatisfactionRequest, who grids.CaseActor) (grids.Satisfaction, error) {
	if err := grids.CheckSatisfaction(req); err != nil {
		return grids.Satisfaction{}, err
	}
	comment := strings.TrimSpace(req.Comment)
	now := s.caseNow()
	var out grids.Satisfaction
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
		onBehalf, err := grids.SatisfactionAllowed(c, who)
		if err != nil {
			return err
		}
		var rated bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM case_satisfaction WHERE case_id = $1)`, id).Scan(&rated); err != nil {
			return err
		}
		if rated {
			return fmt.Errorf("%w: case %d has been rated already: a case is rated once", grids.ErrConflict, id)
		}
		var dep *string
		if c.Department != nil {
			dep = &c.Department.Code
		}
		data, _ := json.Marshal(map[string]any{"rating": req.Rating, "on_behalf": onBehalf})
		var eventID int64
		if _, err := tx.Exec(ctx, `UPDATE cases SET version = version + 1, updated = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO case_events (case_id, at, actor, role, step, from_state, to_state, department_code, note, data)
			VALUES ($1, $2, $3, $4, 'rate', 'closed', 'closed', $5, $6, $7) RETURNING id`,
			id, now, who.Name, who.Role.String(), dep, comment, data).Scan(&eventID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO case_satisfaction (case_id, rating, comment, at, actor, role, on_behalf, department_code, event_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, req.Rating, comment, now, who.Name, who.Role.String(), onBehalf, dep, eventID)
		if err != nil {
			return err
		}
		out = grids.Satisfaction{CaseID: id, Rating: req.Rating, Comment: comment, At: now, Actor: who.Name,
			Role: who.Role.String(), OnBehalf: onBehalf, EventID: eventID}
		if dep != nil {
			out.Department = *dep
		}
		return nil
	})
	if err != nil {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23505" { // two ratings at once: the second finds the first
			return out, fmt.Errorf("%w: case %d has been rated already: a case is rated once", grids.ErrConflict, id)
		}
		return out, translateStep(ctx, err)
	}
	return out, nil
}

var _ grids.CaseRater = (*Store)(nil)
