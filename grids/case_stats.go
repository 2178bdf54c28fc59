package grids

import (
	"context"
	"time"
)

// CaseStats are what the dashboard charts over a period [From, To): the
// cases opened each week and by major class.
type CaseStats struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Weeks: one entry per week from the Monday (China time) on or before
	// From to the last week before To, with no gaps; the first and last
	// weeks count only their days inside the period.
	Weeks []WeekCount `json:"weeks"`
	// Classes: cases opened in the period by scheme, kind and major class,
	// most first.
	Classes []MajorCount `json:"classes"`
	// Opened is the number of cases opened in the period.
	Opened int `json:"opened"`
}

// WeekCount is a week's count of cases opened.
type WeekCount struct {
	Start  time.Time `json:"start"` // Monday 00:00, China time
	Opened int       `json:"opened"`
}

// MajorCount is a major class's count of cases opened.
type MajorCount struct {
	Scheme string `json:"scheme"`
	Kind   string `json:"kind"`
	Major  string `json:"major"` // two-digit major class code
	Name   string `json:"name"`  // major class name
	Opened int    `json:"opened"`
}

// CaseStatser answers CaseStats.
type CaseStatser interface {
	CaseStats(ctx context.Context, from, to time.Time) (CaseStats, error)
}

// ChinaTime is the zone of Chinese civil dates (UTC+8, no daylight saving).
var ChinaTime = time.FixedZone("CST", 8*3600)

// WeekStart is 00:00 China time of the Monday on or before t.
func WeekStart(t time.Time) time.Time {
	t = t.In(ChinaTime)
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ChinaTime)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}
