// Package telemetry gives cacheport's functions and CLI their JSON logger and their CloudWatch
// metrics, written as Embedded Metric Format lines: no API call on the hot path.
package telemetry

import (
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every cacheport metric.
const Namespace = "cacheport"

// NewLogger returns a JSON slog logger on w at level, with the function's name on every line.
func NewLogger(w io.Writer, level slog.Level, function string) *slog.Logger {
	l := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	if function != "" {
		l = l.With("function", function)
	}
	return l
}

// Unit is a CloudWatch metric unit.
type Unit string

// The units cacheport uses.
const (
	Count   Unit = "Count"
	Seconds Unit = "Seconds"
	Bytes   Unit = "Bytes"
)

// Metrics writes one EMF line per metric to a writer (stdout in Lambda, where CloudWatch Logs
// turns it into a metric). A nil *Metrics discards everything. Safe for concurrent use.
type Metrics struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// NewMetrics returns an emitter writing to w, with the function's name as a dimension.
func NewMetrics(w io.Writer, function string) *Metrics {
	return &Metrics{w: w, function: function, now: time.Now}
}

// Emit writes one metric with its dimensions (the function's name is always one of them).
func (m *Metrics) Emit(name string, value float64, unit Unit, dims map[string]string) {
	if m == nil {
		return
	}
	keys := []string{"Function"}
	line := map[string]any{"Function": m.function, name: value}
	for k, v := range dims {
		keys = append(keys, k)
		line[k] = v
	}
	sort.Strings(keys[1:])
	line["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{keys},
			"Metrics":    []any{map[string]any{"Name": name, "Unit": string(unit)}},
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(b, '\n'))
}

// Count emits a Count metric of value n.
func (m *Metrics) Count(name string, n int, dims map[string]string) {
	m.Emit(name, float64(n), Count, dims)
}
