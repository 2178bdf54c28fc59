package postgis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// AddCasePhotos attaches photos to a case, all or none, under the case's
// row lock (so steps and other uploads to the case wait, and the limits
// hold however many upload at once). Each photo hangs off the case's
// latest event. A photo is stored once by its SHA-256; attaching one the
// case already has changes nothing and answers it with New false.
func (s *Store) AddCasePhotos(ctx context.Context, caseID int64, photos []grids.NewPhoto, who grids.CaseActor) ([]grids.PhotoInfo, error) {
	if len(photos) == 0 {
		return nil, grids.Invalid("photo", "no photo sent")
	}
	var shas [][]byte
	isNew := map[string]bool{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1 FOR UPDATE`, caseID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("case %d: %w", caseID, grids.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := grids.CasePhotoAllowed(c, who); err != nil {
			return err
		}
		var eventID int64
		var step string
		if err := tx.QueryRow(ctx, `SELECT id, step FROM case_events WHERE case_id = $1 ORDER BY id DESC LIMIT 1`,
			caseID).Scan(&eventID, &step); err != nil {
			return fmt.Errorf("case %d latest event: %w", caseID, err)
		}
		var total, atEvent int
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE event_id = $2) FROM case_photos WHERE case_id = $1`,
			caseID, eventID).Scan(&total, &atEvent); err != nil {
			return err
		}
		for i, p := range photos {
			sum := sha256.Sum256(p.Bytes)
			key := string(sum[:])
			if _, seen := isNew[key]; seen {
				continue // sent twice in one upload
			}
			shas = append(shas, sum[:])
			var had bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM case_photos WHERE case_id = $1 AND sha256 = $2)`,
				caseID, sum[:]).Scan(&had); err != nil {
				return err
			}
			isNew[key] = !had
			if had {
				continue
			}
			if total >= grids.MaxPhotosPerCase {
				return fmt.Errorf("%w: case %d has %d photos, the most a case takes (%d); photo %d of this upload refused",
					grids.ErrConflict, caseID, total, grids.MaxPhotosPerCase, i+1)
			}
			if atEvent >= grids.MaxPhotosPerEvent {
				return fmt.Errorf("%w: case %d has %d photos since its %s (event %d), the most one step takes (%d); photo %d of this upload refused",
					grids.ErrConflict, caseID, atEvent, step, eventID, grids.MaxPhotosPerEvent, i+1)
			}
			// Another upload of the same bytes at the same time waits on
			// the key and then does nothing.
			if _, err := tx.Exec(ctx, `INSERT INTO photos (sha256, media_type, bytes, size, width, height, exif_lon, exif_lat, exif_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (sha256) DO NOTHING`,
				sum[:], p.MediaType, p.Bytes, len(p.Bytes), p.Width, p.Height, p.Lon, p.Lat, p.Taken); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO case_photos (case_id, sha256, event_id, state, actor, role)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				caseID, sum[:], eventID, string(c.State), who.Name, who.Role.String()); err != nil {
				return err
			}
			total++
			atEvent++
		}
		return nil
	})
	if err != nil {
		return nil, translateStep(ctx, err)
	}
	infos, err := s.casePhotos(ctx, caseID, shas)
	if err != nil {
		return nil, err
	}
	// In the order sent.
	byKey := map[string]grids.PhotoInfo{}
	for _, p := range infos {
		byKey[p.SHA256] = p
	}
	out := make([]grids.PhotoInfo, 0, len(shas))
	for _, sum := range shas {
		p := byKey[hex.EncodeToString(sum)]
		p.New = isNew[string(sum)]
		out = append(out, p)
	}
	return out, nil
}

// CasePhotos lists a case's photos in the order they were added.
func (s *Store) CasePhotos(ctx context.Context, caseID int64) ([]grids.PhotoInfo, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cases WHERE id = $1)`, caseID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("case %d: %w", caseID, translateCtx(ctx, err))
	}
	if !exists {
		return nil, fmt.Errorf("case %d: %w", caseID, grids.ErrNotFound)
	}
	return s.casePhotos(ctx, caseID, nil)
}

// casePhotos reads a case's photos (only those of shas when not nil), with
// the distance from their EXIF position to the case's location and the
// time from its report to their EXIF time.
func (s *Store) casePhotos(ctx context.Context, caseID int64, shas [][]byte) ([]grids.PhotoInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT encode(p.sha256, 'hex'), p.media_type, p.size, p.width, p.height,
			p.exif_lon, p.exif_lat, p.exif_time,
			CASE WHEN p.exif_lon IS NOT NULL THEN
				ST_Distance(ST_SetSRID(ST_MakePoint(p.exif_lon, p.exif_lat), 4326)::geography, c.geom::geography) END,
			extract(epoch FROM p.exif_time - r.at)::float8,
			cp.case_id, cp.added, cp.actor, cp.role, cp.event_id, e.step, cp.state
		FROM case_photos cp
			JOIN photos p ON p.sha256 = cp.sha256
			JOIN cases c ON c.id = cp.case_id
			JOIN reports r ON r.id = c.report_id
			LEFT JOIN case_events e ON e.id = cp.event_id
		WHERE cp.case_id = $1 AND ($2::bytea[] IS NULL OR cp.sha256 = ANY ($2))
		ORDER BY cp.id`, caseID, shas)
	if err != nil {
		return nil, fmt.Errorf("case %d photos: %w", caseID, translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.PhotoInfo, error) {
		var p grids.PhotoInfo
		var step *string
		var state string
		err := r.Scan(&p.SHA256, &p.MediaType, &p.Size, &p.Width, &p.Height, &p.EXIFLon, &p.EXIFLat, &p.EXIFTime,
			&p.DistanceM, &p.TimeFromReportS, &p.CaseID, &p.Added, &p.Actor, &p.Role, &p.EventID, &step, &state)
		if step != nil {
			p.Step = *step
		}
		p.State = grids.CaseState(state)
		p.URL = "/v1/photos/" + p.SHA256
		p.New = true
		grids.PhotoWarnings(&p)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("case %d photos: %w", caseID, translateCtx(ctx, err))
	}
	if out == nil {
		out = []grids.PhotoInfo{}
	}
	return out, nil
}

// Photo returns a photo's media type and bytes by its SHA-256 (64 hex
// digits).
func (s *Store) Photo(ctx context.Context, sha256Hex string) (string, []byte, error) {
	sum, err := hex.DecodeString(sha256Hex)
	if err != nil || len(sum) != sha256.Size {
		return "", nil, grids.Invalid("sha256", "%q is not a SHA-256 (64 hex digits)", clipHex(sha256Hex))
	}
	var mt string
	var b []byte
	err = s.pool.QueryRow(ctx, `SELECT media_type, bytes FROM photos WHERE sha256 = $1`, sum).Scan(&mt, &b)
	if err != nil {
		return "", nil, fmt.Errorf("photo %s: %w", strings.ToLower(sha256Hex), translateCtx(ctx, err))
	}
	return mt, b, nil
}

func clipHex(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
