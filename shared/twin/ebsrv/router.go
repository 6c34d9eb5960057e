package ebsrv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// Defaults of Options.
const (
	DefaultWorkers    = 4
	DefaultMaxQueue   = 10000
	DefaultEventDelay = 2 * time.Minute
	// DefaultMaxCatchUp bounds how many missed ticks of one schedule a single Fire delivers;
	// older ones are skipped (the twin's clock can jump days).
	DefaultMaxCatchUp = 1000
	// maxRecords bounds each inspectable list (deliveries, alerts, dead letters): the oldest
	// half is dropped when it is reached.
	maxRecords = 100000
)

// ErrNoSuchBus is returned by Put for a bus the template does not create (nor the default bus).
var ErrNoSuchBus = errors.New("event bus does not exist")

// ErrQueueFull is returned by Put when MaxQueue deliveries are already waiting.
var ErrQueueFull = errors.New("delivery queue is full")

// Options configures a Router. The zero value works: wall clock, no faults, DefaultWorkers.
type Options struct {
	Clock  core.Clock   // the twin's clock; nil is the wall clock
	Faults *core.Faults // duplicate-events, delay-events, lose-events (per cache id)

	Workers  int // delivery goroutines; 0 is DefaultWorkers
	MaxQueue int // deliveries waiting at most (Put fails beyond); 0 is DefaultMaxQueue

	// EventDelay is how late delay-events delivers, on Clock; 0 is DefaultEventDelay.
	EventDelay time.Duration
	// LoseEvery makes lose-events drop every LoseEvery-th event it applies to (counted across
	// the router); 0 or 1 drops them all.
	LoseEvery int
	// RetryBackoff is the Clock time before each Lambda retry of a failed delivery. Lambda waits
	// about 1 and then 2 minutes; the default 0 retries at once, so that Drain does not depend on
	// the clock moving.
	RetryBackoff time.Duration
	// Start is when schedules start counting (rate schedules are due every N from it, cron ones
	// after it); zero is Clock.Now() when the router is made.
	Start time.Time
	// MaxCatchUp is DefaultMaxCatchUp when 0.
	MaxCatchUp int
}

// Handler is an in-process target: it gets exactly what Lambda would (an EventBridge envelope
// for rules, the Input for ScheduleV2 schedules). An error makes Lambda retry it.
type Handler func(ctx context.Context, payload []byte) error

// Delivery is one attempt to deliver to a target.
type Delivery struct {
	Source  string // the rule's or schedule's name
	Target  string // the target's logical id
	EventID string // the event's id (for schedules, the due time)
	Attempt int    // 1, 2, ...
	Status  string // "ok", "error", "no subscriber", "alert", "lost", "delivered" (other targets)
	Err     string
	At      time.Time // on the clock
}

// Alert is an event an SNS target (the alert topic) received.
type Alert struct {
	Rule    string
	Topic   string // the topic's ARN
	Message []byte // the event envelope, as EventBridge publishes it
	At      time.Time
}

// DeadLetter is a delivery that failed on every attempt (Lambda's retries included).
type DeadLetter struct {
	Source, Target, EventID string
	Payload                 []byte
	Attempts                int
	Err                     string
	At                      time.Time
}

// Router carries events to the targets of the template's rules on the event's bus and fires its
// schedules. Delivery is asynchronous: Put returns once the deliveries are queued; Drain waits
// for them. All methods are safe for concurrent use; Close stops it.
type Router struct {
	tmpl  *Template
	opts  Options
	clock core.Clock

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	work     *sync.Cond
	subs     map[string]Handler
	queue    []*job
	delayed  []*job
	inflight int
	idle     chan struct{} // closed while nothing is pending
	closed   bool
	lossSeen int

	deliveries []Delivery
	alerts     []Alert
	dead       []DeadLetter

	schedMu sync.Mutex
	next    map[string]time.Time // per schedule: when it is next due
}

type job struct {
	source  string
	target  Target
	payload []byte
	eventID string
	attempt int
	due     time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

// NewRouter starts a router over a template's rules and schedules.
func NewRouter(t *Template, opts Options) *Router {
	if opts.Clock == nil {
		opts.Clock = wallClock{}
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	if opts.EventDelay <= 0 {
		opts.EventDelay = DefaultEventDelay
	}
	if opts.LoseEvery <= 0 {
		opts.LoseEvery = 1
	}
	if opts.MaxCatchUp <= 0 {
		opts.MaxCatchUp = DefaultMaxCatchUp
	}
	if opts.Start.IsZero() {
		opts.Start = opts.Clock.Now()
	}
	r := &Router{tmpl: t, opts: opts, clock: opts.Clock, subs: map[string]Handler{},
		idle: make(chan struct{}), next: map[string]time.Time{}}
	close(r.idle)
	r.work = sync.NewCond(&r.mu)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, s := range t.Schedules {
		if n, ok := s.expr.Next(opts.Start, opts.Start); ok {
			r.next[s.Name] = n
		}
	}
	for i := 0; i < opts.Workers; i++ {
		r.wg.Add(1)
		go r.worker()
	}
	r.wg.Add(1)
	go r.pump()
	return r
}

// Template returns the template the router routes by.
func (r *Router) Template() *Template { return r.tmpl }

// Subscribe sets the in-process handler of a function (its template logical id), replacing any.
func (r *Router) Subscribe(logicalID string, fn Handler) {
	r.mu.Lock()
	r.subs[logicalID] = fn
	r.mu.Unlock()
}

// Close stops the workers; deliveries still queued are dropped. Handlers in flight see their
// context cancelled.
func (r *Router) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.work.Broadcast()
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	r.queue, r.delayed, r.inflight = nil, nil, 0
	r.idleCheckLocked()
	r.mu.Unlock()
}

// Envelope is an EventBridge event as a rule's target receives it.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Put takes an event for delivery to the rules of its bus (core.EventSink). An empty Bus is the
// default bus. It fails with ErrNoSuchBus, ErrQueueFull, or an error for a detail that is not a
// JSON object.
func (r *Router) Put(ctx context.Context, ev core.Event) error {
	_, err := r.put(ctx, ev)
	return err
}

var _ core.EventSink = (*Router)(nil)

// put routes an event and returns its id.
func (r *Router) put(ctx context.Context, ev core.Event) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	bus := BusName(ev.Bus)
	if !r.tmpl.HasBus(bus) {
		return "", fmt.Errorf("%w: %s", ErrNoSuchBus, bus)
	}
	detail := bytes.TrimSpace(ev.Detail)
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	var dm map[string]any
	d := json.NewDecoder(bytes.NewReader(detail))
	d.UseNumber()
	if err := d.Decode(&dm); err != nil || dm == nil {
		return "", fmt.Errorf("detail is not a JSON object")
	}
	at := ev.Time
	if at.IsZero() {
		at = r.clock.Now()
	}
	env := Envelope{Version: "0", ID: newUUID(), DetailType: ev.DetailType, Source: ev.Source,
		Account: r.tmpl.Account, Time: at.UTC().Format(time.RFC3339), Region: r.tmpl.Region,
		Resources: ev.Resources, Detail: json.RawMessage(detail)}
	if env.Resources == nil {
		env.Resources = []string{}
	}
	payload, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	var value map[string]any
	d = json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&value); err != nil {
		return "", err
	}

	var jobs []*job
	for _, rule := range r.tmpl.Rules {
		if rule.Bus != bus || !rule.Pattern.MatchValue(value) {
			continue
		}
		for _, tg := range rule.Targets {
			jobs = append(jobs, &job{source: rule.Name, target: tg, payload: payload, eventID: env.ID, attempt: 1})
		}
	}
	if len(jobs) == 0 {
		return env.ID, nil
	}

	cache := cacheOf(ev.Source, dm, r.prefix())
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", errors.New("router is closed")
	}
	if faultOn(r.opts.Faults, "lose-events", cache) {
		r.lossSeen++
		if r.lossSeen%r.opts.LoseEvery == 0 {
			for _, j := range jobs {
				r.record(Delivery{Source: j.source, Target: j.target.ID, EventID: env.ID, Attempt: 1, Status: "lost", At: now})
			}
			return env.ID, nil
		}
	}
	if faultOn(r.opts.Faults, "duplicate-events", cache) {
		dup := make([]*job, 0, 2*len(jobs))
		for _, j := range jobs {
			c := *j
			dup = append(dup, j, &c)
		}
		jobs = dup
	}
	if len(r.queue)+len(r.delayed)+len(jobs) > r.opts.MaxQueue {
		return "", ErrQueueFull
	}
	if faultOn(r.opts.Faults, "delay-events", cache) {
		for _, j := range jobs {
			j.due = now.Add(r.opts.EventDelay)
		}
		r.delayed = append(r.delayed, jobs...)
	} else {
		r.queue = append(r.queue, jobs...)
		r.work.Broadcast()
	}
	r.busyLocked()
	return env.ID, nil
}

func (r *Router) prefix() string {
	return r.tmpl.Params["Prefix"]
}

// cacheOf finds the cache an event is about, for faults scoped to a cache: cacheport's
// detail.cache, an S3 key P/CACHE/..., or an ElastiCache event's SourceIdentifier.
func cacheOf(source string, detail map[string]any, prefix string) string {
	if c, ok := detail["cache"].(string); ok {
		return c
	}
	if source == "aws.s3" {
		obj, _ := detail["object"].(map[string]any)
		key, _ := obj["key"].(string)
		parts := strings.SplitN(key, "/", 3)
		if prefix != "" && len(parts) == 3 && parts[0] == prefix {
			return parts[1]
		}
		return ""
	}
	if id, ok := detail["SourceIdentifier"].(string); ok {
		return id[strings.LastIndexByte(id, ':')+1:]
	}
	return ""
}

// faultOn reports whether a fault applies to an event about cache ("" unknown: then only a fault
// without a cache id applies).
func faultOn(f *core.Faults, kind, cache string) bool {
	param, ok := f.Active(kind, cache)
	return ok && (cache != "" || param == "")
}

// busyLocked marks the router busy (not idle). r.mu is held.
func (r *Router) busyLocked() {
	select {
	case <-r.idle:
		r.idle = make(chan struct{})
	default:
	}
}

// idleCheckLocked closes idle when nothing is pending. r.mu is held.
func (r *Router) idleCheckLocked() {
	if len(r.queue) == 0 && len(r.delayed) == 0 && r.inflight == 0 {
		select {
		case <-r.idle:
		default:
			close(r.idle)
		}
	}
}

// Drain waits until no delivery is queued, delayed or running (retries included), or ctx ends.
// Delayed deliveries wait for the clock: with a clock that does not move, Drain returns ctx's
// error while they wait.
func (r *Router) Drain(ctx context.Context) error {
	for {
		r.mu.Lock()
		idle := r.idle
		r.mu.Unlock()
		select {
		case <-idle:
			// A delivery may have queued more (a handler that Puts): check again.
			r.mu.Lock()
			done := len(r.queue) == 0 && len(r.delayed) == 0 && r.inflight == 0
			r.mu.Unlock()
			if done {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Settle waits until every delivery that is due by the clock's present reading has run (and
// whatever those deliveries queued), or ctx ends. Deliveries delayed into the future are left
// for a later Settle: a twin driven a step at a time moves its clock between calls, and Drain
// would wait for a clock that never moves.
func (r *Router) Settle(ctx context.Context) error {
	for {
		r.mu.Lock()
		now := r.clock.Now()
		due := false
		for _, j := range r.delayed {
			due = due || !j.due.After(now)
		}
		done := len(r.queue) == 0 && r.inflight == 0 && !due
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

func (r *Router) worker() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && !r.closed {
			r.work.Wait()
		}
		if r.closed {
			r.mu.Unlock()
			return
		}
		j := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		r.inflight++
		fn := r.subs[j.target.ID]
		r.mu.Unlock()

		r.deliver(j, fn)

		r.mu.Lock()
		r.inflight--
		r.idleCheckLocked()
		r.mu.Unlock()
	}
}

// pump moves delayed deliveries into the queue when the clock says they are due.
func (r *Router) pump() {
	defer r.wg.Done()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
		}
		r.mu.Lock()
		if len(r.delayed) > 0 {
			now := r.clock.Now()
			kept := r.delayed[:0]
			moved := false
			for _, j := range r.delayed {
				if !j.due.After(now) {
					r.queue = append(r.queue, j)
					moved = true
				} else {
					kept = append(kept, j)
				}
			}
			for i := len(kept); i < len(r.delayed); i++ {
				r.delayed[i] = nil
			}
			r.delayed = kept
			if moved {
				r.work.Broadcast()
			}
		}
		r.mu.Unlock()
	}
}

func (r *Router) deliver(j *job, fn Handler) {
	now := r.clock.Now()
	d := Delivery{Source: j.source, Target: j.target.ID, EventID: j.eventID, Attempt: j.attempt, At: now}
	switch j.target.Kind {
	case TargetTopic:
		d.Status = "alert"
		r.mu.Lock()
		r.alerts = appendCapped(r.alerts, Alert{Rule: j.source, Topic: j.target.Arn, Message: j.payload, At: now})
		r.record(d)
		r.mu.Unlock()
		return
	case TargetFunction:
	default:
		d.Status = "delivered"
		r.mu.Lock()
		r.record(d)
		r.mu.Unlock()
		return
	}
	if fn == nil {
		d.Status = "no subscriber"
		r.mu.Lock()
		r.record(d)
		r.mu.Unlock()
		return
	}
	err := invoke(r.ctx, fn, j.payload)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		d.Status = "ok"
		r.record(d)
		return
	}
	d.Status, d.Err = "error", err.Error()
	r.record(d)
	retries, ok := r.tmpl.Retries[j.target.ID]
	if !ok {
		retries = DefaultLambdaRetries
	}
	if r.closed {
		return
	}
	if j.attempt <= retries {
		again := *j
		again.attempt++
		if r.opts.RetryBackoff > 0 {
			again.due = r.clock.Now().Add(r.opts.RetryBackoff * time.Duration(j.attempt))
			r.delayed = append(r.delayed, &again)
		} else {
			r.queue = append(r.queue, &again)
			r.work.Broadcast()
		}
		return
	}
	r.dead = appendCapped(r.dead, DeadLetter{Source: j.source, Target: j.target.ID, EventID: j.eventID,
		Payload: j.payload, Attempts: j.attempt, Err: err.Error(), At: now})
}

// invoke runs a handler, turning a panic into an error as Lambda reports a crash.
func invoke(ctx context.Context, fn Handler, payload []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return fn(ctx, append([]byte(nil), payload...))
}

func (r *Router) record(d Delivery) { r.deliveries = appendCapped(r.deliveries, d) }

func appendCapped[T any](s []T, v T) []T {
	if len(s) >= maxRecords {
		s = append(s[:0], s[len(s)/2:]...)
	}
	return append(s, v)
}

// Deliveries returns every delivery attempt so far, oldest first.
func (r *Router) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.deliveries...)
}

// Alerts returns what the SNS targets (the alert topic) received, oldest first.
func (r *Router) Alerts() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Alert(nil), r.alerts...)
}

// DeadLetters returns the deliveries that failed for good, oldest first.
func (r *Router) DeadLetters() []DeadLetter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]DeadLetter(nil), r.dead...)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
