package targets

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// weeklyWindow is a weekly UTC window in minutes since Sunday 00:00; end may be below start
// when the window wraps over the end of the week (sat:23:00-sun:01:00).
type weeklyWindow struct{ start, end int }

// parseWeeklyWindow parses a maintenance window as AWS gives it: ddd:hh24:mi-ddd:hh24:mi, UTC,
// days sun..sat (case-insensitive).
func parseWeeklyWindow(s string) (weeklyWindow, error) {
	from, to, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	if !ok {
		return weeklyWindow{}, fmt.Errorf("maintenance window %q is not ddd:hh24:mi-ddd:hh24:mi", s)
	}
	start, err := parseWeekMinute(from)
	if err != nil {
		return weeklyWindow{}, fmt.Errorf("maintenance window %q: %w", s, err)
	}
	end, err := parseWeekMinute(to)
	if err != nil {
		return weeklyWindow{}, fmt.Errorf("maintenance window %q: %w", s, err)
	}
	return weeklyWindow{start: start, end: end}, nil
}

func parseWeekMinute(s string) (int, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("%q is not ddd:hh24:mi", s)
	}
	day, ok := weekdays[parts[0]]
	if !ok {
		return 0, fmt.Errorf("%q: day %q is not one of sun, mon, tue, wed, thu, fri, sat", s, parts[0])
	}
	h, errH := strconv.Atoi(parts[1])
	m, errM := strconv.Atoi(parts[2])
	if errH != nil || errM != nil || len(parts[1]) != 2 || len(parts[2]) != 2 || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("%q: time %s:%s is not hh24:mi", s, parts[1], parts[2])
	}
	return int(day)*24*60 + h*60 + m, nil
}

// contains reports whether t falls inside the window: from its start (inclusive) to its end
// (exclusive), in UTC. A window whose end equals its start is empty.
func (w weeklyWindow) contains(t time.Time) bool {
	t = t.UTC()
	m := int(t.Weekday())*24*60 + t.Hour()*60 + t.Minute()
	if w.start <= w.end {
		return w.start <= m && m < w.end
	}
	return m >= w.start || m < w.end // wraps over Saturday→Sunday
}
