package ebsrv

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Fire delivers every enabled schedule that fell due after the previous Fire (or the router's
// start) and at or before now, once per due time (at most Options.MaxCatchUp per schedule; older
// ticks are skipped). A ScheduleV2 target gets only its Input, with <aws.scheduler.scheduled-time>
// replaced by the due time (RFC 3339, UTC); a classic Schedule gets the Input when it has one,
// else the "Scheduled Event" envelope. It returns how many ticks it queued.
func (r *Router) Fire(ctx context.Context, now time.Time) (int, error) {
	r.schedMu.Lock()
	defer r.schedMu.Unlock()
	fired := 0
	for _, s := range r.tmpl.Schedules {
		if !s.Enabled {
			continue
		}
		next, ok := r.next[s.Name]
		var due []time.Time
		for ok && !next.After(now) {
			due = append(due, next)
			if len(due) > r.opts.MaxCatchUp {
				due = due[1:]
			}
			next, ok = s.expr.Next(next, r.opts.Start)
		}
		if ok {
			r.next[s.Name] = next
		} else {
			delete(r.next, s.Name)
		}
		for _, t := range due {
			if err := r.fire(ctx, s, t); err != nil {
				return fired, err
			}
			fired++
		}
	}
	return fired, nil
}

// FireNow delivers one tick of a function's schedule now (on the clock), whatever its
// expression says. action picks the schedule: its Input's "action" ("window", "advance", ...) or
// its event name in the template ("Window"); an error says when the function has no such
// schedule.
func (r *Router) FireNow(ctx context.Context, logicalID, action string) error {
	for _, s := range r.tmpl.Schedules {
		if s.Function == logicalID && (s.Action == action || strings.EqualFold(s.Event, action)) {
			return r.fire(ctx, s, r.clock.Now().UTC().Truncate(time.Second))
		}
	}
	return fmt.Errorf("%s has no schedule %q", logicalID, action)
}

// NextDue returns when a schedule (by name) is next due, and false when it never is again.
func (r *Router) NextDue(name string) (time.Time, bool) {
	r.schedMu.Lock()
	defer r.schedMu.Unlock()
	t, ok := r.next[name]
	return t, ok
}

// Run calls Fire with the clock's time every interval of wall time until ctx ends (the sandbox's
// scheduler). It returns ctx's error, or Fire's.
func (r *Router) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if _, err := r.Fire(ctx, r.clock.Now()); err != nil {
				return err
			}
		}
	}
}

func (r *Router) fire(ctx context.Context, s *Schedule, due time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	due = due.UTC()
	var payload []byte
	switch {
	case s.Kind == ScheduleV2:
		in := s.Input
		if in == "" {
			in = "{}"
		}
		payload = []byte(strings.NewReplacer(
			"<aws.scheduler.scheduled-time>", due.Format(time.RFC3339),
			"<aws.scheduler.schedule-arn>", r.scheduleArn(s),
			"<aws.scheduler.execution-id>", newUUID(),
			"<aws.scheduler.attempt-number>", strconv.Itoa(1),
		).Replace(in))
	case s.Input != "":
		payload = []byte(s.Input)
	default:
		env := Envelope{Version: "0", ID: newUUID(), DetailType: "Scheduled Event", Source: "aws.events",
			Account: r.tmpl.Account, Time: due.Format(time.RFC3339), Region: r.tmpl.Region,
			Resources: []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", r.tmpl.Region, r.tmpl.Account, s.Name)},
			Detail:    json.RawMessage("{}")}
		var err error
		if payload, err = json.Marshal(env); err != nil {
			return err
		}
	}
	tg := Target{ID: s.Function, Kind: TargetFunction}
	j := &job{source: s.Name, target: tg, payload: payload, eventID: due.Format(time.RFC3339), attempt: 1}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("router is closed")
	}
	if len(r.queue)+len(r.delayed) >= r.opts.MaxQueue {
		return ErrQueueFull
	}
	r.queue = append(r.queue, j)
	r.work.Broadcast()
	r.busyLocked()
	return nil
}

func (r *Router) scheduleArn(s *Schedule) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/default/%s", r.tmpl.Region, r.tmpl.Account, s.Name)
}
