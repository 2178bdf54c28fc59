package postgis

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// fitSlackM is how much a displacement may exceed the fit tolerance through
// floating point and the 1e-11 degree rounding of noding.
const fitSlackM = 1e-6

// minDivisionM2 is the smallest area a fitted division may keep.
const minDivisionM2 = 0.01

// ImportDivisionsWith implements grids.DivisionImporter: ImportDivisions
// with boundary fitting and dry runs. One transaction, all or nothing.
func (s *Store) ImportDivisionsWith(ctx context.Context, feats []grids.DivisionFeature, opt grids.DivisionImport) (grids.DivisionImportReport, error) {
	var rep grids.DivisionImportReport
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		rep = grids.DivisionImportReport{DryRun: opt.DryRun}
		if err := stageDivisions(ctx, tx, feats); err != nil {
			return err
		}
		if opt.Fit > 0 {
			// What fitting cannot repair (invalid or duplicate features, a
			// missing parent) is refused before fitting.
			if err := validateStaged(ctx, tx, math.Inf(1)); err != nil {
				return err
			}
			fit, err := fitDivisions(ctx, tx, opt.Fit)
			rep.Fit = fit
			if err != nil {
				return err
			}
		}
		if err := validateStaged(ctx, tx, overlapToleranceM2); err != nil {
			return err
		}
		for _, l := range []geo.Level{geo.District, geo.Street, geo.Community} {
			if err := applyDivisions(ctx, tx, l, opt.Actor, opt.Reason, &rep.ImportReport); err != nil {
				return err
			}
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return rep, err
}

// validateStaged runs the import's checks over the staged divisions;
// tolM2 is how far a child may stick out of its parent or overlap a sibling.
func validateStaged(ctx context.Context, tx pgx.Tx, tolM2 float64) error {
	rows, err := tx.Query(ctx, query("divisions_validate"), tolM2)
	if err != nil {
		return fmt.Errorf("validate divisions: %w", err)
	}
	rejected, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grids.Rejection])
	if err != nil {
		return fmt.Errorf("validate divisions: %w", err)
	}
	if len(rejected) > 0 {
		return &grids.RejectedError{What: "division", Rejected: rejected}
	}
	return nil
}

// fitDivisions makes the staged divisions an exact nested partition, level
// by level from the top, and refuses every feature that had to move farther
// than tol metres (see grids.DivisionImport.Fit).
func fitDivisions(ctx context.Context, tx pgx.Tx, tol float64) ([]grids.DivisionFit, error) {
	_, err := tx.Exec(ctx, `ALTER TABLE staged_divisions ADD COLUMN given geometry;
		UPDATE staged_divisions SET given = geom;
		CREATE TEMP TABLE fit_params (lvl text, parent_lvl text, srid integer, tol double precision) ON COMMIT DROP`)
	if err != nil {
		return nil, fmt.Errorf("fit divisions: %w", err)
	}
	var srid int
	err = tx.QueryRow(ctx, `SELECT gridd_metric_srid(ST_SetSRID(ST_Extent(geom)::geometry, 4326)) FROM staged_divisions`).Scan(&srid)
	if err != nil {
		return nil, fmt.Errorf("fit divisions: %w", err)
	}
	var unfilled []grids.Rejection
	levels := [][2]geo.Level{{geo.Street, geo.District}, {geo.Community, geo.Street}}
	for _, lp := range levels {
		_, err := tx.Exec(ctx, `DELETE FROM fit_params`)
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO fit_params VALUES ($1, $2, $3, $4)`, lp[0].String(), lp[1].String(), srid, tol)
		}
		if err != nil {
			return nil, fmt.Errorf("fit divisions: %w", err)
		}
		if _, err := tx.Exec(ctx, query("divisions_fit_level")); err != nil {
			return nil, fmt.Errorf("fit %ss: %w", lp[0], err)
		}
		for {
			tag, err := tx.Exec(ctx, query("divisions_fit_adopt"), srid)
			if err != nil {
				return nil, fmt.Errorf("fit %ss: gaps: %w", lp[0], err)
			}
			if tag.RowsAffected() == 0 {
				break
			}
		}
		rows, err := tx.Query(ctx, `SELECT coalesce(p.idx, (SELECT min(k.idx) FROM staged_divisions k WHERE k.parent_code = u.parent_code)),
				u.parent_code, u.m2
			FROM (SELECT parent_code, sum(gridd_area_m2(face, $1)) AS m2 FROM fit_faces WHERE owner IS NULL GROUP BY parent_code) u
			LEFT JOIN staged_divisions p ON p.code = u.parent_code
			WHERE u.m2 >= $2`, srid, minDivisionM2)
		if err != nil {
			return nil, fmt.Errorf("fit %ss: gaps: %w", lp[0], err)
		}
		var r grids.Rejection
		var m2 float64
		_, err = pgx.ForEachRow(rows, []any{&r.Index, &r.Code, &m2}, func() error {
			r.Reason = fmt.Sprintf("%.2f m² of it lies in none of its children (%s level) and touches none of them: fitting cannot fill it", m2, lp[0])
			unfilled = append(unfilled, r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("fit %ss: gaps: %w", lp[0], err)
		}
		if _, err := tx.Exec(ctx, query("divisions_fit_apply"), lp[0].String()); err != nil {
			return nil, fmt.Errorf("fit %ss: %w", lp[0], err)
		}
	}
	rows, err := tx.Query(ctx, query("divisions_fit_report"), srid)
	if err != nil {
		return nil, fmt.Errorf("fit divisions: report: %w", err)
	}
	var fits []grids.DivisionFit
	rejected := unfilled
	var f grids.DivisionFit
	var moved *float64
	_, err = pgx.ForEachRow(rows, []any{&f.Index, &f.Code, &f.Name, &f.AreaM2, &f.FitM2, &f.TakenM2, &f.GivenM2, &moved}, func() error {
		switch {
		case moved == nil || f.FitM2 < minDivisionM2:
			f.MovedM = math.Inf(1)
			rejected = append(rejected, grids.Rejection{Index: f.Index, Code: f.Code, Reason: fmt.Sprintf(
				"%s: fitting would leave %.3f m² of it (its siblings or its parent's boundary cover the rest)", f.Name, f.FitM2)})
		default:
			f.MovedM = *moved
			if f.MovedM > tol+fitSlackM {
				rejected = append(rejected, grids.Rejection{Index: f.Index, Code: f.Code, Reason: fmt.Sprintf(
					"%s: fitting it into its parent and among its siblings moves its boundary by %.2f m, more than the tolerance %s",
					f.Name, f.MovedM, grids.FormatMetres(tol))})
			}
		}
		fits = append(fits, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fit divisions: report: %w", err)
	}
	if len(rejected) > 0 {
		return fits, &grids.RejectedError{What: "division", Rejected: rejected}
	}
	return fits, nil
}

var _ grids.DivisionImporter = (*Store)(nil)
