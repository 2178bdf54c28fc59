package workclock

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // Asia/Shanghai also on machines without a zoneinfo database
)

//go:embed calendars/*.csv
var embedded embed.FS

// DefaultZone is the zone of DefaultCalendar.
const DefaultZone = "Asia/Shanghai"

// Period is one stretch of working time in a working day, as offsets from
// the local midnight: Period{8 * time.Hour, 12 * time.Hour} is 08:00-12:00.
// End may be 24h (midnight at the end of the day).
type Period struct {
	Start, End time.Duration
}

func (p Period) String() string { return clockString(p.Start) + "-" + clockString(p.End) }

func clockString(d time.Duration) string {
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if s != 0 || d%time.Second != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// DefaultHours returns the default working hours, those of the domain
// (DOMAIN.md): 08:00-12:00 and 14:00-18:00, eight working hours a day (one
// WorkDay) with a lunch break.
func DefaultHours() []Period {
	return []Period{
		{8 * time.Hour, 12 * time.Hour},
		{14 * time.Hour, 18 * time.Hour},
	}
}

// ParseHours reads working hours written as "08:00-12:00,14:00-18:00"
// (HH:MM or HH:MM:SS, periods separated by commas, in increasing order).
func ParseHours(s string) ([]Period, error) {
	var ps []Period
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("workclock: working period %q: want HH:MM-HH:MM", part)
		}
		start, err := parseClock(strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("workclock: working period %q: %v", part, err)
		}
		end, err := parseClock(strings.TrimSpace(b))
		if err != nil {
			return nil, fmt.Errorf("workclock: working period %q: %v", part, err)
		}
		ps = append(ps, Period{start, end})
	}
	if err := checkHours(ps); err != nil {
		return nil, err
	}
	return ps, nil
}

func parseClock(s string) (time.Duration, error) {
	f := strings.Split(s, ":")
	if len(f) < 2 || len(f) > 3 {
		return 0, fmt.Errorf("bad time of day %q: want HH:MM or HH:MM:SS", s)
	}
	limits := []int{24, 59, 59}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil || len(x) != 2 || n < 0 || n > limits[i] {
			return 0, fmt.Errorf("bad time of day %q: want HH:MM or HH:MM:SS", s)
		}
		d += time.Duration(n) * units[i]
	}
	if d > 24*time.Hour {
		return 0, fmt.Errorf("bad time of day %q: after 24:00", s)
	}
	return d, nil
}

func checkHours(ps []Period) error {
	if len(ps) == 0 {
		return fmt.Errorf("workclock: no working periods")
	}
	for i, p := range ps {
		if p.Start < 0 || p.End > 24*time.Hour || p.Start >= p.End {
			return fmt.Errorf("workclock: working period %v: want 00:00 <= start < end <= 24:00", p)
		}
		if i > 0 && p.Start < ps[i-1].End {
			return fmt.Errorf("workclock: working period %v starts before %v ends: periods must be in order and not overlap", p, ps[i-1])
		}
	}
	return nil
}

// clock is a time of day split for time.Date.
type clock struct{ h, m, s, ns int }

func splitClock(d time.Duration) clock {
	return clock{int(d / time.Hour), int(d % time.Hour / time.Minute), int(d % time.Minute / time.Second), int(d % time.Second)}
}

// Calendar is a work clock: working hours of a working day in a time zone,
// with weekends (Saturday and Sunday), statutory holidays and adjusted
// working days (调休) loaded as data per year. Its methods are safe for
// concurrent use, Import included: a reader sees the calendar either before
// or after an import, never half of one.
type Calendar struct {
	loc    *time.Location
	hours  []Period
	clocks [][2]clock

	mu   sync.Mutex // serialises Import
	data atomic.Pointer[calData]
}

// Kind tells what a listed date is.
type Kind uint8

const (
	// Holiday is a day off (放假), whatever day of the week it is.
	Holiday Kind = 1 + iota
	// Workday is a weekend day that is a working day (调休上班).
	Workday
)

func (k Kind) String() string {
	switch k {
	case Holiday:
		return "holiday"
	case Workday:
		return "workday"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

type entry struct {
	kind Kind
	name string
	year int // the year of the calendar file that set it
	line int
}

// calData is the imported data; never changed once published.
type calData struct {
	days  map[int64]entry // by day number (days since 1970-01-01)
	years map[int]bool
}

func (d *calData) working(n int64) bool {
	if e, ok := d.days[n]; ok {
		return e.kind == Workday
	}
	wd := weekday(n)
	return wd != time.Saturday && wd != time.Sunday
}

// New returns a calendar for the zone with the working hours (nil: the
// default hours) and no holiday data: weekends apply, every weekday works
// until a year is imported.
func New(loc *time.Location, hours []Period) (*Calendar, error) {
	if loc == nil {
		return nil, fmt.Errorf("workclock: nil location")
	}
	if hours == nil {
		hours = DefaultHours()
	}
	if err := checkHours(hours); err != nil {
		return nil, err
	}
	c := &Calendar{loc: loc, hours: slices.Clone(hours)}
	for _, p := range hours {
		c.clocks = append(c.clocks, [2]clock{splitClock(p.Start), splitClock(p.End)})
	}
	c.data.Store(&calData{days: map[int64]entry{}, years: map[int]bool{}})
	return c, nil
}

// DefaultCalendar returns a new calendar in Asia/Shanghai with the default
// hours and the official calendars embedded in the package (calendars/*.csv,
// see EmbeddedYears). Each call returns a calendar of its own, so imports
// into one do not reach another.
func DefaultCalendar() *Calendar {
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil {
		panic("workclock: " + err.Error()) // cannot happen: time/tzdata is embedded
	}
	c, err := New(loc, DefaultHours())
	if err != nil {
		panic(err)
	}
	names, _ := fs.Glob(embedded, "calendars/*.csv")
	slices.Sort(names)
	for _, name := range names {
		f, err := embedded.Open(name)
		if err != nil {
			panic(err)
		}
		err = c.Import(f)
		f.Close()
		if err != nil {
			panic(fmt.Sprintf("workclock: embedded %s: %v", name, err))
		}
	}
	return c
}

// EmbeddedYears lists the years whose official calendar ships in the package.
func EmbeddedYears() []int {
	names, _ := fs.Glob(embedded, "calendars/*.csv")
	var ys []int
	for _, name := range names {
		if y, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "calendars/"), ".csv")); err == nil {
			ys = append(ys, y)
		}
	}
	slices.Sort(ys)
	return ys
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Hours returns the working periods of a working day.
func (c *Calendar) Hours() []Period { return slices.Clone(c.hours) }

// Covers reports whether a calendar file for the year has been imported.
// For a year not covered, weekends still apply but holidays are unknown:
// every weekday counts as a working day. Callers computing deadlines into
// such a year should warn that they may come out early.
func (c *Calendar) Covers(year int) bool { return c.data.Load().years[year] }

// Years lists the imported years in increasing order.
func (c *Calendar) Years() []int {
	return slices.Sorted(maps.Keys(c.data.Load().years))
}

// IsWorkingDay reports whether the day that contains t, as a date in the
// calendar's zone, is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	y, m, d := t.In(c.loc).Date()
	return c.data.Load().working(dayNumber(y, m, d))
}

// DayName returns the name given to the day containing t (in the calendar's
// zone) by an imported calendar, e.g. "国庆节", with its kind; "" and 0 for
// an ordinary day.
func (c *Calendar) DayName(t time.Time) (string, Kind) {
	y, m, d := t.In(c.loc).Date()
	e := c.data.Load().days[dayNumber(y, m, d)]
	return e.name, e.kind
}

// IsWorkingTime reports whether t lies in working hours: on a working day,
// within a period, its start included and its end excluded.
func (c *Calendar) IsWorkingTime(t time.Time) bool {
	t = t.In(c.loc)
	y, m, d := t.Date()
	if !c.data.Load().working(dayNumber(y, m, d)) {
		return false
	}
	for _, p := range c.clocks {
		s, e := c.bounds(y, m, d, p)
		if !t.Before(s) && t.Before(e) {
			return true
		}
	}
	return false
}

// bounds returns the instants a working period starts and ends on a date.
func (c *Calendar) bounds(y int, m time.Month, d int, p [2]clock) (time.Time, time.Time) {
	return time.Date(y, m, d, p[0].h, p[0].m, p[0].s, p[0].ns, c.loc),
		time.Date(y, m, d, p[1].h, p[1].m, p[1].s, p[1].ns, c.loc)
}

// WorkingTime returns the working time between two instants: how much of
// [from, to) lies in working hours. It is 0 when to is not after from.
func (c *Calendar) WorkingTime(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	from, to = from.In(c.loc), to.In(c.loc)
	data := c.data.Load()
	y, m, d := from.Date()
	n0 := dayNumber(y, m, d)
	y1, m1, d1 := to.Date()
	n1 := dayNumber(y1, m1, d1)
	var total time.Duration
	for n := n0; n <= n1; n++ {
		if n > n0 {
			y, m, d = civil(n)
		}
		if !data.working(n) {
			continue
		}
		for _, p := range c.clocks {
			s, e := c.bounds(y, m, d, p)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				total += e.Sub(s)
			}
		}
	}
	return total
}

// Add returns the instant at which d of working time has passed since from:
// the deadline of a time limit d started at from. Counting starts at from if
// it is in working hours, else at the next working period; a deadline that
// falls exactly at the end of a period stays there (12:00, 18:00), it does
// not move to the start of the next one. Exactly, Add returns the earliest
// instant x >= from with WorkingTime(from, x) == d, so Add(from, 0) == from.
//
// A negative d counts back: the latest instant x <= from with
// WorkingTime(x, from) == -d (a start that falls at the start of a period
// stays there). The result is in the calendar's zone.
func (c *Calendar) Add(from time.Time, d time.Duration) time.Time {
	from = from.In(c.loc)
	switch {
	case d == 0:
		return from
	case d < 0:
		if d == minDuration {
			d++
		}
		return c.back(from, -d)
	}
	data := c.data.Load()
	y, m, dd := from.Date()
	n := dayNumber(y, m, dd)
	for {
		if data.working(n) {
			for _, p := range c.clocks {
				s, e := c.bounds(y, m, dd, p)
				if s.Before(from) {
					s = from
				}
				avail := e.Sub(s)
				if avail <= 0 {
					continue
				}
				if d <= avail {
					return s.Add(d)
				}
				d -= avail
			}
		}
		n++
		y, m, dd = civil(n)
	}
}

const minDuration time.Duration = -1 << 63

func (c *Calendar) back(from time.Time, d time.Duration) time.Time {
	data := c.data.Load()
	y, m, dd := from.Date()
	n := dayNumber(y, m, dd)
	for {
		if data.working(n) {
			for i := len(c.clocks) - 1; i >= 0; i-- {
				s, e := c.bounds(y, m, dd, c.clocks[i])
				if e.After(from) {
					e = from
				}
				avail := e.Sub(s)
				if avail <= 0 {
					continue
				}
				if d <= avail {
					return e.Add(-d)
				}
				d -= avail
			}
		}
		n--
		y, m, dd = civil(n)
	}
}

// Remaining returns the working time left until deadline at now: positive
// before the deadline, negative (the working time overdue) after it. Both at
// the deadline and when only non-working time has passed since it (a
// deadline of Friday 18:00 seen on Saturday), it is 0: use
// now.After(deadline) to tell whether a case is late.
func (c *Calendar) Remaining(deadline, now time.Time) time.Duration {
	if now.After(deadline) {
		return -c.WorkingTime(deadline, now)
	}
	return c.WorkingTime(now, deadline)
}

// dayNumber is the number of days from 1970-01-01 to a date.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // exact: a UTC midnight
}

// civil is the date of a day number.
func civil(n int64) (int, time.Month, int) {
	return time.Unix(n*86400, 0).UTC().Date()
}

// weekday of a day number; 1970-01-01 was a Thursday.
func weekday(n int64) time.Weekday {
	return time.Weekday(((n % 7) + 7 + 4) % 7)
}
