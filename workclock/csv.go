package workclock

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// ParseError is a fault in a calendar file, with the line it is on.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("workclock: calendar line %d: %s", e.Line, e.Msg)
}

// maxErrors is how many faulty lines one import reports at most.
const maxErrors = 20

// Import reads one year's calendar (the format is in the package
// documentation) and adds it to c, replacing whatever an earlier file for the
// same year had set. The file's year is the latest year among its dates; it
// may also list December dates of the year before (a 元旦 holiday that starts
// on 31 December). Nothing changes when the file has a fault; the error then
// names each faulty line (a *ParseError, several joined by errors.Join).
func (c *Calendar) Import(r io.Reader) error {
	year, entries, err := parseCalendar(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.data.Load()
	next := &calData{days: make(map[int64]entry, len(old.days)+len(entries)), years: maps.Clone(old.years)}
	for n, e := range old.days {
		if e.year != year {
			next.days[n] = e
		}
	}
	var errs []error
	for _, n := range sortedByLine(entries) {
		e := entries[n]
		if o, ok := next.days[n]; ok {
			y, m, d := civil(n)
			errs = append(errs, &ParseError{e.line, fmt.Sprintf("%04d-%02d-%02d is already set (%s, %s) by the calendar of %d, line %d",
				y, m, d, o.kind, o.name, o.year, o.line)})
			continue
		}
		next.days[n] = e
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	next.years[year] = true
	c.data.Store(next)
	return nil
}

func sortedByLine(entries map[int64]entry) []int64 {
	ns := slices.Collect(maps.Keys(entries))
	slices.SortFunc(ns, func(a, b int64) int { return entries[a].line - entries[b].line })
	return ns
}

// parseCalendar reads a calendar file: its year and its dates by day number.
func parseCalendar(r io.Reader) (int, map[int64]entry, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3) // a byte-order mark, as spreadsheets write
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true

	entries := map[int64]entry{}
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &ParseError{line, fmt.Sprintf(format, args...)})
	}
	header := false
	lastLine := 0
	for len(errs) < maxErrors {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				fail(pe.Line, "%v", pe.Err)
				break // the reader may not be able to go on after a quoting fault
			}
			return 0, nil, fmt.Errorf("workclock: reading calendar: %w", err)
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if !header {
			if len(rec) != 3 || !strings.EqualFold(rec[0], "date") || !strings.EqualFold(rec[1], "kind") || !strings.EqualFold(rec[2], "name") {
				fail(line, "want the header line date,kind,name first, got %q", strings.Join(rec, ","))
				return 0, nil, errors.Join(errs...)
			}
			header = true
			continue
		}
		if len(rec) != 3 {
			fail(line, "want 3 fields date,kind,name, got %d: %q", len(rec), strings.Join(rec, ","))
			continue
		}
		t, err := time.Parse("2006-01-02", rec[0])
		if err != nil {
			fail(line, "bad date %q: want YYYY-MM-DD (a real date)", rec[0])
			continue
		}
		var kind Kind
		switch strings.ToLower(rec[1]) {
		case "holiday":
			kind = Holiday
		case "workday":
			kind = Workday
		default:
			fail(line, "unknown kind %q: want holiday (a day off) or workday (a weekend day that is worked)", rec[1])
			continue
		}
		y, m, d := t.Date()
		n := dayNumber(y, m, d)
		if prev, ok := entries[n]; ok {
			fail(line, "%s given twice (first on line %d)", rec[0], prev.line)
			continue
		}
		if wd := weekday(n); kind == Workday && wd != time.Saturday && wd != time.Sunday {
			fail(line, "workday %s is a %s, not a weekend day: only a Saturday or Sunday can be made a working day", rec[0], wd)
			continue
		}
		entries[n] = entry{kind: kind, name: rec[2], year: y, line: line}
	}
	if len(errs) > 0 {
		return 0, nil, errors.Join(errs...)
	}
	if !header {
		return 0, nil, &ParseError{1, "empty calendar: want the header line date,kind,name"}
	}
	if len(entries) == 0 {
		return 0, nil, &ParseError{lastLine, "no dates after the header: a calendar names its year by its dates"}
	}
	year := 0
	for _, e := range entries {
		year = max(year, e.year)
	}
	for _, n := range sortedByLine(entries) {
		e := entries[n]
		if _, m, _ := civil(n); e.year == year || (e.year == year-1 && m == time.December) {
			entries[n] = entry{kind: e.kind, name: e.name, year: year, line: e.line}
			continue
		}
		y, m, d := civil(n)
		fail(e.line, "%04d-%02d-%02d is outside the calendar's year %d: a file holds one year (and may start in the December before)", y, m, d, year)
	}
	if len(errs) > 0 {
		return 0, nil, errors.Join(errs...)
	}
	return year, entries, nil
}
