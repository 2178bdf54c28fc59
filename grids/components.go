package grids

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridd/grids/catalog"
)

// Component statuses of the standard's field list.
var ComponentStatuses = []string{"intact", "damaged", "lost", "abandoned", "removed"}

// DataSources are the standard's data sources of a component record.
var DataSources = []string{"surveyed", "topographic_map", "base_geodata", "other"}

// SnapDistanceM is how far outside every unit grid a component may lie and
// still be placed, in the nearest grid (marked snapped, with the distance):
// the lookups' default.
const SnapDistanceM = DefaultMaxSnapM

// ComponentAttrs are the fields of a component its keepers set. Empty strings
// are "not given"; dates are calendar days.
type ComponentAttrs struct {
	Name        string
	DeptCode    string // competent department, 18-character unified social credit code
	DeptName    string
	OwnerUnit   string
	MaintUnit   string
	Status      string // one of ComponentStatuses; empty means intact
	InitialDate *time.Time
	ChangeDate  *time.Time
	DataSource  string // one of DataSources; empty means surveyed
	Accuracy    string // positioning class A (±0.5 m), B (±1 m), C (±10 m) or empty
	Note        string
}

// Component is a stored urban component (城市部件). Code is the 17-digit
// code: district (6) + class (5) + sequence (6). GridCode is the unit grid
// owning the geometry's representative point (the point, or a point on the
// surface of a line or polygon), Grids every grid a line or polygon crosses.
type Component struct {
	Code          string
	LegacyCode    string
	ClassCode     string
	ClassName     string
	DistrictCode  string
	GridCode      string
	Grids         []string
	CommunityCode string
	CommunityName string
	StreetCode    string
	StreetName    string
	Snapped       bool
	SnapM         float64
	ComponentAttrs
	Geom      orb.Geometry
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ComponentFeature is one component as read from an import file or a
// request, in WGS-84, checked for what can be checked without the database.
// Code, LegacyCode and ClassCode may each be empty: the class comes from the
// class code, else from the legacy code through the crosswalk; a missing code
// is allocated.
type ComponentFeature struct {
	Index      int
	Code       string
	LegacyCode string
	ClassCode  string
	ComponentAttrs
	Geom orb.Geometry
	// Attrs are the file's properties that are not fields (nil when there
	// are none); an import stores them in the component's attrs.
	Attrs map[string]any
}

// ImportMode says what an import does with rejected features.
type ImportMode string

// The import modes.
const (
	// AllOrNothing writes nothing when any feature is rejected.
	AllOrNothing ImportMode = "all-or-nothing"
	// SkipInvalid writes the good features and reports the rejected ones.
	SkipInvalid ImportMode = "skip-invalid"
)

// ParseImportMode reads an import mode name.
func ParseImportMode(s string) (ImportMode, error) {
	switch m := ImportMode(strings.TrimSpace(s)); m {
	case AllOrNothing, SkipInvalid:
		return m, nil
	case "":
		return AllOrNothing, nil
	}
	return "", fmt.Errorf("unknown import mode %q (want all-or-nothing or skip-invalid)", s)
}

// ComponentImport says how to write a set of component features.
type ComponentImport struct {
	Mode   ImportMode
	Actor  string
	Reason string
	// OnlyNew refuses features that match a stored component (create);
	// OnlyExisting refuses features that match none (replace).
	OnlyNew, OnlyExisting bool
	// IfVersion, when positive, makes the write conditional: the import
	// is of one feature naming a stored component by its code, and it is
	// written only if that component is still at this version (else a
	// *VersionError, or ErrNotFound for a code never stored). The compare
	// and the write are one transaction, the row locked in between.
	IfVersion int
	// Rejected are features refused before they reached the store (a bad
	// date, a bad coordinate); they count like the store's own rejections.
	Rejected []Rejection
}

// ComponentQuery selects current components; empty fields do not filter.
// Results come in code order, Limit at a time after the code After.
type ComponentQuery struct {
	CodePrefix    string
	ClassCode     string
	Status        string
	GridCode      string
	CommunityCode string
	BBox          *orb.Bound
	After         string
	Limit         int
}

// ComponentPage is one page of a search. Next is the After of the next page,
// empty on the last.
type ComponentPage struct {
	Components []Component
	Next       string
}

// ComponentHistoryEntry is one recorded change of a component.
type ComponentHistoryEntry struct {
	ID     int64          `json:"id"` // to revert it by (POST /v1/history/{id}/revert)
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"`
	Action string         `json:"action"`
	Reason string         `json:"reason"`
	Before map[string]any `json:"before,omitempty"`
	After  map[string]any `json:"after,omitempty"`
}

// ComponentStore is the storage the component operations need.
type ComponentStore interface {
	// ImportComponents places, validates and writes the features in one
	// transaction. Features are matched to stored components by code, else
	// by legacy code: new ones are created with an allocated code, changed
	// ones updated, identical ones left alone, every write recorded in the
	// history. Rejected features are reported in ImportReport.Rejected; in
	// AllOrNothing mode any rejection means nothing is written and a
	// *RejectedError comes back.
	ImportComponents(ctx context.Context, feats []ComponentFeature, opt ComponentImport) (ComponentImportReport, error)
	// Component returns the current component with the code.
	Component(ctx context.Context, code string) (Component, error)
	// SearchComponents returns one page of current components.
	SearchComponents(ctx context.Context, q ComponentQuery) (ComponentPage, error)
	// RetireComponent deletes a component: it leaves every listing and its
	// code is never used again. A positive version makes it conditional, as
	// ComponentImport.IfVersion does.
	RetireComponent(ctx context.Context, code string, version int, actor, reason string) error
	// ComponentHistory lists the changes of a component, oldest first.
	ComponentHistory(ctx context.Context, code string) ([]ComponentHistoryEntry, error)
}

// ComponentImportReport is an ImportReport with the codes the import wrote,
// by feature index.
type ComponentImportReport struct {
	ImportReport
	Snapped int            `json:"snapped"`
	Codes   map[int]string `json:"-"`
}

// ClassStore is the storage of the class catalogue.
type ClassStore interface {
	// Classes lists the classes of a kind ("" for all) and major ("" for all).
	Classes(ctx context.Context, kind catalog.Kind, major string) ([]catalog.Class, error)
	// Class returns one 5-digit class of a kind.
	Class(ctx context.Context, kind catalog.Kind, code string) (catalog.Class, error)
	// LegacyClass returns one 4-digit legacy class of a kind with its
	// crosswalk.
	LegacyClass(ctx context.Context, kind catalog.Kind, code string) (catalog.LegacyClass, error)
	// AddLocalClass adds a deployment's extension class to a major, numbered
	// from the top of the major's range (999) downward, and returns it.
	AddLocalClass(ctx context.Context, kind catalog.Kind, major, name, actor string) (catalog.Class, error)
}

// CheckComponentCode checks the shape of a 17-digit component code.
func CheckComponentCode(code string) error {
	if len(code) != 17 || !allDigits(code) {
		return fmt.Errorf("component code %q must be 17 digits: district (6) + class (5) + sequence (6)", code)
	}
	if code[11:] == "000000" {
		return fmt.Errorf("component code %q: sequence 000000 is not allowed", code)
	}
	return nil
}

// CheckLegacyCode checks the shape of a 16-digit CJ/T 214 component code.
func CheckLegacyCode(code string) error {
	if len(code) != 16 || !allDigits(code) {
		return fmt.Errorf("legacy code %q must be 16 digits: district (6) + class (4) + sequence (6)", code)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CheckComponentFeature checks one feature on its own: code shapes, class
// code shape, agreement of the code's class part with the class code,
// enumerations, geometry type and range. It fills the defaults (status
// intact, source surveyed).
func CheckComponentFeature(f *ComponentFeature) error {
	if f.Code != "" {
		if err := CheckComponentCode(f.Code); err != nil {
			return err
		}
	}
	if f.LegacyCode != "" {
		if err := CheckLegacyCode(f.LegacyCode); err != nil {
			return err
		}
	}
	if f.ClassCode != "" {
		if len(f.ClassCode) != 5 || !allDigits(f.ClassCode) {
			return fmt.Errorf("class_code %q must be 5 digits (2-digit major + 3-digit minor of %s)", f.ClassCode, catalog.Standard)
		}
		if f.Code != "" && f.Code[6:11] != f.ClassCode {
			return fmt.Errorf("code %s has class part %s but class_code is %s", f.Code, f.Code[6:11], f.ClassCode)
		}
	}
	if f.Code == "" && f.ClassCode == "" && f.LegacyCode == "" {
		return fmt.Errorf("no class: give class_code (5 digits), a code or a legacy_code")
	}
	if f.Status == "" {
		f.Status = "intact"
	}
	if !oneOf(f.Status, ComponentStatuses) {
		return fmt.Errorf("status %q is not one of %s", f.Status, strings.Join(ComponentStatuses, ", "))
	}
	if f.DataSource == "" {
		f.DataSource = "surveyed"
	}
	if !oneOf(f.DataSource, DataSources) {
		return fmt.Errorf("data_source %q is not one of %s", f.DataSource, strings.Join(DataSources, ", "))
	}
	if f.Accuracy != "" && !oneOf(f.Accuracy, []string{"A", "B", "C"}) {
		return fmt.Errorf("accuracy %q is not one of A, B, C", f.Accuracy)
	}
	if f.DeptCode != "" && !validCreditCode(f.DeptCode) {
		return fmt.Errorf("dept_code %q is not an 18-character unified social credit code", f.DeptCode)
	}
	if f.InitialDate != nil && f.ChangeDate != nil && f.ChangeDate.Before(*f.InitialDate) {
		return fmt.Errorf("change_date %s is before initial_date %s", f.ChangeDate.Format(time.DateOnly), f.InitialDate.Format(time.DateOnly))
	}
	switch g := f.Geom.(type) {
	case orb.Point:
		return checkPoints([]orb.Point{g})
	case orb.LineString:
		if len(g) < 2 {
			return fmt.Errorf("a LineString needs at least 2 points")
		}
		return checkPoints(g)
	case orb.Polygon:
		return checkChinaRange(orb.MultiPolygon{g})
	case nil:
		return fmt.Errorf("geometry is missing")
	default:
		return fmt.Errorf("geometry is a %s; a component is a Point, LineString or Polygon", g.GeoJSONType())
	}
}

func checkPoints(ps []orb.Point) error {
	for _, p := range ps {
		lon, lat := p[0], p[1]
		if lon >= chinaMinLon && lon <= chinaMaxLon && lat >= chinaMinLat && lat <= chinaMaxLat {
			continue
		}
		if lat >= chinaMinLon && lat <= chinaMaxLon && lon >= chinaMinLat && lon <= chinaMaxLat {
			return fmt.Errorf("coordinate [%g, %g] is outside China; it looks like lat,lon: give lon,lat", lon, lat)
		}
		return fmt.Errorf("coordinate [%g, %g] is outside China (lon %g-%g, lat %g-%g)", lon, lat, chinaMinLon, chinaMaxLon, chinaMinLat, chinaMaxLat)
	}
	return nil
}

// validCreditCode checks the character set and length of a unified social
// credit code (GB 32100: digits and capitals without I, O, S, V, Z).
func validCreditCode(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && !strings.ContainsRune("IOSVZ", rune(c))) {
			continue
		}
		return false
	}
	return true
}

// ParseDate reads a calendar day, YYYY-MM-DD, as census files also write
// it: 2023/5/1, 20230501, 2023.5.1, 2023年5月1日, or a date and time at
// midnight as a GIS writes a date field (2023/05/01 00:00:00).
func ParseDate(s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{time.DateOnly, "2006/01/02", "20060102", "2006/1/2", "2006-1-2", "2006.1.2", "2006年1月2日",
		"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006/1/2 15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Hour()+t.Minute()+t.Second()+t.Nanosecond() != 0 {
				return nil, fmt.Errorf("date %q has a time of day; want a calendar day (YYYY-MM-DD)", s)
			}
			d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			return &d, nil
		}
	}
	return nil, fmt.Errorf("date %q is not a calendar day (want YYYY-MM-DD)", s)
}
