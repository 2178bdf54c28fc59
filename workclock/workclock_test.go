package workclock

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var shanghai = mustZone(DefaultZone)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a wall time in Asia/Shanghai: at("2025-09-30 16:00").
func at(s string) time.Time {
	layout := "2006-01-02 15:04"
	if strings.Count(s, ":") == 2 {
		layout = "2006-01-02 15:04:05"
	}
	t, err := time.ParseInLocation(layout, s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func h(x float64) time.Duration { return time.Duration(x * float64(time.Hour)) }

func TestAdd(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		name string
		from string
		d    time.Duration
		want string
	}{
		{"within a morning", "2025-03-04 09:00", h(2), "2025-03-04 11:00"},
		{"lunch break crossed", "2025-03-04 11:00", h(2), "2025-03-04 15:00"},
		{"one second before lunch plus two seconds", "2025-03-04 11:59:59", 2 * time.Second, "2025-03-04 14:00:01"},
		{"deadline at noon stays at noon", "2025-03-04 11:00", h(1), "2025-03-04 12:00"},
		{"deadline at day end stays at 18:00", "2025-03-04 17:00", h(1), "2025-03-04 18:00"},
		{"whole working day", "2025-03-04 08:00", h(8), "2025-03-04 18:00"},
		{"start in lunch break", "2025-03-04 12:40", h(1), "2025-03-04 15:00"},
		{"start before work", "2025-03-04 07:15", h(1), "2025-03-04 09:00"},
		{"start after work", "2025-03-04 20:00", h(1), "2025-03-05 09:00"},
		{"start at 18:00 exactly", "2025-03-04 18:00", h(0.5), "2025-03-05 08:30"},
		// 2 h on Friday (16:00-18:00), 1 h on Monday from 08:00.
		{"Friday afternoon to Monday", "2025-03-07 16:00", h(3), "2025-03-10 09:00"},
		{"start on a Saturday", "2025-03-08 10:00", h(1), "2025-03-10 09:00"},
		{"zero is the start itself", "2025-03-08 10:00", 0, "2025-03-08 10:00"},
		// 国庆 2025: Oct 1-8 off, Oct 9 is a Thursday. 2 h on Sep 30, 2 h on Oct 9.
		{"国庆 2025 holiday week", "2025-09-30 16:00", h(4), "2025-10-09 10:00"},
		{"start inside 国庆", "2025-10-03 10:00", h(1), "2025-10-09 09:00"},
		// 2 h on Friday Oct 10, 2 h on Saturday Oct 11 from 08:00.
		{"调休 Saturday Oct 11 is worked", "2025-10-10 16:00", h(4), "2025-10-11 10:00"},
		// From 17:30 (not 17:00, whose hour ends at 18:00 the same day):
		// half an hour on the day, half an hour on the next working day.
		{"调休 Sunday Sep 28 is worked", "2025-09-26 17:30", h(1), "2025-09-28 08:30"},
		{"调休 Saturday then the Monday", "2025-10-11 17:30", h(1), "2025-10-13 08:30"},
		{"春节 2025 eve to Feb 5", "2025-01-27 17:30", h(1), "2025-02-05 08:30"},
		{"调休 Sunday Jan 26 before 春节", "2025-01-24 17:30", h(1), "2025-01-26 08:30"},
		{"劳动节 2025", "2025-04-30 17:30", h(1), "2025-05-06 08:30"},
		// 元旦 2026: Jan 1-3 off (Thu-Sat), Jan 4 (Sun) worked: 2 h on Dec 31,
		// then 4 h in the morning and 2 h from 14:00 on Jan 4.
		{"across the year end", "2025-12-31 16:00", h(8), "2026-01-04 16:00"},
		{"春节 2026 nine days", "2026-02-13 17:30", h(1), "2026-02-14 08:30"},
		{"after 春节 2026", "2026-02-14 17:30", h(1), "2026-02-24 08:30"},
		// Back half an hour to 14:00, half an hour before 12:00.
		{"counting back over lunch", "2025-03-04 14:30", -h(1), "2025-03-04 11:30"},
		// Back 2 h to Monday 08:00, 1 h before Friday 18:00.
		{"counting back to Friday", "2025-03-10 10:00", -h(3), "2025-03-07 17:00"},
		{"counting back stays at a period start", "2025-03-04 15:00", -h(1), "2025-03-04 14:00"},
		{"counting back over 国庆", "2025-10-09 10:00", -h(3), "2025-09-30 17:00"},
		// 2030 has no calendar: weekends only, 1 Jan 2030 (a Tuesday) counts as worked.
		{"year with no calendar", "2030-01-01 09:00", h(1), "2030-01-01 10:00"},
		// March 2025 has no holiday: four weeks of five 8 h days from Monday 3 March.
		{"one long limit", "2025-03-03 08:00", h(8 * 5 * 4), "2025-03-28 18:00"},
		// 5 h 42 min 37 s on 4 March (to 12:00, then 14:00-18:00), leaving 994 h
		// 17 min 23 s: 124 full days and 2 h 17 min 23 s. Working days after 4
		// March: March 19, April 22 (22 weekdays, 清明 Fri 4th off, Sun 27th
		// worked), May 19 (22 weekdays less 1, 2, 5 May), June 20 (端午 Mon
		// 2nd off), July 23, August 21: 124 with Friday 29 August. The next
		// working day is Monday 1 September.
		{"a thousand hours", "2025-03-04 10:17:23", h(1000), "2025-09-01 10:17:23"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Add(at(tt.from), tt.d)
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("Add(%s, %v) = %s, want %s", tt.from, tt.d, got.Format(time.DateTime), tt.want)
			}
			if got.Location().String() != DefaultZone {
				t.Errorf("Add returned a time in %v, want %v", got.Location(), shanghai)
			}
		})
	}
}

func TestAddOtherZoneInput(t *testing.T) {
	c := DefaultCalendar()
	// 01:00 UTC is 09:00 in Shanghai.
	got := c.Add(time.Date(2025, 3, 4, 1, 0, 0, 0, time.UTC), h(1))
	if want := at("2025-03-04 10:00"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	// 2025-09-30 23:30 UTC is Oct 1 07:30 in Shanghai, a holiday.
	if c.IsWorkingDay(time.Date(2025, 9, 30, 23, 30, 0, 0, time.UTC)) {
		t.Error("2025-09-30 23:30 UTC is Oct 1 in Shanghai, a holiday")
	}
}

func TestWorkingTime(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		name     string
		from, to string
		want     time.Duration
	}{
		{"empty", "2025-03-04 10:00", "2025-03-04 10:00", 0},
		{"backwards", "2025-03-04 11:00", "2025-03-04 10:00", 0},
		{"within a period", "2025-03-04 10:00", "2025-03-04 11:15", h(1.25)},
		{"over lunch", "2025-03-04 11:00", "2025-03-04 14:30", h(1.5)},
		{"over lunch to its end", "2025-03-04 11:00", "2025-03-04 14:00", h(1)},
		{"seconds around lunch", "2025-03-04 11:59:59", "2025-03-04 14:00:01", 2 * time.Second},
		{"inside lunch", "2025-03-04 12:05", "2025-03-04 13:55", 0},
		{"a whole day", "2025-03-04 00:00", "2025-03-05 00:00", h(8)},
		// 2 h on Friday, 08:00-10:30 on Monday.
		{"Friday afternoon to Monday", "2025-03-07 16:00", "2025-03-10 10:30", h(4.5)},
		{"weekend only", "2025-03-08 00:00", "2025-03-10 00:00", 0},
		// 2 h on Sep 30, 08:00-11:30 on Oct 9.
		{"国庆 week", "2025-09-30 16:00", "2025-10-09 11:30", h(5.5)},
		{"inside 国庆", "2025-10-01 00:00", "2025-10-09 00:00", 0},
		{"调休 Saturday", "2025-10-11 00:00", "2025-10-12 00:00", h(8)},
		// 2 h on Dec 31; Jan 4: 4 h to noon, 3 h from 14:00.
		{"year end", "2025-12-31 16:00", "2026-01-04 17:00", h(9)},
		// 2025 has 248 working days (see TestEmbeddedWorkingDays) of 8 h.
		{"the whole of 2025", "2025-01-01 00:00", "2026-01-01 00:00", 248 * h(8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.WorkingTime(at(tt.from), at(tt.to)); got != tt.want {
				t.Errorf("WorkingTime(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestRemaining(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		name          string
		deadline, now string
		want          time.Duration
	}{
		{"before, same morning", "2025-03-04 11:00", "2025-03-04 10:00", h(1)},
		// 2 h on Friday, 2.5 h on Monday.
		{"before, over the weekend", "2025-03-10 10:30", "2025-03-07 16:00", h(4.5)},
		{"at the deadline", "2025-03-04 11:00", "2025-03-04 11:00", 0},
		{"overdue over lunch", "2025-03-04 11:30", "2025-03-04 14:30", -h(1)},
		// 17:00-18:00 on Friday, 08:00-10:00 on Monday.
		{"overdue over the weekend", "2025-03-07 17:00", "2025-03-10 10:00", -h(3)},
		// 17:00-18:00 on Sep 30, 08:00-09:45 on Oct 9.
		{"overdue across 国庆", "2025-09-30 17:00", "2025-10-09 09:45", -h(2.75)},
		{"past it, but only in non-working time", "2025-03-07 18:00", "2025-03-08 12:00", 0},
		{"past it by the last half hour of Friday", "2025-03-07 17:30", "2025-03-08 12:00", -h(0.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Remaining(at(tt.deadline), at(tt.now)); got != tt.want {
				t.Errorf("Remaining(%s, %s) = %v, want %v", tt.deadline, tt.now, got, tt.want)
			}
		})
	}
}

func TestIsWorkingDay(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		date string
		want bool
		name string
	}{
		{"2025-03-04", true, ""},
		{"2025-03-08", false, ""},   // Saturday
		{"2025-01-01", false, "元旦"}, // Wednesday
		{"2025-01-26", true, "春节"},  // Sunday, 调休
		{"2025-02-04", false, "春节"}, // Tuesday
		{"2025-02-08", true, "春节"},  // Saturday, 调休
		{"2025-04-27", true, "劳动节"}, // Sunday, 调休
		{"2025-05-05", false, "劳动节"},
		{"2025-06-02", false, "端午节"},
		{"2025-09-28", true, "国庆节、中秋节"},
		{"2025-10-08", false, "国庆节、中秋节"},
		{"2025-10-09", true, ""},
		{"2025-10-11", true, "国庆节、中秋节"},
		{"2025-10-12", false, ""},
		{"2026-01-02", false, "元旦"},
		{"2026-01-04", true, "元旦"},
		{"2026-02-23", false, "春节"},
		{"2026-02-28", true, "春节"},
		{"2026-05-09", true, "劳动节"},
		{"2026-06-19", false, "端午节"},
		{"2026-09-20", true, "国庆节"},
		{"2026-09-25", false, "中秋节"},
		{"2026-10-07", false, "国庆节"},
		{"2026-10-10", true, "国庆节"},
		{"2030-01-01", true, ""}, // no 2030 calendar: weekdays work
	}
	for _, tt := range tests {
		d := at(tt.date + " 12:00")
		if got := c.IsWorkingDay(d); got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.date, got, tt.want)
		}
		if name, _ := c.DayName(d); name != tt.name {
			t.Errorf("DayName(%s) = %q, want %q", tt.date, name, tt.name)
		}
	}
}

func TestIsWorkingTime(t *testing.T) {
	c := DefaultCalendar()
	for s, want := range map[string]bool{
		"2025-03-04 07:59:59": false,
		"2025-03-04 08:00":    true,
		"2025-03-04 11:59:59": true,
		"2025-03-04 12:00":    false,
		"2025-03-04 13:30":    false,
		"2025-03-04 13:59:59": false,
		"2025-03-04 14:00":    true,
		"2025-03-04 17:30":    true,
		"2025-03-04 17:59:59": true,
		"2025-03-04 18:00":    false,
		"2025-03-08 10:00":    false, // Saturday
		"2025-10-11 10:00":    true,  // 调休 Saturday
		"2025-10-02 10:00":    false, // 国庆
	} {
		if got := c.IsWorkingTime(at(s)); got != want {
			t.Errorf("IsWorkingTime(%s) = %v, want %v", s, got, want)
		}
	}
}

// TestEmbeddedWorkingDays counts each shipped year's working days against a
// count worked out by hand from the notice: 261 weekdays in each of 2025 and
// 2026, less the holidays on weekdays (18 in 2025, 19 in 2026), plus the 调休
// workdays (5 in 2025, 6 in 2026).
func TestEmbeddedWorkingDays(t *testing.T) {
	want := map[int]int{2025: 248, 2026: 248}
	c := DefaultCalendar()
	years := EmbeddedYears()
	if len(years) != len(want) {
		t.Fatalf("embedded years %v, want the years of %v", years, want)
	}
	for _, y := range years {
		if !c.Covers(y) {
			t.Errorf("Covers(%d) = false for an embedded year", y)
		}
		n := 0
		for d := time.Date(y, 1, 1, 12, 0, 0, 0, shanghai); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if c.IsWorkingDay(d) {
				n++
			}
		}
		if n != want[y] {
			t.Errorf("%d has %d working days, want %d", y, n, want[y])
		}
	}
	if c.Covers(2024) || c.Covers(2030) {
		t.Error("Covers is true for a year that was not loaded")
	}
}

// TestDefaultHours pins the default hours to the domain's (DOMAIN.md):
// 08:00-12:00 and 14:00-18:00, 8 hours, one WorkDay.
func TestDefaultHours(t *testing.T) {
	want := []Period{{8 * time.Hour, 12 * time.Hour}, {14 * time.Hour, 18 * time.Hour}}
	for _, got := range [][]Period{DefaultHours(), DefaultCalendar().Hours()} {
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("default hours %v, want %v", got, want)
		}
	}
	c, err := New(shanghai, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Hours(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("New(loc, nil) hours %v, want %v", got, want)
	}
	if WorkDay != 8*time.Hour {
		t.Errorf("WorkDay = %v, want 8h", WorkDay)
	}
}

// TestCustomHoursAndZone runs a calendar with other hours than the default
// (09:00-12:00 and 13:30-17:30, 7 h a day) in UTC.
func TestCustomHoursAndZone(t *testing.T) {
	hours, err := ParseHours("09:00-12:00, 13:30-17:30")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(time.UTC, hours)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2025, 10, 1, 17, 0, 0, 0, time.UTC) // Wednesday; no holidays loaded
	// Half an hour to 17:30, then 1.5 h from 09:00.
	if got, want := c.Add(from, h(2)), time.Date(2025, 10, 2, 10, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Add = %s, want %s", got, want)
	}
	// 12:40 is in this calendar's lunch break: counting starts at 13:30.
	if got, want := c.Add(time.Date(2025, 10, 2, 12, 40, 0, 0, time.UTC), h(1)), time.Date(2025, 10, 2, 14, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Add from lunch = %s, want %s", got, want)
	}
	// Wed 0.5 h, Thu, Fri, Mon, Tue 7 h each, Wed 09:00-17:00 6.5 h.
	if got := c.WorkingTime(from, from.AddDate(0, 0, 7)); got != 5*h(7) {
		t.Errorf("a week holds %v of working time, want 35h", got)
	}
	// A work day is 8 work hours on any calendar: 7 h on Wednesday 2 Oct
	// from 09:00, then 09:00-10:00 on Thursday.
	if got, want := c.Deadline(time.Date(2025, 10, 1, 9, 0, 0, 0, time.UTC), Limit{1, WorkDays}), time.Date(2025, 10, 2, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("1wd on 7 h days = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "09:00", "12:00-09:00", "09:00-12:00,11:00-13:00", "9:00-12:00", "09:60-12:00", "09:00-24:01"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) took bad hours", bad)
		}
	}
	if _, err := New(time.UTC, []Period{}); err == nil {
		t.Error("New took no working periods")
	}
}

// TestInverse checks on random instants, with a fixed seed, that Add and
// WorkingTime undo each other, forwards and backwards, over covered years and
// the uncovered years around them.
func TestInverse(t *testing.T) {
	c := DefaultCalendar()
	rng := rand.New(rand.NewPCG(20251001, 1))
	lo := time.Date(2024, 6, 1, 0, 0, 0, 0, shanghai)
	hi := time.Date(2027, 6, 1, 0, 0, 0, 0, shanghai)
	random := func() time.Time {
		return lo.Add(time.Duration(rng.Int64N(int64(hi.Sub(lo)))))
	}
	randomDuration := func() time.Duration {
		switch rng.IntN(3) {
		case 0: // whole minutes
			return time.Duration(rng.Int64N(600*60)) * time.Minute
		case 1: // seconds
			return time.Duration(rng.Int64N(int64(h(50)/time.Second))) * time.Second
		}
		return time.Duration(rng.Int64N(int64(h(2000))))
	}
	for i := 0; i < 3000; i++ {
		from, d := random(), randomDuration()
		to := c.Add(from, d)
		if got := c.WorkingTime(from, to); got != d {
			t.Fatalf("WorkingTime(%s, Add(.., %v) = %s) = %v", from, d, to, got)
		}
		if to.Before(from) {
			t.Fatalf("Add(%s, %v) = %s is before the start", from, d, to)
		}
		back := c.Add(from, -d)
		if got := c.WorkingTime(back, from); got != d {
			t.Fatalf("WorkingTime(Add(%s, -%v) = %s, ..) = %v", from, d, back, got)
		}
		if rem := c.Remaining(to, from); rem != d {
			t.Fatalf("Remaining(%s, %s) = %v, want %v", to, from, rem, d)
		}
		if rem := c.Remaining(from, to); rem != -d {
			t.Fatalf("Remaining(%s, %s) = %v, want %v", from, to, rem, -d)
		}
	}
	checked := 0
	for checked < 3000 {
		a, b := random(), random()
		if b.Before(a) {
			a, b = b, a
		}
		// b inside working hours, and not the first instant of a period
		if !b.After(a) || !c.IsWorkingTime(b) || !c.IsWorkingTime(b.Add(-1)) {
			continue
		}
		checked++
		w := c.WorkingTime(a, b)
		if got := c.Add(a, w); !got.Equal(b) {
			t.Fatalf("Add(%s, WorkingTime(.., %s) = %v) = %s", a, b, w, got)
		}
		if got := c.Add(b, -w); c.WorkingTime(got, b) != w || got.After(a) && c.WorkingTime(a, got) != 0 {
			t.Fatalf("Add(%s, -%v) = %s, not back to %s", b, w, got, a)
		}
	}
}

func TestImportReplacesAYear(t *testing.T) {
	c := DefaultCalendar()
	// A made-up 2025 with one holiday: 国庆 2025 days become ordinary weekdays.
	if err := c.Import(strings.NewReader("date,kind,name\n2025-03-04,holiday,test\n")); err != nil {
		t.Fatal(err)
	}
	if !c.IsWorkingDay(at("2025-10-08 10:00")) || c.IsWorkingDay(at("2025-10-11 10:00")) {
		t.Error("the replaced 2025 calendar still shows its 国庆 days")
	}
	if c.IsWorkingDay(at("2025-03-04 10:00")) {
		t.Error("the new 2025 calendar's holiday is not a holiday")
	}
	if c.IsWorkingDay(at("2026-01-01 10:00")) {
		t.Error("replacing 2025 dropped 2026")
	}
	// Another DefaultCalendar is not touched.
	if DefaultCalendar().IsWorkingDay(at("2025-10-08 10:00")) {
		t.Error("an import reached another calendar")
	}
}

// TestYearEndImported is the year end on an imported calendar alone: a
// made-up 2028 file whose 元旦 starts on 2027-12-31 (as the 2023 notice did
// for 2022-12-31).
func TestYearEndImported(t *testing.T) {
	c, err := New(shanghai, nil)
	if err != nil {
		t.Fatal(err)
	}
	const y2028 = `# test calendar
date,kind,name
2027-12-31,holiday,元旦
2028-01-01,holiday,元旦
2028-01-02,holiday,元旦
`
	if err := c.Import(strings.NewReader(y2028)); err != nil {
		t.Fatal(err)
	}
	if !c.Covers(2028) || c.Covers(2027) {
		t.Errorf("Years() = %v, want [2028]", c.Years())
	}
	// Thu 2027-12-30 16:00: 2 h; Fri Dec 31 and Sat-Sun Jan 1-2 off; Mon Jan 3
	// 6 h: 08:00-12:00 and 14:00-16:00.
	if got, want := c.Add(at("2027-12-30 16:00"), h(8)), at("2028-01-03 16:00"); !got.Equal(want) {
		t.Errorf("Add over the year end = %s, want %s", got, want)
	}
	// A 2027 file that sets 2027-12-31 too conflicts with the 2028 one.
	err = c.Import(strings.NewReader("date,kind,name\n2027-10-01,holiday,国庆节\n2027-12-31,holiday,x\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3: 2027-12-31 is already set") {
		t.Errorf("conflicting import: err = %v", err)
	}
	if c.Covers(2027) {
		t.Error("a failed import changed the calendar")
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"empty", "", "line 1: empty calendar"},
		{"comments only", "# nothing\n", "line 1: empty calendar"},
		{"no header", "2025-01-01,holiday,元旦\n", "line 1: want the header line date,kind,name first"},
		{"header only", "date,kind,name\n", "line 1: no dates after the header"},
		{"bad date", "date,kind,name\n2025-01-01,holiday,元旦\n2025/10/01,holiday,国庆节\n", `line 3: bad date "2025/10/01"`},
		{"impossible date", "date,kind,name\n2025-02-30,holiday,x\n", `line 2: bad date "2025-02-30"`},
		{"unknown kind", "# c\ndate,kind,name\n2025-01-01,holday,元旦\n", `line 3: unknown kind "holday"`},
		{"date twice", "date,kind,name\n2025-10-01,holiday,国庆节\n2025-10-02,holiday,国庆节\n2025-10-01,holiday,国庆节\n", "line 4: 2025-10-01 given twice (first on line 2)"},
		{"workday on a weekday", "date,kind,name\n2025-09-29,workday,国庆节\n", "line 2: workday 2025-09-29 is a Monday, not a weekend day"},
		{"field count", "date,kind,name\n2025-01-01,holiday\n", "line 2: want 3 fields"},
		{"two years", "date,kind,name\n2025-10-01,holiday,a\n2026-10-01,holiday,b\n", "line 2: 2025-10-01 is outside the calendar's year 2026"},
		{"bad quoting", "date,kind,name\n2025-01-01,holiday,\"元旦\n", "line 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultCalendar()
			err := c.Import(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one with %q", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("err %T is not a *ParseError", err)
			}
			if got := c.Years(); len(got) != 2 || got[0] != 2025 || got[1] != 2026 {
				t.Errorf("a failed import changed the years to %v", got)
			}
			if c.IsWorkingDay(at("2025-10-01 10:00")) {
				t.Error("a failed import changed 2025")
			}
		})
	}
	// Every faulty line is named, not only the first.
	err := DefaultCalendar().Import(strings.NewReader("date,kind,name\n2025-13-01,holiday,a\n2025-01-02,x,b\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2:") || !strings.Contains(err.Error(), "line 3:") {
		t.Errorf("err = %v, want lines 2 and 3", err)
	}
}

func TestImportAccepts(t *testing.T) {
	c, _ := New(shanghai, nil)
	// BOM, comments, blank lines, spaces, quotes, upper-case kind, a holiday
	// on a weekend, an empty name.
	in := "\uFEFF# 2027 test\n\nDate, Kind, Name\n2027-01-01, HOLIDAY, \"元旦\"\n2027-01-02,holiday,元旦\n2027-01-09,workday,\n"
	if err := c.Import(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if c.IsWorkingDay(at("2027-01-01 10:00")) || !c.IsWorkingDay(at("2027-01-09 10:00")) || !c.Covers(2027) {
		t.Error("the imported calendar is not in force")
	}
}

// BenchmarkAdd1000h times a 1000-working-hour deadline (125 working days,
// 2025-03-04 to 2025-09-01 over 清明, 劳动节 and 端午) on the default calendar.
func BenchmarkAdd1000h(b *testing.B) {
	c := DefaultCalendar()
	from := at("2025-03-04 10:17:23")
	want := c.Add(from, 1000*time.Hour)
	if c.WorkingTime(from, want) != 1000*time.Hour {
		b.Fatal("Add and WorkingTime disagree")
	}
	b.ReportAllocs()
	for b.Loop() {
		if !c.Add(from, 1000*time.Hour).Equal(want) {
			b.Fatal("result changed")
		}
	}
}

// BenchmarkWorkingTimeYear times the working time of a whole year.
func BenchmarkWorkingTimeYear(b *testing.B) {
	c := DefaultCalendar()
	from, to := at("2025-01-01 00:00"), at("2026-01-01 00:00")
	for b.Loop() {
		c.WorkingTime(from, to)
	}
}
