// Package workclock does the work-clock arithmetic of case time limits. A
// limit is an amount of one of five units (Limit, ParseLimit): continuous
// minutes, hours or natural days, which run on the wall clock, or work hours
// (工作时) and work days, which count only working time on a calendar of
// working hours, weekends, statutory holidays and adjusted working days. A
// case gets its deadline from Deadline and the time it has left (or is
// overdue by) from Left; underneath, Add, WorkingTime and Remaining do the
// working-time arithmetic, all exact to the nanosecond and computed in the
// calendar's time zone. The package is pure: standard library only, no
// database, no HTTP.
//
// # What a working hour is here
//
// Working time runs only inside the working periods of a working day. The
// default periods are those of the domain (DOMAIN.md, "Deadlines are set per
// class and counted on a work clock"): 08:00-12:00 and 14:00-18:00 local
// time, a lunch break between them, eight working hours a day, in
// Asia/Shanghai. Both are configurable (New, ParseHours: a centre keeping
// other hours passes e.g. "09:00-12:00,13:30-17:30"). A working day is a
// Monday to Friday that is not a statutory holiday, or a Saturday or Sunday
// that the State Council has made a working day (调休上班). Everything else
// runs no clock: nights, lunch breaks, weekends and holidays.
//
// Rules at the edges, which the tests pin down:
//   - A time limit started outside working hours starts counting at the next
//     working period (a report filed at 12:40 starts at 14:00).
//   - A deadline that falls exactly at the end of a period stays there: one
//     working hour from 11:00 is 12:00, not 14:00, and from 17:00 it is 18:00
//     the same day, not 08:00 the next morning.
//   - WorkingTime(from, to) counts the working part of [from, to); it is 0
//     when to is not after from. Add(from, d) is the earliest instant x with
//     WorkingTime(from, x) == d, so the two are inverse: WorkingTime(t,
//     Add(t, d)) == d always, and Add(t, WorkingTime(t, u)) == u for u after
//     t in working hours (not at the very start of a period, where the
//     earliest such instant is the end of the period before).
//   - Remaining(deadline, now) is signed: negative by the working time
//     overdue. It is 0 if only non-working time has passed since the deadline
//     (Friday 18:00 seen on Saturday); now.After(deadline) says whether a case
//     is late.
//
// The arithmetic walks day by day (a few time.Date calls per working day),
// so a 1000-working-hour deadline (125 working days, about six months) takes
// microseconds; go test ./workclock -bench . measures it.
//
// # Time limits
//
// The domain sets deadlines per class in three kinds of time: urgent hours
// run continuously, work hours count on the calendar, natural days run
// continuously; verification and check steps default to 30 minutes. A limit
// is written as a positive decimal amount followed at once by its unit
// (ParseLimit reads it, Limit.String writes it back):
//
//	30m   minutes, continuous          Minutes
//	4h    hours, continuous (urgent)   Hours
//	4wh   work hours, on the calendar  WorkHours
//	2wd   work days, on the calendar   WorkDays
//	3d    natural days, continuous     Days
//
// Amounts may have a fractional part (0.5wh, 1.5wd); units are lower case;
// zero, negative and longer than ten years of the measure are refused.
//
// A work day is counted in work hours: it is 8 work hours (WorkDay), so 1wd
// set at 15:00 on a working day ends at 15:00 on the next working day (from
// a Friday, the Monday, or the Saturday or Sunday if a 调休 makes it a
// working day; from the last working day before 国庆, the first one after
// it), and with the default hours 1wd set outside working hours ends at
// 18:00 on the next working day. With other hours than the default, 1wd is
// still 8 work hours, not one day of those hours.
//
// Continuous units ignore the calendar: 4h is 4 hours of wall-clock time
// from the moment it is set, at night, at weekends and in holidays alike,
// and 3d is 72 hours. Left measures the time left in the limit's own
// measure: working time for work units, wall-clock time for the others,
// negative when the deadline is past.
//
// # Calendar data
//
// Holidays and adjusted working days are data, not code. Each year is a small
// CSV file, UTF-8, imported with (*Calendar).Import:
//
//	# 2025: 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号)
//	date,kind,name
//	2025-01-01,holiday,元旦
//	2025-01-26,workday,春节
//	2025-01-28,holiday,春节
//
// The rules:
//
//   - The header line date,kind,name is required and comes first; lines that
//     start with # are comments, blank lines are skipped, fields may be quoted
//     as in any CSV, and a leading byte-order mark is ignored.
//   - date is YYYY-MM-DD (a real date, in the calendar's zone).
//   - kind is holiday (a day off, 放假) or workday (a Saturday or Sunday that
//     is worked, 调休上班). A holiday may fall on a weekend (the notices list
//     the whole break, weekend days included); a workday must be a weekend
//     day.
//   - name is the festival's name (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节,
//     国庆节), shown to users by DayName; it may be empty.
//   - Each date appears once. The file's year is the latest year among its
//     dates; December dates of the year before are allowed, since a notice
//     sometimes starts 元旦 on 31 December (the 2023 notice did).
//
// A fault leaves the calendar unchanged and is reported per line, e.g.
// "workclock: calendar line 7: workday 2025-09-29 is a Monday, not a weekend
// day: ...". Importing a file for a year that is already loaded replaces that
// year: every date the earlier file set is dropped first.
//
// Dates listed nowhere follow the weekend rule. So for a year with no file
// loaded, Saturdays and Sundays are off and every weekday is a working day:
// holidays are unknown and deadlines into that year come out early.
// Covers(year) reports whether a year is loaded; callers should warn (or
// refuse to set a deadline) when it is false.
//
// # Where the official calendars come from
//
// Every year, usually in November or December, the General Office of the
// State Council publishes 国务院办公厅关于<next year>年部分节假日安排的通知,
// which sets the holidays and the adjusted working days of the next year.
// The package embeds the calendars of the years published so far, in
// calendars/<year>.csv, each naming its notice in a comment:
//
//   - 2025: 国办发明电〔2024〕12号, published 2024-11-12;
//   - 2026: the notice published 2025-11-04.
//
// DefaultCalendar loads them all. When a new notice is published, write the
// next year's file from it (every holiday date, weekend days in the break
// included, and every 调休 workday), then either import it at run time where
// the service loads its calendars, or add it to calendars/ so that the next
// release embeds it; the embedded tests check each year's number of working
// days, so add the new year's count (worked out by hand from the notice) to
// TestEmbeddedWorkingDays.
package workclock
