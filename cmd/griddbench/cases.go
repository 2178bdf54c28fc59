package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
)

// The cases section: reports filed as cases per second, with location and
// routing, as field apps send them (grids.Router then Store.OpenCase, on as
// many goroutines as twice the cores), against PostGIS filing the same
// reports in one statement each (the owner by ST_Covers, the territorial
// office, the report, the case and its first event).

func init() {
	sections["cases"] = section{order: 60, run: benchCases}
}

// benchFileSQL files one report at a point ($1, $2) of class 06010 in one
// statement: what PostGIS alone does for a case.
const benchFileSQL = `
WITH g AS (
    SELECT u.code, u.version, u.community_code, u.street_code, u.district_code, ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt
    FROM unit_grids u
    WHERE u.valid_to IS NULL AND ST_Covers(u.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
    ORDER BY u.code LIMIT 1),
d AS (
    SELECT dp.code FROM departments dp, g
    WHERE dp.valid_to IS NULL AND dp.territory_code IN (g.community_code, g.street_code)
    ORDER BY length(dp.territory_code) DESC LIMIT 1),
r AS (
    INSERT INTO reports (actor, input_crs, input_lon, input_lat, geom, scheme, kind, class, grid_code, grid_version,
        community_code, street_code, district_code, snapped, distance_m, map_version, department_code, decided_by, reason, result)
    SELECT 'bench', 'wgs84', $1, $2, g.pt, 'gb2026', 'matter', '06010', g.code, g.version, g.community_code, g.street_code,
        g.district_code, false, 0, 1, (SELECT code FROM d), 'territorial', 'territorial office', '{}'
    FROM g RETURNING id, geom, grid_code, community_code, street_code, district_code, department_code),
c AS (
    INSERT INTO cases (state, report_id, reporter, scheme, kind, class, geom, grid_code, community_code, street_code,
        district_code, routed_department)
    SELECT 'reported', r.id, 'bench', 'gb2026', 'matter', '06010', r.geom, r.grid_code, r.community_code, r.street_code,
        r.district_code, r.department_code FROM r RETURNING id, report_id),
cr AS (INSERT INTO case_reports (case_id, report_id) SELECT id, report_id FROM c)
INSERT INTO case_events (case_id, actor, role, step, to_state) SELECT id, 'bench', 'reporter', 'report', 'reported' FROM c`

func benchCases(ctx context.Context, b *bench) error {
	st := postgis.NewStore(b.pool)
	if err := benchDistrict(ctx, b, st); err != nil {
		return err
	}
	// A territorial office for every street, so that every report routes.
	if _, err := b.pool.Exec(ctx, `INSERT INTO departments (code, name, territory_code)
		SELECT '1211010100000' || lpad(row_number() OVER (ORDER BY code)::text, 4, '0') || 'X', name || '办事处', code
		FROM streets WHERE valid_to IS NULL`); err != nil {
		return err
	}
	rows, err := b.pool.Query(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM unit_grids WHERE valid_to IS NULL) x`)
	if err != nil {
		return err
	}
	var pts []orb.Point
	for rows.Next() {
		var p orb.Point
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return err
		}
		pts = append(pts, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	loc := grids.NewLocator(st, nil)
	if err := loc.Load(ctx); err != nil {
		return err
	}
	rt := &grids.Router{Locator: loc, Store: st, Components: st, Catalog: grids.DefaultCatalog}
	class := grids.Class{Scheme: "gb2026", Kind: grids.KindMatter, Code: "06010"}
	workers := 2 * runtime.GOMAXPROCS(0)
	dur := 3 * time.Second
	if b.quick {
		dur = time.Second
	}
	// rate runs file on workers goroutines for dur and returns cases/s.
	rate := func(file func(p orb.Point) error) (float64, error) {
		var n atomic.Int64
		var firstErr atomic.Value
		stop := time.Now().Add(dur)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
				for time.Now().Before(stop) {
					// Around a grid's inner point, within about 30 m.
					p := pts[rng.IntN(len(pts))]
					p[0] += (rng.Float64() - 0.5) * 0.0007
					p[1] += (rng.Float64() - 0.5) * 0.0005
					if err := file(p); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, err
		}
		return float64(n.Load()) / time.Since(start).Seconds(), nil
	}
	gridd := func(p orb.Point) error {
		req := grids.RouteRequest{InputCRS: geo.WGS84, Input: p, Class: class, Actor: "bench"}
		routed, err := rt.Route(ctx, req)
		if errors.Is(err, grids.ErrOutside) {
			return nil // a jittered point off the district's edge
		}
		if err != nil {
			return err
		}
		_, err = st.OpenCase(ctx, grids.NewCase{Routed: routed, Request: req, Role: grids.RoleReporter})
		return err
	}
	bare := func(p orb.Point) error {
		_, err := b.pool.Exec(ctx, benchFileSQL, p[0], p[1])
		return err
	}
	// A district's case tables are not empty: fill them for a while through
	// the same filing, then ANALYZE, so that the figures are those of a
	// running system (plans chosen on real statistics, most hot-spot cells
	// known) rather than of its first minutes.
	if _, err := rate(gridd); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	var gs, ps []float64
	for run := range b.runs {
		sides := []struct {
			fn  func(orb.Point) error
			out *[]float64
		}{{gridd, &gs}, {bare, &ps}}
		if run%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, s := range sides {
			r, err := rate(s.fn)
			if err != nil {
				return err
			}
			*s.out = append(*s.out, r)
		}
	}
	var n int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d cases filed in all, %d points, %d goroutines\n", n, len(pts), workers)
	sG, sP := statOf(gs), statOf(ps)
	b.addStats(fmt.Sprintf("cases filed with location and routing (POST /v1/cases's work: route, store the report, open the case, look for duplicates), %d goroutines", workers),
		"cases/s", sG, &sP, "the same filing in one SQL statement", fmtRate, "≥ 500 cases/s")
	return nil
}
