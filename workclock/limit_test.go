package workclock

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustLimit(t *testing.T, s string) Limit {
	t.Helper()
	l, err := ParseLimit(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDeadline sets each unit across a weekend, a holiday and a 调休 working
// Saturday on the default calendar (08:00-12:00, 14:00-18:00). Each want is
// worked out by hand in the comment above it.
func TestDeadline(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		name, from, limit, want string
	}{
		// Weekend: Friday 7 March 2025 at 17:50, ten working minutes left that day.
		{"30m over a weekend", "2025-03-07 17:50", "30m", "2025-03-07 18:20"},
		{"4h over a weekend", "2025-03-07 17:50", "4h", "2025-03-07 21:50"},
		// 10 min on Friday, 3 h 50 min from Monday 08:00.
		{"4wh over a weekend", "2025-03-07 17:50", "4wh", "2025-03-10 11:50"},
		// 10 min on Friday; Monday 08:00-12:00, then 3 h 50 min from 14:00.
		{"1wd over a weekend", "2025-03-07 17:50", "1wd", "2025-03-10 17:50"},
		{"1d over a weekend", "2025-03-07 17:50", "1d", "2025-03-08 17:50"},
		{"2d over a weekend", "2025-03-07 17:50", "2d", "2025-03-09 17:50"},
		// 2 h on Friday, 8 h on Monday, 6 h on Tuesday (to 12:00, then 14:00-16:00).
		{"2wd over a weekend", "2025-03-07 16:00", "2wd", "2025-03-11 16:00"},

		// Holiday: Tuesday 30 September 2025 at 16:00; 1-8 October are off.
		{"30m before 国庆", "2025-09-30 16:00", "30m", "2025-09-30 16:30"},
		{"4h before 国庆", "2025-09-30 16:00", "4h", "2025-09-30 20:00"},
		// 2 h on Sep 30, 2 h from 08:00 on Thursday 9 October.
		{"4wh over 国庆", "2025-09-30 16:00", "4wh", "2025-10-09 10:00"},
		// 16 h: 2 h on Sep 30, 8 h on Oct 9, 6 h on Friday Oct 10 (4 h to noon, 2 h from 14:00).
		{"2wd over 国庆", "2025-09-30 16:00", "2wd", "2025-10-10 16:00"},
		{"3d into 国庆", "2025-09-30 16:00", "3d", "2025-10-03 16:00"},
		// Set inside the holiday: work units start on Oct 9 at 08:00.
		{"30m inside 国庆", "2025-10-03 10:00", "30m", "2025-10-03 10:30"},
		{"1wh inside 国庆", "2025-10-03 10:00", "1wh", "2025-10-09 09:00"},
		{"1wd inside 国庆", "2025-10-03 10:00", "1wd", "2025-10-09 18:00"},
		{"1d inside 国庆", "2025-10-03 10:00", "1d", "2025-10-04 10:00"},

		// 调休: Saturday 11 October 2025 is worked; Sunday 12 is off.
		{"30m before a 调休 Saturday", "2025-10-10 16:00", "30m", "2025-10-10 16:30"},
		{"4h before a 调休 Saturday", "2025-10-10 16:00", "4h", "2025-10-10 20:00"},
		// 2 h on Friday, 2 h from 08:00 on the Saturday.
		{"4wh onto a 调休 Saturday", "2025-10-10 16:00", "4wh", "2025-10-11 10:00"},
		// 2 h on Friday; Saturday 08:00-12:00, then 2 h from 14:00.
		{"1wd onto a 调休 Saturday", "2025-10-10 16:00", "1wd", "2025-10-11 16:00"},
		// 12 h: 2 h on Friday, 8 h on Saturday, Sunday off, 2 h on Monday 13th.
		{"1.5wd over a 调休 Saturday", "2025-10-10 16:00", "1.5wd", "2025-10-13 10:00"},
		{"2d over a 调休 Saturday", "2025-10-10 16:00", "2d", "2025-10-12 16:00"},
		{"1wh on a 调休 Saturday", "2025-10-11 10:00", "1wh", "2025-10-11 11:00"},
		{"1wh on an ordinary Saturday", "2025-10-18 10:00", "1wh", "2025-10-20 09:00"},

		// 1 work day from 15:00 on the Friday before 国庆 2025 (Friday 26
		// September): 3 h on Friday, Saturday off, then Sunday 28 September,
		// a 调休 working day: 08:00-12:00 and 14:00-15:00.
		{"1wd from the Friday before 国庆 2025", "2025-09-26 15:00", "1wd", "2025-09-28 15:00"},
		// From the last day before it: 3 h on Sep 30, 5 h on Oct 9.
		{"1wd from the eve of 国庆 2025", "2025-09-30 15:00", "1wd", "2025-10-09 15:00"},
		// 2026: Friday 18 September, Saturday off, Sunday 20 September worked.
		{"1wd from a Friday before 国庆 2026", "2026-09-18 15:00", "1wd", "2026-09-20 15:00"},
		// Wednesday 30 September 2026; 1-7 October off, Thursday 8th worked.
		{"1wd from the eve of 国庆 2026", "2026-09-30 15:00", "1wd", "2026-10-08 15:00"},

		// A work day set outside working hours is the next working day's 8 h.
		{"1wd set on a Saturday", "2025-03-08 10:00", "1wd", "2025-03-10 18:00"},
		// 15 min to 12:00, 15 min from 14:00.
		{"0.5wh over lunch", "2025-03-04 11:45", "0.5wh", "2025-03-04 14:15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Deadline(at(tt.from), mustLimit(t, tt.limit))
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("Deadline(%s, %s) = %s, want %s", tt.from, tt.limit, got.Format(time.DateTime), tt.want)
			}
			if got.Location() != c.Location() {
				t.Errorf("Deadline returned a time in %v, want %v", got.Location(), c.Location())
			}
		})
	}
}

// TestLeft measures the time left in each limit's own measure.
func TestLeft(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		name, deadline, now, limit string
		want                       time.Duration
	}{
		// 4wh set on 2025-09-30 at 16:00 ends on 2025-10-09 at 10:00.
		{"work hours, over 国庆", "2025-10-09 10:00", "2025-09-30 17:00", "4wh", h(3)}, // 1 h + 2 h
		{"work hours, in 国庆", "2025-10-09 10:00", "2025-10-05 12:00", "4wh", h(2)},
		{"work hours, overdue", "2025-10-09 10:00", "2025-10-09 11:00", "4wh", -h(1)},
		// 2wd set on 2025-09-30 at 16:00 ends on 2025-10-10 at 16:00.
		{"work days, at the start", "2025-10-10 16:00", "2025-09-30 16:00", "2wd", h(16)},
		// Friday 16:00-18:00, the whole 调休 Saturday 11th, Monday 08:00-08:30.
		{"work days, overdue over a 调休 weekend", "2025-10-10 16:00", "2025-10-13 08:30", "2wd", -h(10.5)},
		// An ordinary weekend: 2wd from Friday 2025-03-07 16:00 ends on
		// Tuesday 11 March at 16:00 (2 h, 8 h Monday, 6 h); on Wednesday at
		// 08:30 it is overdue by Tuesday 16:00-18:00 and 08:00-08:30.
		{"work days, overdue overnight", "2025-03-11 16:00", "2025-03-12 08:30", "2wd", -h(2.5)},
		{"work days, past only in non-working time", "2025-03-07 18:00", "2025-03-08 12:00", "1wd", 0},
		// Continuous: wall-clock time, holidays and nights included.
		{"hours", "2025-09-30 20:00", "2025-09-30 17:00", "4h", h(3)},
		{"hours, overdue overnight", "2025-09-30 20:00", "2025-10-01 08:00", "4h", -h(12)},
		{"minutes, overdue", "2025-09-30 16:30", "2025-09-30 16:45", "30m", -15 * time.Minute},
		{"days, in 国庆", "2025-10-03 16:00", "2025-10-01 16:00", "3d", h(48)},
		{"days, overdue", "2025-10-03 16:00", "2025-10-09 16:00", "3d", -h(6 * 24)},
		{"days, past only on a weekend", "2025-03-08 10:00", "2025-03-08 12:00", "1d", -h(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Left(at(tt.deadline), at(tt.now), mustLimit(t, tt.limit)); got != tt.want {
				t.Errorf("Left(%s, %s, %s) = %v, want %v", tt.deadline, tt.now, tt.limit, got, tt.want)
			}
		})
	}
}

// TestContinuousIgnoresCalendar sets the continuous units on calendars with
// different hours, zones and holidays, at night, at lunch, on a weekend and
// in a holiday: the deadline is always the start plus the wall-clock length.
func TestContinuousIgnoresCalendar(t *testing.T) {
	odd, err := ParseHours("10:00-11:00")
	if err != nil {
		t.Fatal(err)
	}
	utc, err := New(time.UTC, odd)
	if err != nil {
		t.Fatal(err)
	}
	if err := utc.Import(strings.NewReader("date,kind,name\n2025-03-04,holiday,test\n2025-03-08,workday,test\n")); err != nil {
		t.Fatal(err)
	}
	bare, err := New(shanghai, nil)
	if err != nil {
		t.Fatal(err)
	}
	lengths := map[string]time.Duration{
		"30m": 30 * time.Minute, "4h": 4 * time.Hour, "0.5h": 30 * time.Minute,
		"3d": 72 * time.Hour, "1.5d": 36 * time.Hour, "90m": 90 * time.Minute,
	}
	starts := []string{
		"2025-03-04 03:00",    // night (and a holiday on utc)
		"2025-03-04 12:40",    // lunch
		"2025-03-08 10:00",    // Saturday (worked on utc)
		"2025-10-03 10:00",    // 国庆
		"2025-09-30 17:59:59", // a second before the day's end
		"2026-02-14 08:00",    // 调休 Saturday
	}
	for _, c := range []*Calendar{DefaultCalendar(), utc, bare} {
		for s, d := range lengths {
			l := mustLimit(t, s)
			if !l.Unit.Continuous() {
				t.Fatalf("%s is not continuous", s)
			}
			for _, from := range starts {
				want := at(from).Add(d)
				got := c.Deadline(at(from), l)
				if !got.Equal(want) || got.Location() != c.Location() {
					t.Errorf("%v calendar: Deadline(%s, %s) = %s, want %s", c.Location(), from, s, got, want.In(c.Location()))
				}
				if left := c.Left(got, at(from), l); left != d {
					t.Errorf("%v calendar: Left at the start of %s from %s = %v, want %v", c.Location(), s, from, left, d)
				}
				if left := c.Left(got, got.Add(time.Hour), l); left != -time.Hour {
					t.Errorf("%v calendar: Left an hour after the deadline = %v, want -1h", c.Location(), left)
				}
			}
		}
	}
	// The same work-hour limit does depend on the calendar: from Tuesday 4
	// March 2025 at 03:00 (Shanghai; 2025-03-03 19:00 UTC), 1wh ends at 09:00
	// on the default calendar, and on utc (10:00-11:00 UTC, 4 March off) at
	// 11:00 UTC on Wednesday 5 March.
	if got, want := DefaultCalendar().Deadline(at("2025-03-04 03:00"), Limit{1, WorkHours}), at("2025-03-04 09:00"); !got.Equal(want) {
		t.Errorf("1wh on the default calendar = %s, want %s", got, want)
	}
	if got, want := utc.Deadline(at("2025-03-04 03:00"), Limit{1, WorkHours}), time.Date(2025, 3, 5, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("1wh on utc = %s, want %s", got, want)
	}
}

func TestParseLimit(t *testing.T) {
	good := []struct {
		in       string
		want     Limit
		str      string
		duration time.Duration
	}{
		{"30m", Limit{30, Minutes}, "30m", 30 * time.Minute},
		{"4h", Limit{4, Hours}, "4h", 4 * time.Hour},
		{"4wh", Limit{4, WorkHours}, "4wh", 4 * time.Hour},
		{"2wd", Limit{2, WorkDays}, "2wd", 16 * time.Hour},
		{"3d", Limit{3, Days}, "3d", 72 * time.Hour},
		{"0.5wh", Limit{0.5, WorkHours}, "0.5wh", 30 * time.Minute},
		{"1.5wd", Limit{1.5, WorkDays}, "1.5wd", 12 * time.Hour},
		{"0.25h", Limit{0.25, Hours}, "0.25h", 15 * time.Minute},
		{"04h", Limit{4, Hours}, "4h", 4 * time.Hour},
		{"2.50d", Limit{2.5, Days}, "2.5d", 60 * time.Hour},
		{"1m", Limit{1, Minutes}, "1m", time.Minute},
		// The longest: ten years of 365 days of the measure.
		{"87600h", Limit{87600, Hours}, "87600h", 87600 * time.Hour},
		{"87600wh", Limit{87600, WorkHours}, "87600wh", 87600 * time.Hour},
		{"10950wd", Limit{10950, WorkDays}, "10950wd", 87600 * time.Hour},
		{"3650d", Limit{3650, Days}, "3650d", 87600 * time.Hour},
		{"5256000m", Limit{5256000, Minutes}, "5256000m", 87600 * time.Hour},
	}
	for _, tt := range good {
		l, err := ParseLimit(tt.in)
		if err != nil {
			t.Errorf("ParseLimit(%q): %v", tt.in, err)
			continue
		}
		if l != tt.want {
			t.Errorf("ParseLimit(%q) = %#v, want %#v", tt.in, l, tt.want)
		}
		if l.String() != tt.str {
			t.Errorf("ParseLimit(%q).String() = %q, want %q", tt.in, l.String(), tt.str)
		}
		if l.Duration() != tt.duration {
			t.Errorf("ParseLimit(%q).Duration() = %v, want %v", tt.in, l.Duration(), tt.duration)
		}
		if back, err := ParseLimit(l.String()); err != nil || back != l {
			t.Errorf("ParseLimit(%q) = %v, %v: String does not read back", l.String(), back, err)
		}
	}

	bad := []struct{ in, want string }{
		{"", "empty"},
		{"h", "no amount"},
		{"wd", "no amount"},
		{" 4h", "no amount"},
		{"+4h", "no amount"},
		{"NaNh", "no amount"},
		{"Infd", "no amount"},
		{"4", "no unit"},
		{"4.5", "no unit"},
		{"4x", `unknown unit "x"`},
		{"4H", `unknown unit "H"`},
		{"4WH", `unknown unit "WH"`},
		{"4w", `unknown unit "w"`},
		{"4hh", `unknown unit "hh"`},
		{"4 h", `unknown unit " h"`},
		{"4h ", `unknown unit "h "`},
		{"1e3h", `unknown unit "e3h"`},
		{"1,5h", `unknown unit ",5h"`},
		{"4h30m", `unknown unit "h30m"`},
		{"-4h", "negative"},
		{"-0.5wd", "negative"},
		{"0h", "zero"},
		{"0.0wd", "zero"},
		{"00m", "zero"},
		{".5h", `bad amount ".5"`},
		{"5.h", `bad amount "5."`},
		{"1.2.3h", `bad amount "1.2.3"`},
		{"87601h", "longer than 87600h"},
		{"87600.5wh", "longer than 87600wh"},
		{"10951wd", "longer than 10950wd"},
		{"3651d", "longer than 3650d"},
		{"5256001m", "longer than 5256000m"},
		{strings.Repeat("9", 400) + "h", "longer than 87600h"},
		{"0.0000000000001h", "shorter than a nanosecond"},
	}
	for _, tt := range bad {
		l, err := ParseLimit(tt.in)
		if err == nil {
			t.Errorf("ParseLimit(%q) = %v, want an error", tt.in, l)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, fmt.Sprintf("time limit %q: ", tt.in)) || !strings.Contains(msg, tt.want) {
			t.Errorf("ParseLimit(%q): error %q, want one naming the input and saying %q", tt.in, msg, tt.want)
		}
	}
}

func TestUnit(t *testing.T) {
	for u, want := range map[Unit]struct {
		symbol     string
		continuous bool
	}{
		Minutes:   {"m", true},
		Hours:     {"h", true},
		WorkHours: {"wh", false},
		WorkDays:  {"wd", false},
		Days:      {"d", true},
		0:         {"Unit(0)", false},
		9:         {"Unit(9)", false},
	} {
		if u.String() != want.symbol || u.Continuous() != want.continuous {
			t.Errorf("Unit %d: %q, continuous %v; want %q, %v", u, u.String(), u.Continuous(), want.symbol, want.continuous)
		}
	}
	c := DefaultCalendar()
	for name, f := range map[string]func(){
		"Deadline": func() { c.Deadline(at("2025-03-04 10:00"), Limit{Amount: 1}) },
		"Left":     func() { c.Left(at("2025-03-04 10:00"), at("2025-03-04 09:00"), Limit{Amount: 1}) },
		"Duration": func() { Limit{1, 7}.Duration() },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "invalid unit") {
					t.Errorf("%s with no unit: recovered %v, want a panic about the invalid unit", name, r)
				}
			}()
			f()
		}()
	}
}
