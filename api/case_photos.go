package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"gridd/grids"
	"gridd/photo"
)

// CasePhotos keeps photos of cases (grids/postgis/case_photos.go).
type CasePhotos interface {
	// AddCasePhotos attaches photos to a case, all or none, if who may
	// (grids.CasePhotoAllowed) and the limits per event and case hold.
	AddCasePhotos(ctx context.Context, caseID int64, photos []grids.NewPhoto, who grids.CaseActor) ([]grids.PhotoInfo, error)
	// CasePhotos lists a case's photos in the order they were added.
	CasePhotos(ctx context.Context, caseID int64) ([]grids.PhotoInfo, error)
	// Photo returns a photo's media type and bytes by its SHA-256 (hex).
	Photo(ctx context.Context, sha256Hex string) (mediaType string, data []byte, err error)
}

// Photos of cases: POST /v1/cases/{id}/photos takes one photo as the body
// (Content-Type image/jpeg, image/png or image/webp) or several as
// multipart/form-data (one file per part), each checked whole (package
// photo) before any is stored; GET lists a case's photos; GET
// /v1/photos/{hash} serves a photo's bytes, which never change (the hash
// is their SHA-256): a strong ETag and Cache-Control immutable.
//
// Who may add (grids.CasePhotoAllowed): a reporter, supervisor,
// dispatcher or admin to any open case, a department only to a case that
// is with it; a closed or rejected case takes none (409). Limits
// (grids): 8 MiB and 30 megapixels a photo, 9 photos per case event, 30
// per case; a multipart upload is at most maxPhotoUpload bytes in all.
func (s *Server) mountCasePhotos(r chi.Router) {
	r.Method(http.MethodPost, "/v1/cases/{id}/photos", s.handle(s.postCasePhotos))
	r.Method(http.MethodGet, "/v1/cases/{id}/photos", s.handle(s.listCasePhotos))
	r.Method(http.MethodGet, "/v1/photos/{hash}", s.handle(s.getPhoto))
}

// maxPhotoUpload bounds a multipart upload of several photos: 32 MiB.
const maxPhotoUpload = 32 << 20

func (s *Server) postCasePhotos(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return unsupportedPhoto("Content-Type is missing: send one photo as " + photo.Types + ", or several as multipart/form-data")
	}
	var photos []grids.NewPhoto
	multi := false
	if mt, params, err := mime.ParseMediaType(ct); err == nil && mt == "multipart/form-data" {
		multi = true
		if photos, err = readPhotoParts(w, r, params["boundary"]); err != nil {
			return err
		}
	} else {
		declared, err := photo.MediaType(ct)
		if err != nil {
			return unsupportedPhoto(err.Error() + ", or several as multipart/form-data")
		}
		b, err := readBytes(w, r, grids.MaxPhotoBytes)
		if err != nil {
			return photoTooLarge(err, "")
		}
		p, err := photo.Inspect(b, declared)
		if err != nil {
			return err
		}
		photos = []grids.NewPhoto{p}
	}
	p, _ := principalOf(r)
	infos, err := s.cfg.CasePhotos.AddCasePhotos(r.Context(), id, photos,
		grids.CaseActor{Name: actor(r), Role: p.Role, Department: p.Department})
	if err != nil {
		return err
	}
	status := http.StatusOK // every photo was the case's already
	for _, in := range infos {
		if in.New {
			status = http.StatusCreated
		}
	}
	if !multi {
		w.Header().Set("Location", infos[0].URL)
		return writeJSON(w, status, infos[0])
	}
	return writeJSON(w, status, map[string]any{"photos": infos})
}

// readPhotoParts reads a multipart upload: every part is a photo, its
// Content-Type declared (a part sent as application/octet-stream or with
// none is taken as what its bytes are).
func readPhotoParts(w http.ResponseWriter, r *http.Request, boundary string) ([]grids.NewPhoto, error) {
	if boundary == "" {
		return nil, grids.Invalid("Content-Type", "multipart/form-data without a boundary")
	}
	if r.ContentLength > maxPhotoUpload {
		return nil, tooLarge(maxPhotoUpload)
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxPhotoUpload), boundary)
	var photos []grids.NewPhoto
	for n := 1; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooLarge(maxPhotoUpload)
			}
			return nil, grids.Invalid("body", "multipart part %d: %v", n, err)
		}
		name := part.FileName()
		if name == "" {
			name = part.FormName()
		}
		what := fmt.Sprintf("part %d (%q)", n, name)
		if n > grids.MaxPhotosPerEvent {
			return nil, grids.Invalid("photo", "%s: at most %d photos in one upload (and per case event)", what, grids.MaxPhotosPerEvent)
		}
		b, err := io.ReadAll(io.LimitReader(part, grids.MaxPhotoBytes+1))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooLarge(maxPhotoUpload)
			}
			return nil, grids.Invalid("body", "%s: %v", what, err)
		}
		if len(b) > grids.MaxPhotoBytes {
			return nil, photoTooLarge(tooLarge(grids.MaxPhotoBytes), what)
		}
		declared := ""
		switch pt := part.Header.Get("Content-Type"); {
		case pt == "", strings.HasPrefix(pt, "application/octet-stream"):
			if declared, _ = photo.Sniff(b); declared == "" {
				declared = "application/octet-stream"
			}
		default:
			if declared, err = photo.MediaType(pt); err != nil {
				return nil, unsupportedPhoto(what + ": " + err.Error())
			}
		}
		p, err := photo.Inspect(b, declared)
		if err != nil {
			var inv *grids.InvalidError
			if errors.As(err, &inv) {
				return nil, grids.Invalid("photo", "%s: %s", what, inv.Reason)
			}
			return nil, err
		}
		photos = append(photos, p)
	}
	if len(photos) == 0 {
		return nil, grids.Invalid("photo", "the multipart body has no part: send one file per part")
	}
	return photos, nil
}

func unsupportedPhoto(msg string) error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: msg}
}

// photoTooLarge words a 413 for photos: the limit of one photo.
func photoTooLarge(err error, what string) error {
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusRequestEntityTooLarge {
		if what != "" {
			what += " "
		}
		return &Error{Status: e.Status, Code: e.Code,
			Message: fmt.Sprintf("photo %sis larger than %s, the most a photo may be", what, byteSize(grids.MaxPhotoBytes))}
	}
	return err
}

func (s *Server) listCasePhotos(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	photos, err := s.cfg.CasePhotos.CasePhotos(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"photos": photos})
}

// getPhoto serves a photo's bytes. They never change, so the ETag is their
// hash and a cache keeps them for a year (privately: photos need a token).
func (s *Server) getPhoto(w http.ResponseWriter, r *http.Request) error {
	hash := strings.ToLower(chi.URLParam(r, "hash"))
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return grids.Invalid("hash", "%q is not a photo's SHA-256 (64 hex digits)", clip(chi.URLParam(r, "hash")))
	}
	tag := `"` + hash + `"`
	if inm := r.Header.Get("If-None-Match"); strings.TrimSpace(inm) != "*" && etagMatch(inm, tag) {
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	mt, b, err := s.cfg.CasePhotos.Photo(r.Context(), hash)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("ETag", tag)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}
