package ebsrv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// templatePath is the project's template.yaml, three folders up from this package.
var templatePath = filepath.Join("..", "..", "..", "template.yaml")

const (
	defaultBucket = "cacheport-exports-111122223333-us-east-1"
	startExport   = "StartExportFunction"
	verifyExport  = "VerifyExportFunction"
	cleanupExport = "CleanupExportFunction"
)

func realTemplate(t *testing.T, values map[string]string) *Template {
	t.Helper()
	tmpl, err := LoadTemplate(templatePath, values)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func newTestRouter(t *testing.T, tmpl *Template, opts Options) *Router {
	t.Helper()
	r := NewRouter(tmpl, opts)
	t.Cleanup(r.Close)
	return r
}

// inbox records what each subscribed function received.
type inbox struct {
	mu  sync.Mutex
	got map[string][][]byte
}

func subscribe(r *Router, ids ...string) *inbox {
	in := &inbox{got: map[string][][]byte{}}
	for _, id := range ids {
		r.Subscribe(id, func(_ context.Context, payload []byte) error {
			in.mu.Lock()
			in.got[id] = append(in.got[id], payload)
			in.mu.Unlock()
			return nil
		})
	}
	return in
}

// take returns and forgets what each function received.
func (in *inbox) take() map[string][][]byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	got := in.got
	in.got = map[string][][]byte{}
	return got
}

// receivers lists the functions that received something, sorted.
func receivers(got map[string][][]byte) []string {
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func drain(t *testing.T, r *Router) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

func s3Detail(bucket, key string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"version":"0","bucket":{"name":%q},"object":{"key":%q,"size":52428800,"etag":"5d41402abc4b2a76b9719d911017c592-7"},"request-id":"N4N7GDK58NMKJ12R","requester":"elasticache.amazonaws.com","reason":"CompleteMultipartUpload"}`, bucket, key))
}

func cacheportEvent(detailType, kind string) core.Event {
	return core.Event{Bus: "cacheport", Source: "cacheport", DetailType: detailType,
		Detail: json.RawMessage(fmt.Sprintf(`{"export_id":"orders-20261124-0300","cache":"orders","kind":%q,"engine":"valkey","attempt":1}`, kind))}
}

// TestTemplateRouting routes events through the rules of the real template.yaml.
func TestTemplateRouting(t *testing.T) {
	clock := &testClock{t: mustTime(t, "2026-11-24T03:07:12Z")}
	r := newTestRouter(t, realTemplate(t, nil), Options{Clock: clock})
	in := subscribe(r, startExport, verifyExport, cleanupExport)
	ctx := context.Background()
	key := "cacheport/orders/orders-20261124-0300/a1/orders-20261124-0300-0001.rdb"
	objectCreated := core.Event{Bus: "default", Source: "aws.s3", DetailType: "Object Created",
		Resources: []string{"arn:aws:s3:::" + defaultBucket}, Detail: s3Detail(defaultBucket, key)}

	tests := []struct {
		name   string
		ev     core.Event
		want   []string
		alerts int
	}{
		{"s3 object created on the default bus", objectCreated, []string{cleanupExport, verifyExport}, 0},
		{"s3 object created on the cacheport bus", func() core.Event { e := objectCreated; e.Bus = "cacheport"; return e }(), nil, 0},
		{"s3 object created, bus by ARN", func() core.Event {
			e := objectCreated
			e.Bus = "arn:aws:events:us-east-1:111122223333:event-bus/default"
			return e
		}(), []string{cleanupExport, verifyExport}, 0},
		{"s3 object created, empty bus is default", func() core.Event { e := objectCreated; e.Bus = ""; return e }(), []string{cleanupExport, verifyExport}, 0},
		{"s3 object created in another bucket", func() core.Event {
			e := objectCreated
			e.Detail = s3Detail("someone-elses", key)
			return e
		}(), nil, 0},
		{"s3 object created outside the prefix", func() core.Event {
			e := objectCreated
			e.Detail = s3Detail(defaultBucket, "other/orders.rdb")
			return e
		}(), nil, 0},
		{"s3 serverless export key", func() core.Event {
			e := objectCreated
			e.Detail = s3Detail(defaultBucket, "cacheport-sessions-20261124-0300-a1-0001.rdb")
			return e
		}(), []string{cleanupExport, verifyExport}, 0},
		{"export requested, memcached", cacheportEvent("Export Requested", "memcached"), nil, 0},
		{"export requested, replication group", cacheportEvent("Export Requested", "replication-group"), []string{startExport}, 0},
		{"export requested on the default bus", func() core.Event {
			e := cacheportEvent("Export Requested", "replication-group")
			e.Bus = "default"
			return e
		}(), nil, 0},
		{"export started", cacheportEvent("Export Started", "replication-group"), []string{verifyExport}, 0},
		{"export verifying", cacheportEvent("Export Verifying", "serverless"), []string{verifyExport}, 0},
		{"export failed", cacheportEvent("Export Failed", "replication-group"), []string{cleanupExport}, 0},
		{"export verified", cacheportEvent("Export Verified", "replication-group"), []string{cleanupExport}, 0},
		{"export cleaned", cacheportEvent("Export Cleaned", "replication-group"), nil, 0},
		{"export abandoned", cacheportEvent("Export Abandoned", "replication-group"), nil, 1},
		{"audit finding", cacheportEvent("Audit Finding", "replication-group"), nil, 1},
		{"serverless snapshot created", core.Event{Bus: "default", Source: "aws.elasticache", DetailType: "Snapshot Created",
			Detail: json.RawMessage(`{"SourceIdentifier":"cacheport-sessions-20261124-0300-a1"}`)}, []string{startExport}, 0},
		{"serverless snapshot created on the cacheport bus", core.Event{Bus: "cacheport", Source: "aws.elasticache", DetailType: "Snapshot Created",
			Detail: json.RawMessage(`{}`)}, nil, 0},
		{"snapshot export failed", core.Event{Bus: "default", Source: "aws.elasticache", DetailType: "Snapshot Export Failed",
			Detail: json.RawMessage(`{}`)}, []string{cleanupExport}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(r.Alerts())
			if err := r.Put(ctx, tt.ev); err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			got := in.take()
			if ids := receivers(got); strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("reached %v, want %v", ids, tt.want)
			}
			for id, ps := range got {
				if len(ps) != 1 {
					t.Errorf("%s received %d deliveries, want 1", id, len(ps))
				}
			}
			if n := len(r.Alerts()) - before; n != tt.alerts {
				t.Errorf("%d alerts, want %d", n, tt.alerts)
			}
		})
	}

	// The envelope is exactly what Lambda receives.
	if err := r.Put(ctx, objectCreated); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	got := in.take()[verifyExport]
	if len(got) != 1 {
		t.Fatalf("verify received %d events", len(got))
	}
	var env map[string]any
	if err := json.Unmarshal(got[0], &env); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "account,detail,detail-type,id,region,resources,source,time,version" {
		t.Errorf("envelope keys %v", keys)
	}
	if env["version"] != "0" || env["source"] != "aws.s3" || env["detail-type"] != "Object Created" ||
		env["account"] != DefaultAccount || env["region"] != DefaultRegion || env["time"] != "2026-11-24T03:07:12Z" {
		t.Errorf("envelope %s", got[0])
	}
	if k := env["detail"].(map[string]any)["object"].(map[string]any)["key"]; k != key {
		t.Errorf("detail.object.key = %v", k)
	}
	if id, _ := env["id"].(string); len(id) != 36 {
		t.Errorf("id %q is not a UUID", id)
	}

	// The alert topic got the envelope of Export Abandoned.
	alerts := r.Alerts()
	if len(alerts) != 2 || alerts[0].Topic != "arn:aws:sns:us-east-1:111122223333:AlertTopic" || alerts[0].Rule != "AlertRule" ||
		!strings.Contains(string(alerts[0].Message), `"detail-type":"Export Abandoned"`) {
		t.Errorf("alerts = %+v", alerts)
	}

	// A bus the template does not create: Put says so.
	if err := r.Put(ctx, core.Event{Bus: "nope", Source: "cacheport", DetailType: "x"}); !errors.Is(err, ErrNoSuchBus) {
		t.Errorf("put to a missing bus: %v, want ErrNoSuchBus", err)
	}
	if err := r.Put(ctx, core.Event{Source: "cacheport", DetailType: "x", Detail: json.RawMessage(`[1]`)}); err == nil {
		t.Error("put with a list as detail: no error")
	}
}

// TestTemplateValues resolves the bucket from the caller's values, as the stack passes them.
func TestTemplateValues(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		values map[string]string
		bucket string
		prefix string
		bus    string
	}{
		{"existing bucket", map[string]string{"ExistingBucketName": "my-bucket"}, "my-bucket", "cacheport", "cacheport"},
		{"created bucket by logical id", map[string]string{"ExportBucket": "twin-exports"}, "twin-exports", "cacheport", "cacheport"},
		{"other prefix and bus", map[string]string{"Prefix": "backups/redis", "EventBusName": "cp-test"}, defaultBucket, "backups/redis", "cp-test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := realTemplate(t, tt.values)
			if !tmpl.HasBus(tt.bus) || tmpl.HasBus("nope") {
				t.Errorf("buses %v, want default and %s", tmpl.Buses, tt.bus)
			}
			r := newTestRouter(t, tmpl, Options{})
			in := subscribe(r, verifyExport, startExport)
			put := func(bucket, key string) []string {
				t.Helper()
				if err := r.Put(ctx, core.Event{Source: "aws.s3", DetailType: "Object Created", Detail: s3Detail(bucket, key)}); err != nil {
					t.Fatal(err)
				}
				drain(t, r)
				return receivers(in.take())
			}
			if got := put(tt.bucket, tt.prefix+"/orders/x/a1/x-0001.rdb"); len(got) != 1 || got[0] != verifyExport {
				t.Errorf("object in %s under %s reached %v", tt.bucket, tt.prefix, got)
			}
			if got := put("other-bucket", tt.prefix+"/orders/x/a1/x-0001.rdb"); len(got) != 0 {
				t.Errorf("object in another bucket reached %v", got)
			}
			ev := cacheportEvent("Export Requested", "serverless")
			ev.Bus = tt.bus
			if err := r.Put(ctx, ev); err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			if got := receivers(in.take()); len(got) != 1 || got[0] != startExport {
				t.Errorf("export requested on %s reached %v", tt.bus, got)
			}
		})
	}
}

// TestHandlerPublishes lets a handler put the next event, as the functions do: Drain waits for
// the whole chain.
func TestHandlerPublishes(t *testing.T) {
	r := newTestRouter(t, realTemplate(t, nil), Options{Workers: 1})
	in := subscribe(r, verifyExport)
	r.Subscribe(startExport, func(ctx context.Context, _ []byte) error {
		time.Sleep(10 * time.Millisecond)
		return r.Put(ctx, cacheportEvent("Export Started", "replication-group"))
	})
	if err := r.Put(context.Background(), cacheportEvent("Export Requested", "replication-group")); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	if got := in.take()[verifyExport]; len(got) != 1 {
		t.Errorf("verify received %d Export Started, want 1", len(got))
	}
}

// TestRetriesAndDeadLetters fails handlers as Lambda sees errors: two retries, then the
// dead-letter list.
func TestRetriesAndDeadLetters(t *testing.T) {
	r := newTestRouter(t, realTemplate(t, nil), Options{})
	var mu sync.Mutex
	calls := map[string]int{}
	count := func(id string) int {
		mu.Lock()
		defer mu.Unlock()
		calls[id]++
		return calls[id]
	}
	r.Subscribe(cleanupExport, func(context.Context, []byte) error {
		count(cleanupExport)
		return errors.New("bucket unreachable")
	})
	r.Subscribe(verifyExport, func(context.Context, []byte) error {
		if count(verifyExport) == 1 {
			return errors.New("flaky")
		}
		return nil
	})
	r.Subscribe(startExport, func(context.Context, []byte) error {
		count(startExport)
		panic("boom")
	})
	ctx := context.Background()
	for _, ev := range []core.Event{
		cacheportEvent("Export Failed", "replication-group"),
		cacheportEvent("Export Started", "replication-group"),
		cacheportEvent("Export Requested", "replication-group"),
	} {
		if err := r.Put(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, r)
	if calls[cleanupExport] != 3 || calls[verifyExport] != 2 || calls[startExport] != 3 {
		t.Errorf("calls = %v, want cleanup 3 (1 + 2 retries), verify 2, start 3", calls)
	}
	dead := r.DeadLetters()
	if len(dead) != 2 {
		t.Fatalf("dead letters = %+v, want cleanup's and start's", dead)
	}
	sort.Slice(dead, func(i, j int) bool { return dead[i].Target < dead[j].Target })
	if dead[0].Target != cleanupExport || dead[0].Attempts != 3 || dead[0].Err != "bucket unreachable" ||
		dead[0].Source != "CleanupExportFunctionExportEnded" || !strings.Contains(string(dead[0].Payload), "Export Failed") {
		t.Errorf("dead letter = %+v", dead[0])
	}
	if dead[1].Target != startExport || !strings.Contains(dead[1].Err, "panicked: boom") {
		t.Errorf("dead letter = %+v", dead[1])
	}
	var statuses []string
	for _, d := range r.Deliveries() {
		if d.Target == verifyExport {
			statuses = append(statuses, fmt.Sprintf("%d:%s", d.Attempt, d.Status))
		}
	}
	if strings.Join(statuses, " ") != "1:error 2:ok" {
		t.Errorf("verify's deliveries = %v", statuses)
	}
}

// TestUnsubscribed records deliveries to a function nobody runs, without failing.
func TestUnsubscribed(t *testing.T) {
	r := newTestRouter(t, realTemplate(t, nil), Options{})
	if err := r.Put(context.Background(), cacheportEvent("Export Failed", "replication-group")); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	d := r.Deliveries()
	if len(d) != 1 || d[0].Status != "no subscriber" || d[0].Target != cleanupExport {
		t.Errorf("deliveries = %+v", d)
	}
	if len(r.DeadLetters()) != 0 {
		t.Errorf("dead letters: %+v", r.DeadLetters())
	}
}

func TestEventFaults(t *testing.T) {
	ctx := context.Background()
	put := func(t *testing.T, r *Router, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if err := r.Put(ctx, cacheportEvent("Export Started", "replication-group")); err != nil {
				t.Fatal(err)
			}
		}
	}
	faults := func(specs ...string) *core.Faults {
		f, err := core.ParseFaults(specs)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	tmpl := realTemplate(t, nil)

	t.Run("duplicate-events", func(t *testing.T) {
		r := newTestRouter(t, tmpl, Options{Faults: faults("duplicate-events")})
		in := subscribe(r, verifyExport)
		put(t, r, 1)
		drain(t, r)
		got := in.take()[verifyExport]
		if len(got) != 2 || string(got[0]) != string(got[1]) {
			t.Errorf("got %d deliveries, want the same event twice", len(got))
		}
	})
	t.Run("duplicate-events for another cache", func(t *testing.T) {
		r := newTestRouter(t, tmpl, Options{Faults: faults("duplicate-events=sessions")})
		in := subscribe(r, verifyExport)
		put(t, r, 1)
		drain(t, r)
		if got := in.take()[verifyExport]; len(got) != 1 {
			t.Errorf("got %d deliveries, want 1", len(got))
		}
	})
	t.Run("duplicate-events for this cache", func(t *testing.T) {
		r := newTestRouter(t, tmpl, Options{Faults: faults("duplicate-events=orders")})
		in := subscribe(r, verifyExport)
		put(t, r, 1)
		drain(t, r)
		if got := in.take()[verifyExport]; len(got) != 2 {
			t.Errorf("got %d deliveries, want 2", len(got))
		}
	})
	t.Run("lose-events", func(t *testing.T) {
		r := newTestRouter(t, tmpl, Options{Faults: faults("lose-events")})
		in := subscribe(r, verifyExport)
		put(t, r, 3)
		drain(t, r)
		if got := in.take()[verifyExport]; len(got) != 0 {
			t.Errorf("got %d deliveries, want none", len(got))
		}
		if d := r.Deliveries(); len(d) != 3 || d[0].Status != "lost" {
			t.Errorf("deliveries = %+v, want 3 lost", d)
		}
	})
	t.Run("lose-events every second", func(t *testing.T) {
		r := newTestRouter(t, tmpl, Options{Faults: faults("lose-events"), LoseEvery: 2})
		in := subscribe(r, verifyExport)
		put(t, r, 4)
		drain(t, r)
		if got := in.take()[verifyExport]; len(got) != 2 {
			t.Errorf("got %d deliveries, want 2 of 4", len(got))
		}
	})
	t.Run("lose-events of an s3 key of another cache", func(t *testing.T) {
		r := newTestRouter(t, tmpl, Options{Faults: faults("lose-events=sessions")})
		in := subscribe(r, verifyExport)
		if err := r.Put(ctx, core.Event{Source: "aws.s3", DetailType: "Object Created",
			Detail: s3Detail(defaultBucket, "cacheport/orders/x/a1/x-0001.rdb")}); err != nil {
			t.Fatal(err)
		}
		if err := r.Put(ctx, core.Event{Source: "aws.s3", DetailType: "Object Created",
			Detail: s3Detail(defaultBucket, "cacheport/sessions/x/a1/x-0001.rdb")}); err != nil {
			t.Fatal(err)
		}
		drain(t, r)
		got := in.take()[verifyExport]
		if len(got) != 1 || !strings.Contains(string(got[0]), "cacheport/orders/") {
			t.Errorf("got %d deliveries, want only orders' object", len(got))
		}
	})
	t.Run("delay-events", func(t *testing.T) {
		clock := &testClock{t: mustTime(t, "2026-11-24T03:00:00Z")}
		r := newTestRouter(t, tmpl, Options{Clock: clock, Faults: faults("delay-events"), EventDelay: time.Minute})
		in := subscribe(r, verifyExport)
		put(t, r, 1)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := r.Drain(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("drain before the delay passed: %v, want a timeout", err)
		}
		if got := in.take()[verifyExport]; len(got) != 0 {
			t.Fatalf("delivered before the delay passed")
		}
		clock.Advance(time.Minute)
		drain(t, r)
		if got := in.take()[verifyExport]; len(got) != 1 {
			t.Errorf("got %d deliveries after the delay, want 1", len(got))
		}
	})
}

// TestSchedules fires the real template's schedules on a clock.
func TestSchedules(t *testing.T) {
	ctx := context.Background()
	start := mustTime(t, "2026-11-24T02:50:00Z")
	clock := &testClock{t: start}
	r := newTestRouter(t, realTemplate(t, nil), Options{Clock: clock})
	in := subscribe(r, startExport, verifyExport, cleanupExport)

	fire := func(at string) map[string][]string {
		t.Helper()
		if _, err := r.Fire(ctx, mustTime(t, at)); err != nil {
			t.Fatal(err)
		}
		drain(t, r)
		out := map[string][]string{}
		for id, ps := range in.take() {
			for _, p := range ps {
				out[id] = append(out[id], string(p))
			}
			sort.Strings(out[id])
		}
		return out
	}
	got := fire("2026-11-24T03:05:00Z")
	wantStart := []string{
		`{"action":"advance","scheduled_time":"2026-11-24T02:55:00Z"}`,
		`{"action":"advance","scheduled_time":"2026-11-24T03:00:00Z"}`,
		`{"action":"advance","scheduled_time":"2026-11-24T03:05:00Z"}`,
		`{"action":"window","scheduled_time":"2026-11-24T03:00:00Z"}`,
	}
	if strings.Join(got[startExport], "\n") != strings.Join(wantStart, "\n") {
		t.Errorf("start-export got\n%s\nwant\n%s", strings.Join(got[startExport], "\n"), strings.Join(wantStart, "\n"))
	}
	if w := `{"action":"reconcile","scheduled_time":"2026-11-24T03:05:00Z"}`; len(got[verifyExport]) != 1 || got[verifyExport][0] != w {
		t.Errorf("verify-export got %v, want %s", got[verifyExport], w)
	}
	if len(got[cleanupExport]) != 0 {
		t.Errorf("cleanup-export got %v before its first hour", got[cleanupExport])
	}
	// Nothing is due twice.
	if again := fire("2026-11-24T03:05:00Z"); len(again) != 0 {
		t.Errorf("second Fire at the same time delivered %v", again)
	}
	got = fire("2026-11-24T03:50:00Z")
	if len(got[cleanupExport]) != 1 || got[cleanupExport][0] != `{"action":"stale","scheduled_time":"2026-11-24T03:50:00Z"}` {
		t.Errorf("cleanup-export got %v", got[cleanupExport])
	}
	if n, ok := r.NextDue("StartExportFunctionWindow"); !ok || !n.Equal(mustTime(t, "2026-11-25T03:00:00Z")) {
		t.Errorf("window next due %s", n)
	}

	// FireNow delivers one tick at the clock's time.
	clock.Advance(90 * time.Second)
	if err := r.FireNow(ctx, startExport, "window"); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	if got := in.take()[startExport]; len(got) != 1 || string(got[0]) != `{"action":"window","scheduled_time":"2026-11-24T02:51:30Z"}` {
		t.Errorf("FireNow delivered %q", got)
	}
	if err := r.FireNow(ctx, verifyExport, "window"); err == nil {
		t.Error("FireNow of verify-export's window: no error")
	}
	if err := r.FireNow(ctx, cleanupExport, "Stale"); err != nil {
		t.Errorf("FireNow by event name: %v", err)
	}
	drain(t, r)
}

// TestScheduleParameters takes the schedule expressions from the caller's values.
func TestScheduleParameters(t *testing.T) {
	tmpl := realTemplate(t, map[string]string{"WindowSchedule": "cron(30 2 ? * MON-FRI *)", "AdvanceSchedule": "rate(1 minute)"})
	start := mustTime(t, "2026-11-28T00:00:00Z") // a Saturday
	r := newTestRouter(t, tmpl, Options{Clock: &testClock{t: start}})
	in := subscribe(r, startExport)
	if _, err := r.Fire(context.Background(), mustTime(t, "2026-11-30T02:30:00Z")); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	var windows, advances int
	for _, p := range in.take()[startExport] {
		switch {
		case strings.Contains(string(p), `"window"`):
			windows++
			if !strings.Contains(string(p), "2026-11-30T02:30:00Z") {
				t.Errorf("window %s", p)
			}
		default:
			advances++
		}
	}
	// 2 days and 150 minutes of rate(1 minute): more than MaxCatchUp, so the latest 1000.
	if windows != 1 || advances != DefaultMaxCatchUp {
		t.Errorf("%d windows and %d advances, want 1 and %d", windows, advances, DefaultMaxCatchUp)
	}
	if _, err := LoadTemplate(templatePath, map[string]string{"WindowSchedule": "cron(0 3 * * * *)"}); err == nil ||
		!strings.Contains(err.Error(), "StartExportFunction event Window") {
		t.Errorf("bad WindowSchedule: %v", err)
	}
}

func coreS3Event(detail json.RawMessage) core.Event {
	return core.Event{Source: "aws.s3", DetailType: "Object Created", Resources: []string{"arn:aws:s3:::" + defaultBucket}, Detail: detail}
}

// TestRunOnScaledClock fires schedules from Run on core's fast clock, as the sandbox does.
func TestRunOnScaledClock(t *testing.T) {
	start := mustTime(t, "2026-11-24T02:58:00Z")
	clock := core.NewScaledClock(start, 6000) // 100 minutes a second
	// Start pins the schedules' origin: the clock runs on while the template loads.
	r := newTestRouter(t, realTemplate(t, nil), Options{Clock: clock, Start: start})
	in := subscribe(r, startExport)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	drain(t, r)
	var window int
	for _, p := range in.take()[startExport] {
		if strings.Contains(string(p), `{"action":"window","scheduled_time":"2026-11-24T03:00:00Z"}`) {
			window++
		}
	}
	if window != 1 {
		t.Errorf("the 03:00 window fired %d times in 30 minutes of clock, want 1", window)
	}
}
