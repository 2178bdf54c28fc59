package workclock

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Unit is the measure of a time limit: working time on the calendar (work
// hours, work days) or wall-clock time (minutes, hours, natural days). The
// zero Unit is none of them.
type Unit uint8

const (
	// Minutes run continuously, as the clock on the wall: nights, weekends
	// and holidays included (30m, the default of verification and checks).
	Minutes Unit = 1 + iota
	// Hours run continuously (urgent cases: 4h is four hours from now,
	// whatever the time of day).
	Hours
	// WorkHours count only working time on the calendar (工作时).
	WorkHours
	// WorkDays count working time too: a work day is WorkDay (8 work
	// hours), so 1 work day set at 15:00 ends at 15:00 on the next working
	// day. It is 8 work hours whatever the calendar's hours are.
	WorkDays
	// Days are natural days: 24 hours each, continuously (3d set on Friday
	// at 15:00 ends on Monday at 15:00, holidays or not).
	Days
)

// WorkDay is the working time of one work day (DOMAIN.md: a work day is 8
// work hours), the length of the default working hours.
const WorkDay = 8 * time.Hour

// maxLimit bounds a limit's length in its own measure (ten years of 365
// days of that measure): longer limits are rejected as typing errors.
const maxLimit = 10 * 365 * 24 * time.Hour

var units = [...]struct {
	symbol string
	length time.Duration // of one unit, in the unit's measure
}{
	Minutes:   {"m", time.Minute},
	Hours:     {"h", time.Hour},
	WorkHours: {"wh", time.Hour},
	WorkDays:  {"wd", WorkDay},
	Days:      {"d", 24 * time.Hour},
}

func (u Unit) valid() bool { return u >= Minutes && u <= Days }

// String returns the unit's symbol in the limit notation: m, h, wh, wd or d.
func (u Unit) String() string {
	if !u.valid() {
		return "Unit(" + strconv.Itoa(int(u)) + ")"
	}
	return units[u].symbol
}

// Continuous reports whether the unit runs on the wall clock (minutes, hours,
// natural days) rather than on the calendar's working time (work hours, work
// days).
func (u Unit) Continuous() bool { return u == Minutes || u == Hours || u == Days }

// Limit is a time limit: an amount of a unit, as 4 work hours or 3 natural
// days. ParseLimit reads one from its notation and String writes it back.
type Limit struct {
	Amount float64
	Unit   Unit
}

// String writes the limit in the notation ParseLimit reads: 4wh, 0.5h, 2wd.
func (l Limit) String() string {
	return strconv.FormatFloat(l.Amount, 'f', -1, 64) + l.Unit.String()
}

// Duration is the limit's length in its own measure, to the nanosecond:
// working time for work units (1wd is 8h of working time), wall-clock time
// for continuous ones. It panics if the unit is not one of the constants.
func (l Limit) Duration() time.Duration {
	if !l.Unit.valid() {
		panic("workclock: time limit with invalid unit " + l.Unit.String())
	}
	f := math.Round(l.Amount * float64(units[l.Unit].length))
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(f)
}

// ParseLimit reads a time limit: a positive decimal amount followed at once
// by its unit, with no sign, exponent or space:
//
//	30m   30 minutes, continuous
//	4h    4 hours, continuous (urgent cases)
//	4wh   4 work hours, on the calendar
//	2wd   2 work days: 16 work hours on the calendar
//	3d    3 natural days, continuous (72 hours)
//	0.5wh half a work hour
//
// Units are lower case. The amount is digits, with a fractional part after a
// point if any (0.5, not .5 or 5.); a limit must not be zero nor longer than
// ten years of its measure (87600h, 3650d, 10950wd). The error names the
// input and what is wrong with it.
func ParseLimit(s string) (Limit, error) {
	fail := func(format string, args ...any) (Limit, error) {
		return Limit{}, fmt.Errorf("workclock: time limit %q: %s", s, fmt.Sprintf(format, args...))
	}
	const want = "want a positive amount and a unit, as 30m, 4h, 4wh, 2wd or 3d"
	if s == "" {
		return fail("empty: %s", want)
	}
	if s[0] == '-' {
		return fail("negative: %s", want)
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, sym := s[:i], s[i:]
	if num == "" {
		return fail("no amount: %s", want)
	}
	if !decimal(num) {
		return fail("bad amount %q: want digits, with a fractional part after one point if any (0.5)", num)
	}
	var u Unit
	for k := Minutes; k <= Days; k++ {
		if units[k].symbol == sym {
			u = k
		}
	}
	if u == 0 {
		if sym == "" {
			return fail("no unit: %s (m minutes, h hours, wh work hours, wd work days, d natural days)", want)
		}
		return fail("unknown unit %q: want m (minutes), h (hours), wh (work hours), wd (work days) or d (natural days)", sym)
	}
	amount, err := strconv.ParseFloat(num, 64)
	longest := Limit{float64(maxLimit / units[u].length), u}
	if err != nil || amount > longest.Amount {
		return fail("longer than %v, ten years of its measure", longest)
	}
	l := Limit{amount, u}
	if amount == 0 {
		return fail("zero: %s", want)
	}
	if l.Duration() == 0 {
		return fail("shorter than a nanosecond")
	}
	return l, nil
}

// decimal reports whether s is digits, optionally with one point between
// digits.
func decimal(s string) bool {
	point := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			if point >= 0 {
				return false
			}
			point = i
		}
	}
	return point != 0 && point != len(s)-1
}

// Deadline returns when a time limit set at from ends. Work hours and work
// days count working time on the calendar, as Add does (1wd is Add(from,
// 8h): set at 15:00 on a working day it ends at 15:00 on the next working
// day; set outside working hours it starts counting at the next working
// period). Minutes, hours and natural days run continuously, ignoring
// working hours, weekends and holidays: from plus the limit's duration. The
// result is in the calendar's zone. It panics if the limit's unit is not one
// of the constants (ParseLimit never returns such a limit).
func (c *Calendar) Deadline(from time.Time, l Limit) time.Time {
	d := l.Duration()
	if l.Unit.Continuous() {
		return from.Add(d).In(c.loc)
	}
	return c.Add(from, d)
}

// Left returns the time left at now until a deadline set by the limit l, in
// the limit's own measure: the working time between them (Remaining) for
// work hours and work days, the wall-clock time (deadline - now) for the
// continuous units. It is negative once the deadline is past, by the time
// overdue in that measure; for work units it is 0 while only non-working
// time has passed since the deadline, so use now.After(deadline) to tell
// whether a case is late.
func (c *Calendar) Left(deadline, now time.Time, l Limit) time.Duration {
	if !l.Unit.valid() {
		panic("workclock: time limit with invalid unit " + l.Unit.String())
	}
	if l.Unit.Continuous() {
		return deadline.Sub(now)
	}
	return c.Remaining(deadline, now)
}
