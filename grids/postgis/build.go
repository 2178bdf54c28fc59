package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridd/geo"
	"gridd/grids"
)

// coverToleranceM2 is the most a build's grids may leave uncovered, stick
// out of their community, or overlap, per community, in m².
const coverToleranceM2 = 0.01

// piece is one grid computed by a worker, before it has a code.
type piece struct {
	community  string
	ord        int
	wkb        []byte
	areaM2     float64
	narrow     bool
	perimeterM float64
	onLinesM   float64
	mismatchM2 float64
	overlapM2  float64
}

// Build implements grids.Builder. The communities are partitioned in
// parallel on req.Workers connections (each call of gridd_partition is
// independent); the results are staged, checked and written in one
// transaction on another connection, so a failure anywhere leaves the
// previous grids in force. A rebuild keeps the code of every grid whose
// geometry is unchanged (ST_Equals), retires the others and numbers the new
// grids after the highest sequence the community ever used, so codes are
// never reused; an unchanged rebuild writes nothing.
func (s *Store) Build(ctx context.Context, req grids.BuildRequest, progress func(grids.BuildProgress)) (grids.BuildReport, error) {
	start := time.Now()
	rep := grids.BuildReport{Area: req.Area.String(), TargetM2: req.Target(), DryRun: req.DryRun,
		Quality: grids.Quality{Areas: []grids.AreaQuality{}, Problems: []grids.Problem{}}}
	if err := req.Validate(); err != nil {
		return rep, err
	}
	if req.Layer != "" {
		if _, err := grids.ParseLayer(req.Layer); err != nil {
			return rep, err
		}
	}
	if req.Actor == "" {
		req.Actor = "gridd"
	}
	if req.Reason == "" {
		req.Reason = "unit grid build of " + req.Area.String()
	}
	if progress == nil {
		progress = func(grids.BuildProgress) {}
	}
	area, communities, srid, err := s.buildScope(ctx, req)
	if err != nil {
		return rep, translateCtx(ctx, err)
	}
	prog := grids.BuildProgress{CommunitiesTotal: len(communities), Stage: "partition"}
	progress(prog)
	pieces, err := s.partition(ctx, req, communities, srid, func(done, made int) {
		prog.CommunitiesDone, prog.GridsMade = done, made
		progress(prog)
	})
	if err != nil {
		return rep, translateCtx(ctx, err)
	}
	prog.Stage = "check"
	progress(prog)
	err = s.inWorkTx(ctx, func(tx pgx.Tx) error {
		if err := stageBuild(ctx, tx, communities, pieces); err != nil {
			return err
		}
		problems, err := checkBuild(ctx, tx, req.Target(), srid)
		if err != nil {
			return err
		}
		var hard []grids.Problem
		for _, p := range problems {
			if p.hard {
				hard = append(hard, p.Problem)
			} else {
				rep.Quality.Problems = append(rep.Quality.Problems, p.Problem)
			}
		}
		if len(hard) > 0 {
			return &grids.BuildError{Problems: hard}
		}
		prog.Stage = "write"
		progress(prog)
		if err := applyBuild(ctx, tx, req, &rep); err != nil {
			return err
		}
		if rep.Quality.Areas, err = buildQuality(ctx, tx, area, req.Target()); err != nil {
			return err
		}
		nameProblems(ctx, tx, rep.Quality.Problems)
		if req.DryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return rep, refusedByTrigger(err)
	}
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	prog.Stage = "done"
	progress(prog)
	return rep, nil
}

// refusedByTrigger turns a commit refused by the database's consistency
// triggers (a management grid that would lose every unit grid) into a
// conflict that carries the trigger's message.
func refusedByTrigger(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23000" {
		return fmt.Errorf("%w: %s", grids.ErrConflict, pgErr.Message)
	}
	return err
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// buildScope finds the area, its current communities and the metric CRS.
func (s *Store) buildScope(ctx context.Context, req grids.BuildRequest) (geo.Code, []string, int, error) {
	area := req.Area
	var srid int
	err := s.pool.QueryRow(ctx, `SELECT gridd_metric_srid(geom) FROM divisions WHERE code = $1 AND valid_to IS NULL`,
		area.String()).Scan(&srid)
	if err != nil {
		return area, nil, 0, fmt.Errorf("build %s: %w", area, translate(err))
	}
	rows, err := s.pool.Query(ctx, `SELECT code FROM communities
		WHERE valid_to IS NULL AND left(code, length($1)) = $1 ORDER BY code`, area.String())
	if err != nil {
		return area, nil, 0, fmt.Errorf("build %s: %w", area, err)
	}
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return area, nil, 0, fmt.Errorf("build %s: %w", area, err)
	}
	if len(codes) == 0 {
		return area, nil, 0, grids.Invalid("area", "%s has no current communities to build", area)
	}
	if req.Layer != "" && req.Lines == nil {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM lines WHERE valid_to IS NULL AND layer = $1`, req.Layer).Scan(&n); err != nil {
			return area, nil, 0, fmt.Errorf("build %s: %w", area, err)
		}
		if n == 0 {
			return area, nil, 0, grids.Invalid("layer", "no line layer %q is stored (gridd import lines --layer %s FILE)", req.Layer, req.Layer)
		}
	}
	return area, codes, srid, nil
}

// partition computes every community's grids on req.Workers connections.
func (s *Store) partition(ctx context.Context, req grids.BuildRequest, communities []string, srid int,
	done func(done, made int)) ([]piece, error) {
	workers := req.Workers
	if workers <= 0 {
		workers = 2
	}
	if workers > len(communities) {
		workers = len(communities)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan string)
	go func() {
		defer close(next)
		for _, c := range communities {
			select {
			case next <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu       sync.Mutex
		all      []piece
		firstErr error
		finished int
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := s.pool.Acquire(ctx)
			if err != nil {
				fail(fmt.Errorf("build: %w", err))
				return
			}
			defer conn.Release()
			if err := s.workBudget(ctx, conn); err != nil {
				fail(fmt.Errorf("build: %w", err))
				return
			}
			defer resetBudget(ctx, conn)
			q := query("build_partition")
			args := func(code string) []any { return []any{code, req.Target(), srid, req.Layer} }
			if req.Lines != nil {
				if err := stageLines(ctx, conn.Conn(), req.Lines); err != nil {
					fail(err)
					return
				}
				defer conn.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS build_lines`) //nolint:errcheck
				q = query("build_partition_file")
				args = func(code string) []any { return []any{code, req.Target(), srid} }
			}
			for code := range next {
				ps, err := partitionOne(ctx, conn.Conn(), q, args(code), code)
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				all = append(all, ps...)
				finished++
				done(finished, len(all))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return all, nil
}

func partitionOne(ctx context.Context, conn *pgx.Conn, q string, args []any, code string) ([]piece, error) {
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("build community %s: %w", code, err)
	}
	var ps []piece
	var p piece
	p.community = code
	_, err = pgx.ForEachRow(rows, []any{&p.ord, &p.wkb, &p.areaM2, &p.narrow, &p.perimeterM, &p.onLinesM,
		&p.mismatchM2, &p.overlapM2}, func() error {
		ps = append(ps, p)
		p.wkb = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build community %s: %w", code, err)
	}
	return ps, nil
}

// stageLines loads a build's own cutting lines into a temporary table of the
// connection's session.
func stageLines(ctx context.Context, conn *pgx.Conn, feats []grids.LineFeature) error {
	_, err := conn.Exec(ctx, `DROP TABLE IF EXISTS build_lines;
		CREATE TEMP TABLE build_lines (wkb bytea NOT NULL, geom geometry)`)
	if err != nil {
		return fmt.Errorf("stage lines: %w", err)
	}
	rows := make([][]any, len(feats))
	for i, f := range feats {
		b, err := toWKB(f.Geom)
		if err != nil {
			return fmt.Errorf("line feature %d: %w", f.Index, err)
		}
		rows[i] = []any{b}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"build_lines"}, []string{"wkb"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("stage lines: %w", err)
	}
	_, err = conn.Exec(ctx, `UPDATE build_lines SET geom = ST_GeomFromWKB(wkb, 4326);
		CREATE INDEX ON build_lines USING gist (geom); ANALYZE build_lines`)
	if err != nil {
		return fmt.Errorf("stage lines: %w", err)
	}
	return nil
}

// stageBuild loads the computed grids into temporary tables that live until
// the transaction ends.
func stageBuild(ctx context.Context, tx pgx.Tx, communities []string, pieces []piece) error {
	_, err := tx.Exec(ctx, `CREATE TEMP TABLE build_communities (code text PRIMARY KEY) ON COMMIT DROP;
		CREATE TEMP TABLE build_retired (code text, version integer, PRIMARY KEY (code, version)) ON COMMIT DROP;
		CREATE TEMP TABLE build_grids (
			community_code text NOT NULL, ord integer NOT NULL, wkb bytea NOT NULL, geom geometry,
			area_m2 double precision, narrow boolean, perimeter_m double precision, on_lines_m double precision,
			mismatch_m2 double precision, overlap_m2 double precision,
			code text, status text, PRIMARY KEY (community_code, ord)) ON COMMIT DROP`)
	if err != nil {
		return fmt.Errorf("stage build: %w", err)
	}
	crow := make([][]any, len(communities))
	for i, c := range communities {
		crow[i] = []any{c}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"build_communities"}, []string{"code"}, pgx.CopyFromRows(crow)); err != nil {
		return fmt.Errorf("stage build: %w", err)
	}
	rows := make([][]any, len(pieces))
	for i, p := range pieces {
		rows[i] = []any{p.community, p.ord, p.wkb, p.areaM2, p.narrow, p.perimeterM, p.onLinesM, p.mismatchM2, p.overlapM2}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"build_grids"},
		[]string{"community_code", "ord", "wkb", "area_m2", "narrow", "perimeter_m", "on_lines_m", "mismatch_m2", "overlap_m2"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("stage build: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE build_grids SET geom = ST_GeomFromWKB(wkb, 4326), wkb = '';
		CREATE INDEX ON build_grids USING gist (geom); ANALYZE build_grids`)
	if err != nil {
		return fmt.Errorf("stage build: %w", err)
	}
	return nil
}

type checked struct {
	grids.Problem
	hard bool
}

// checkBuild runs the guarantee checks on the staged grids.
func checkBuild(ctx context.Context, tx pgx.Tx, target float64, srid int) ([]checked, error) {
	rows, err := tx.Query(ctx, query("build_check"), target, srid, coverToleranceM2)
	if err != nil {
		return nil, fmt.Errorf("check build: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (checked, error) {
		var c checked
		var ord *int
		err := r.Scan(&c.Community, &ord, &c.Guarantee, &c.Reason, &c.hard)
		if ord != nil {
			c.Grid = fmt.Sprintf("#%d", *ord)
		}
		return c, err
	})
}

// applyBuild gives the staged grids their codes and writes them: unchanged
// grids keep their code and row, changed ones are retired, new ones are
// inserted; each write goes to the history, and each retired grid is linked
// in grid_lineage to the new grids that overlap it.
func applyBuild(ctx context.Context, tx pgx.Tx, req grids.BuildRequest, rep *grids.BuildReport) error {
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.actor', $1, true)`, req.Actor); err != nil {
		return fmt.Errorf("write grids: %w", err)
	}
	tag, err := tx.Exec(ctx, `UPDATE build_grids b SET code = g.code, status = 'unchanged'
		FROM unit_grids g
		WHERE g.valid_to IS NULL AND g.community_code = b.community_code
		  AND g.geom ~= b.geom AND ST_Equals(g.geom, b.geom)`)
	if err != nil {
		return fmt.Errorf("match unchanged grids: %w", err)
	}
	rep.Unchanged = int(tag.RowsAffected())
	tag, err = tx.Exec(ctx, `WITH retired AS (
			UPDATE unit_grids g SET valid_to = now()
			WHERE g.valid_to IS NULL
			  AND g.community_code IN (SELECT code FROM build_communities)
			  AND NOT EXISTS (SELECT 1 FROM build_grids b WHERE b.code = g.code)
			RETURNING g.code, g.area_m2, g.version, g.geom),
		kept AS (INSERT INTO build_retired SELECT code, version FROM retired)
		INSERT INTO history (actor, action, entity, code, reason, before)
		SELECT $1, 'retire', 'unit_grid', code, $2,
		       jsonb_build_object('area_m2', area_m2, 'version', version, 'geometry', ST_AsGeoJSON(geom)::jsonb)
		FROM retired`, req.Actor, req.Reason)
	if err != nil {
		return fmt.Errorf("retire changed grids: %w", translate(err))
	}
	rep.Retired = int(tag.RowsAffected())
	// New grids are numbered after the highest sequence the community has
	// ever used, current, retired or only in the history (code ranges, so
	// the code indexes answer; ':' sorts after '9').
	_, err = tx.Exec(ctx, `WITH used AS (
			SELECT left(code, 12) AS community_code, max(right(code, 3)::int) AS top
			FROM (SELECT code FROM unit_grids WHERE code >= $1 AND code < $1 || ':'
			      UNION ALL
			      SELECT code FROM history WHERE entity = 'unit_grid' AND code >= $1 AND code < $1 || ':') u
			WHERE code ~ '^[0-9]{15}$' AND left(code, 12) IN (SELECT code FROM build_communities)
			GROUP BY 1),
		numbered AS (
			SELECT b.community_code, b.ord,
			       coalesce(u.top, 0) + row_number() OVER (PARTITION BY b.community_code ORDER BY b.ord) AS seq
			FROM build_grids b LEFT JOIN used u USING (community_code)
			WHERE b.status IS NULL)
		UPDATE build_grids b SET status = 'new',
		       code = CASE WHEN n.seq <= 999 THEN b.community_code || lpad(n.seq::text, 3, '0') END
		FROM numbered n WHERE n.community_code = b.community_code AND n.ord = b.ord`, req.Area.String())
	if err != nil {
		return fmt.Errorf("number new grids: %w", err)
	}
	var full []string
	rows, err := tx.Query(ctx, `SELECT DISTINCT community_code FROM build_grids WHERE status = 'new' AND code IS NULL ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("number new grids: %w", err)
	}
	if full, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return fmt.Errorf("number new grids: %w", err)
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: communities %s have used up the 3-digit grid sequence (999 codes, never reused)",
			grids.ErrConflict, strings.Join(full, ", "))
	}
	tag, err = tx.Exec(ctx, `WITH created AS (
			INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT code, community_code, left(code, 9), left(code, 6), geom, area_m2
			FROM build_grids WHERE status = 'new' ORDER BY community_code, ord
			RETURNING code, area_m2, version, geom)
		INSERT INTO history (actor, action, entity, code, reason, after)
		SELECT $1, 'create', 'unit_grid', code, $2,
		       jsonb_build_object('area_m2', area_m2, 'version', version, 'geometry', ST_AsGeoJSON(geom)::jsonb)
		FROM created`, req.Actor, req.Reason)
	if err != nil {
		return fmt.Errorf("write new grids: %w", translate(err))
	}
	rep.Created = int(tag.RowsAffected())
	// Lineage: every retired grid version → the new grids sharing more
	// than the cover tolerance of ground with it (rebuilt edges differ from
	// the old ones by rounding, which leaves slivers of no real area). The
	// lateral join makes the plan go from each retired grid to the staged
	// grids through their GiST index.
	if rep.Retired > 0 {
		if _, err := tx.Exec(ctx, `ANALYZE build_retired`); err != nil {
			return fmt.Errorf("write lineage: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO grid_lineage (parent_code, parent_version, child_code, child_version, operation)
			SELECT p.code, p.version, c.code, c.version, 'build'
			FROM build_retired r
			JOIN unit_grids p ON p.code = r.code AND p.version = r.version
			CROSS JOIN LATERAL (SELECT b.code, b.geom FROM build_grids b WHERE b.status = 'new' AND b.geom && p.geom) b
			JOIN unit_grids c ON c.code = b.code AND c.valid_to IS NULL
			WHERE ST_Relate(p.geom, b.geom, '2********') AND ST_Area(ST_Intersection(p.geom, b.geom)::geography) > $1
			ORDER BY p.code, c.code`, coverToleranceM2)
		if err != nil {
			return fmt.Errorf("write lineage: %w", err)
		}
	}
	// The partition guard and the management-grid trigger query unit_grids
	// per community at commit; after a bulk write, fresh statistics keep
	// their plans on the community index instead of a scan of the table.
	if rep.Created+rep.Retired > 500 {
		if _, err := tx.Exec(ctx, `ANALYZE unit_grids`); err != nil {
			return fmt.Errorf("write new grids: %w", err)
		}
	}
	return nil
}

// buildQuality computes the quality report's figures from the staged grids.
func buildQuality(ctx context.Context, tx pgx.Tx, area geo.Code, target float64) ([]grids.AreaQuality, error) {
	sub := 9
	if area.Level() != geo.District {
		sub = 12
	}
	rows, err := tx.Query(ctx, query("build_quality"), area.String(), sub, target)
	if err != nil {
		return nil, fmt.Errorf("quality report: %w", err)
	}
	qs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.AreaQuality, error) {
		var q grids.AreaQuality
		err := r.Scan(&q.Code, &q.Name, &q.Grids, &q.MeanM2, &q.CV, &q.MinM2, &q.MaxM2, &q.WithinShare, &q.Compactness, &q.OnLinesShare)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("quality report: %w", err)
	}
	if area.Level() == geo.Community && len(qs) > 1 {
		qs = qs[:1]
	}
	return qs, nil
}

// nameProblems replaces a problem's build number (#ord) with the grid's code.
func nameProblems(ctx context.Context, tx pgx.Tx, ps []grids.Problem) {
	for i := range ps {
		if !strings.HasPrefix(ps[i].Grid, "#") {
			continue
		}
		var code *string
		err := tx.QueryRow(ctx, `SELECT code FROM build_grids WHERE community_code = $1 AND ord = $2::int`,
			ps[i].Community, strings.TrimPrefix(ps[i].Grid, "#")).Scan(&code)
		if err == nil && code != nil {
			ps[i].Grid = *code
		}
	}
}

var _ grids.Builder = (*Store)(nil)
