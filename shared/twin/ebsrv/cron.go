package ebsrv

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed schedule expression: rate(N unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss).
// It is immutable and safe for concurrent use.
type Expr struct {
	text string
	loc  *time.Location

	rate time.Duration // rate(...)
	at   time.Time     // at(...)

	// cron(...)
	minutes, hours, months, years fieldSet
	dom, dow                      []dayTerm // exactly one of them is set; the other was ?
}

type fieldSet map[int]bool

// dayTerm says whether a day matches one term of the day-of-month or day-of-week field.
type dayTerm func(day time.Time) bool

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7,
		"AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

// ParseExpression parses an EventBridge schedule expression. tz is the IANA time zone of cron
// and at expressions (ScheduleExpressionTimezone); empty is UTC. Supported: rate(N minute[s] |
// hour[s] | day[s]); cron(minutes hours day-of-month month day-of-week year) with *, ?, lists,
// ranges, steps, month and day names, L (last day of month, or NL last weekday N of the month),
// W (nearest weekday) and # (Nth weekday); at(yyyy-mm-ddThh:mm:ss).
func ParseExpression(s, tz string) (*Expr, error) {
	e := &Expr{text: s, loc: time.UTC}
	if tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: time zone: %w", s, err)
		}
		e.loc = loc
	}
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return nil, fmt.Errorf("schedule %q: want rate(...), cron(...) or at(...)", s)
	}
	kind, body := s[:open], strings.TrimSpace(s[open+1:len(s)-1])
	var err error
	switch kind {
	case "rate":
		err = e.parseRate(body)
	case "cron":
		err = e.parseCron(body)
	case "at":
		e.at, err = time.ParseInLocation("2006-01-02T15:04:05", body, e.loc)
	default:
		err = fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s, err)
	}
	return e, nil
}

// String returns the expression as written.
func (e *Expr) String() string { return e.text }

func (e *Expr) parseRate(body string) error {
	f := strings.Fields(body)
	if len(f) != 2 {
		return fmt.Errorf("rate takes a value and a unit")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return fmt.Errorf("rate value %q is not a positive integer", f[0])
	}
	unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour,
		"hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
	if unit == 0 {
		return fmt.Errorf("rate unit %q is not minute(s), hour(s) or day(s)", f[1])
	}
	// EventBridge wants the singular for 1 and the plural otherwise.
	if (n == 1) != !strings.HasSuffix(f[1], "s") {
		return fmt.Errorf("rate(%d %s): use %s", n, f[1], map[bool]string{true: "the singular for 1", false: "the plural"}[n == 1])
	}
	e.rate = time.Duration(n) * unit
	return nil
}

func (e *Expr) parseCron(body string) error {
	f := strings.Fields(body)
	if len(f) != 6 {
		return fmt.Errorf("cron takes 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	var err error
	if e.minutes, err = parseField(f[0], 0, 59, nil); err != nil {
		return fmt.Errorf("minutes: %w", err)
	}
	if e.hours, err = parseField(f[1], 0, 23, nil); err != nil {
		return fmt.Errorf("hours: %w", err)
	}
	if e.months, err = parseField(f[3], 1, 12, monthNames); err != nil {
		return fmt.Errorf("month: %w", err)
	}
	if e.years, err = parseField(f[5], 1970, 2199, nil); err != nil {
		return fmt.Errorf("year: %w", err)
	}
	switch {
	case f[2] == "?" && f[4] == "?":
		return fmt.Errorf("day-of-month and day-of-week cannot both be ?")
	case f[2] != "?" && f[4] != "?":
		return fmt.Errorf("one of day-of-month and day-of-week must be ?")
	case f[2] != "?":
		e.dom, err = parseDOM(f[2])
		if err != nil {
			return fmt.Errorf("day-of-month: %w", err)
		}
	default:
		e.dow, err = parseDOW(f[4])
		if err != nil {
			return fmt.Errorf("day-of-week: %w", err)
		}
	}
	return nil
}

// parseField parses *, N, A-B, lists and steps (*/S, N/S, A-B/S) within [lo, hi].
func parseField(s string, lo, hi int, names map[string]int) (fieldSet, error) {
	set := fieldSet{}
	for _, part := range strings.Split(s, ",") {
		a, b, step, err := parseRange(part, lo, hi, names)
		if err != nil {
			return nil, err
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func parseRange(part string, lo, hi int, names map[string]int) (a, b, step int, err error) {
	rng, stepText, hasStep := strings.Cut(part, "/")
	step = 1
	if hasStep {
		if step, err = strconv.Atoi(stepText); err != nil || step <= 0 {
			return 0, 0, 0, fmt.Errorf("step %q is not a positive integer", stepText)
		}
	}
	num := func(t string) (int, error) {
		if v, ok := names[strings.ToUpper(t)]; ok {
			return v, nil
		}
		v, err := strconv.Atoi(t)
		if err != nil || v < lo || v > hi {
			return 0, fmt.Errorf("%q is not in %d-%d", t, lo, hi)
		}
		return v, nil
	}
	switch {
	case rng == "*":
		a, b = lo, hi
	case strings.Contains(rng, "-"):
		x, y, _ := strings.Cut(rng, "-")
		if a, err = num(x); err != nil {
			return
		}
		if b, err = num(y); err != nil {
			return
		}
		if a > b {
			return 0, 0, 0, fmt.Errorf("range %q runs backwards", rng)
		}
	default:
		if a, err = num(rng); err != nil {
			return
		}
		b = a
		if hasStep {
			b = hi
		}
	}
	return a, b, step, nil
}

func lastDay(d time.Time) int {
	return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, d.Location()).Day()
}

func parseDOM(s string) ([]dayTerm, error) {
	var terms []dayTerm
	for _, part := range strings.Split(s, ",") {
		switch {
		case part == "L":
			terms = append(terms, func(d time.Time) bool { return d.Day() == lastDay(d) })
		case strings.HasSuffix(part, "W"):
			n, err := strconv.Atoi(strings.TrimSuffix(part, "W"))
			if err != nil || n < 1 || n > 31 {
				return nil, fmt.Errorf("%q: W needs a day 1-31", part)
			}
			terms = append(terms, func(d time.Time) bool { return d.Day() == nearestWeekday(d, n) })
		default:
			set, err := parseField(part, 1, 31, nil)
			if err != nil {
				return nil, err
			}
			terms = append(terms, func(d time.Time) bool { return set[d.Day()] })
		}
	}
	return terms, nil
}

// nearestWeekday returns the day of d's month that is the weekday nearest day n, not leaving the month.
func nearestWeekday(d time.Time, n int) int {
	last := lastDay(d)
	if n > last {
		n = last
	}
	t := time.Date(d.Year(), d.Month(), n, 0, 0, 0, 0, d.Location())
	switch t.Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

func parseDOW(s string) ([]dayTerm, error) {
	var terms []dayTerm
	day := func(t string) (int, error) {
		if v, ok := dayNames[strings.ToUpper(t)]; ok {
			return v, nil
		}
		v, err := strconv.Atoi(t)
		if err != nil || v < 1 || v > 7 {
			return 0, fmt.Errorf("%q is not a day of week 1-7 or SUN-SAT", t)
		}
		return v, nil
	}
	// EventBridge numbers days 1 (Sunday) to 7 (Saturday); Go's Weekday is 0 (Sunday) to 6.
	wd := func(d time.Time) int { return int(d.Weekday()) + 1 }
	for _, part := range strings.Split(s, ",") {
		switch {
		case part == "L":
			terms = append(terms, func(d time.Time) bool { return wd(d) == 7 })
		case strings.HasSuffix(part, "L"):
			n, err := day(strings.TrimSuffix(part, "L"))
			if err != nil {
				return nil, err
			}
			terms = append(terms, func(d time.Time) bool { return wd(d) == n && d.Day()+7 > lastDay(d) })
		case strings.Contains(part, "#"):
			x, y, _ := strings.Cut(part, "#")
			n, err := day(x)
			if err != nil {
				return nil, err
			}
			k, err := strconv.Atoi(y)
			if err != nil || k < 1 || k > 5 {
				return nil, fmt.Errorf("%q: # needs 1-5", part)
			}
			terms = append(terms, func(d time.Time) bool { return wd(d) == n && (d.Day()-1)/7+1 == k })
		default:
			set, err := parseField(part, 1, 7, dayNames)
			if err != nil {
				return nil, err
			}
			terms = append(terms, func(d time.Time) bool { return set[wd(d)] })
		}
	}
	return terms, nil
}

func (e *Expr) dayMatches(d time.Time) bool {
	terms := e.dom
	if terms == nil {
		terms = e.dow
	}
	for _, t := range terms {
		if t(d) {
			return true
		}
	}
	return false
}

// Next returns the first time the schedule is due strictly after after, and false when it is
// never due again. A rate counts from origin (when the schedule was created), as Scheduler does.
func (e *Expr) Next(after, origin time.Time) (time.Time, bool) {
	switch {
	case e.rate > 0:
		if after.Before(origin) {
			return origin.Add(e.rate), true
		}
		k := after.Sub(origin)/e.rate + 1
		return origin.Add(k * e.rate), true
	case !e.at.IsZero():
		return e.at.UTC(), after.Before(e.at)
	}
	t := after.In(e.loc).Truncate(time.Minute).Add(time.Minute)
	for t.Year() <= 2199 {
		switch {
		case !e.years[t.Year()]:
			t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, e.loc)
		case !e.months[int(t.Month())]:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, e.loc)
		case !e.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, e.loc)
		case !e.hours[t.Hour()]:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, e.loc)
		case !e.minutes[t.Minute()]:
			t = t.Add(time.Minute)
		default:
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
