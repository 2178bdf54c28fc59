package grids

import (
	"fmt"
	"time"
)

// Photos of cases: a reporter attaches photos to a report, a department
// photos of the work done, a supervisor photos of the check. A photo is
// stored once, by the SHA-256 of its bytes, however many cases it is
// attached to; each attachment records who added it, when, and the event
// the case stood at then (the report, the dispatch a department's photos
// of the work follow, the handling a check's photos follow).

// Limits on photos (the API refuses more, naming the limit).
const (
	// MaxPhotoBytes is the largest photo taken: 8 MiB, more than a phone's
	// 12-megapixel JPEG (3-6 MB).
	MaxPhotoBytes = 8 << 20
	// MaxPhotoPixels bounds a photo's width × height (30 megapixels, e.g.
	// 6000 × 5000): every photo is decoded whole to refuse truncated or
	// corrupt files, and decoding takes memory by the pixel.
	MaxPhotoPixels = 30_000_000
	// MaxPhotosPerEvent is how many photos may hang off one event of a
	// case (the report, or the stage a department or supervisor is in):
	// 9, the most a phone's share sheet or a WeChat post takes at once.
	MaxPhotosPerEvent = 9
	// MaxPhotosPerCase is how many photos a case may have in all: 30.
	MaxPhotosPerCase = 30
)

// NewPhoto is a photo checked and read by the API (package photo): its
// bytes, the media type they are, their size in pixels and what EXIF says.
type NewPhoto struct {
	Bytes     []byte
	MediaType string
	Width     int
	Height    int
	// EXIF position (WGS-84, as camera EXIF is; see package photo) and
	// time the photo was taken, when the file carries them.
	Lon, Lat *float64
	Taken    *time.Time
}

// PhotoInfo is a photo as attached to a case.
type PhotoInfo struct {
	SHA256    string `json:"sha256"` // hex
	URL       string `json:"url"`    // where the bytes are: /v1/photos/{sha256}
	MediaType string `json:"media_type"`
	Size      int    `json:"size"` // bytes
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	// What the photo's EXIF says: where (taken as WGS-84) and when.
	EXIFLon  *float64   `json:"exif_lon,omitempty"`
	EXIFLat  *float64   `json:"exif_lat,omitempty"`
	EXIFTime *time.Time `json:"exif_time,omitempty"`
	// DistanceM is the distance in metres from the EXIF position to the
	// case's reported location; TimeFromReportS is the EXIF time minus the
	// time of the case's report, in seconds (negative: taken before the
	// report). Both absent without EXIF.
	DistanceM       *float64 `json:"distance_m,omitempty"`
	TimeFromReportS *float64 `json:"time_from_report_s,omitempty"`
	// Warnings say, in words, what a dispatcher should look at: a photo
	// taken far from the case or long before its report.
	Warnings []string `json:"warnings,omitempty"`
	// The attachment: when, by whom, and the case event it came with.
	CaseID  int64     `json:"case_id"`
	Added   time.Time `json:"added"`
	Actor   string    `json:"actor"`
	Role    string    `json:"role"`
	EventID *int64    `json:"event_id,omitempty"`
	Step    string    `json:"step,omitempty"` // the event's step: report, dispatch, handle...
	State   CaseState `json:"state"`          // the case's state when the photo came
	// New is false when the case already had this photo (nothing added).
	New bool `json:"new"`
}

// Thresholds of PhotoInfo's warnings.
const (
	// PhotoFarM: a phone's GPS is good to tens of metres, and a GCJ-02
	// position read as WGS-84 is off by a few hundred metres in Beijing;
	// beyond 1 km the photo is of another place.
	PhotoFarM = 1000.0
	// PhotoOldS: a report's photo taken more than a day before it.
	PhotoOldS = 24 * 3600.0
)

// PhotoWarnings fills p.Warnings from its distance and time.
func PhotoWarnings(p *PhotoInfo) {
	p.Warnings = nil
	if p.DistanceM != nil && *p.DistanceM > PhotoFarM {
		p.Warnings = append(p.Warnings, fmt.Sprintf("taken %.1f km from the case's location (EXIF position)", *p.DistanceM/1000))
	}
	if p.TimeFromReportS != nil && -*p.TimeFromReportS > PhotoOldS {
		p.Warnings = append(p.Warnings, fmt.Sprintf("taken %s before the case was reported (EXIF time)", roughDuration(-*p.TimeFromReportS)))
	}
}

func roughDuration(s float64) string {
	switch {
	case s >= 2*86400:
		return fmt.Sprintf("%.0f days", s/86400)
	case s >= 3600:
		return fmt.Sprintf("%.0f hours", s/3600)
	}
	return fmt.Sprintf("%.0f minutes", s/60)
}

// CasePhotoAllowed says whether who may add photos to c: a reporter,
// supervisor, dispatcher or admin to any open case; a department only to a
// case that is with it; viewers and editors never (an editor keeps the
// map, not cases). A closed or rejected case takes no more photos
// (ErrConflict).
func CasePhotoAllowed(c Case, who CaseActor) error {
	switch who.Role {
	case RoleReporter, RoleSupervisor, RoleDispatcher, RoleAdmin:
	case RoleDepartment:
		if c.Department == nil || c.Department.Code != who.Department {
			return fmt.Errorf("%w: case %d is not with department %s: a department adds photos to its own cases", ErrForbidden, c.ID, who.Department)
		}
	default:
		return fmt.Errorf("%w: adding photos to a case needs a reporter, supervisor, department, dispatcher or admin token; %s has role %s", ErrForbidden, who.Name, who.Role)
	}
	if !c.State.Open() {
		return fmt.Errorf("%w: case %d is %s: it takes no more photos", ErrConflict, c.ID, c.State)
	}
	return nil
}
