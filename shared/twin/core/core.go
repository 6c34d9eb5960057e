// Package core holds what every part of the local AWS twin shares: the clock, the API call log,
// fault injection, the caller's identity from a SigV4 request, and the event and bucket
// contracts between the servers (docs/twin.md).
package core

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Clock tells the twin's time. Lifecycles (snapshots, exports) and schedules run on it.
type Clock interface {
	Now() time.Time
}

// ScaledClock runs Speed times faster than the wall clock from a start time. Speed 1 is real
// time. Safe for concurrent use.
type ScaledClock struct {
	mu    sync.Mutex
	start time.Time
	wall  time.Time
	speed float64
	extra time.Duration
}

// NewScaledClock returns a clock reading start now and running speed times faster than real time.
func NewScaledClock(start time.Time, speed float64) *ScaledClock {
	if speed <= 0 {
		speed = 1
	}
	return &ScaledClock{start: start, wall: time.Now(), speed: speed}
}

// Now reads the clock.
func (c *ScaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Duration(float64(time.Since(c.wall))*c.speed) + c.extra).UTC()
}

// Advance moves the clock forward by d at once.
func (c *ScaledClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.extra += d
	c.mu.Unlock()
}

// Call is one API request the twin served.
type Call struct {
	Caller    string    // the access key id (a function's logical id for in-process functions)
	Service   string    // s3, elasticache, events
	Operation string    // the API operation, as the SDK names it
	Resource  string    // bucket/key, snapshot name, bus: what it acted on (may be empty)
	At        time.Time // wall time
}

// CallLog records every call the twin serves. Safe for concurrent use; the zero value is ready.
type CallLog struct {
	mu    sync.Mutex
	calls []Call
}

// Record adds a call.
func (l *CallLog) Record(c Call) {
	if l == nil {
		return
	}
	if c.At.IsZero() {
		c.At = time.Now()
	}
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
}

// Calls returns a copy of the calls so far.
func (l *CallLog) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

// Operations returns, per caller, the sorted set of "service:Operation" it called.
func (l *CallLog) Operations() map[string][]string {
	set := map[string]map[string]bool{}
	for _, c := range l.Calls() {
		if set[c.Caller] == nil {
			set[c.Caller] = map[string]bool{}
		}
		set[c.Caller][c.Service+":"+c.Operation] = true
	}
	out := map[string][]string{}
	for caller, ops := range set {
		for op := range ops {
			out[caller] = append(out[caller], op)
		}
		sort.Strings(out[caller])
	}
	return out
}

// Faults says which injected faults are active. A fault is KIND or KIND=PARAM; for most kinds
// the parameter is a cache id (none: every cache), for deny it is an IAM-style action
// ("elasticache:CopySnapshot"), for bucket-region a region. Safe for concurrent use; a nil
// *Faults has none.
type Faults struct {
	mu   sync.Mutex
	list []fault
}

type fault struct{ kind, param string }

// Kinds lists the fault kinds the twin knows, with what each does (for --help).
var Kinds = map[string]string{
	"snapshot-fails":      "snapshots of the cache end in status failed",
	"export-fails-midway": "the export writes some shards' objects, then stops (partial objects left)",
	"export-stuck":        "the export never finishes: the snapshot stays in its transitional state",
	"corrupt-object":      "one exported object has a flipped byte",
	"missing-object":      "one shard's object is never written",
	"late-object":         "one object lands long after the others (after the attempt was given up)",
	"throttle":            "API calls are throttled now and then",
	"duplicate-events":    "every event is delivered twice",
	"delay-events":        "events are delivered late",
	"lose-events":         "events are dropped",
	"deny":                "deny=ACTION: calls of that IAM action fail with AccessDenied",
	"no-grant":            "ElastiCache is not granted on the bucket",
	"bucket-region":       "bucket-region=REGION: the bucket is in another region",
}

// ParseFaults parses --fault values (KIND[=PARAM]), refusing unknown kinds.
func ParseFaults(specs []string) (*Faults, error) {
	f := &Faults{}
	for _, s := range specs {
		k, p, _ := strings.Cut(strings.TrimSpace(s), "=")
		if _, ok := Kinds[k]; !ok {
			return nil, &UnknownFaultError{Kind: k}
		}
		f.list = append(f.list, fault{k, p})
	}
	return f, nil
}

// UnknownFaultError reports a fault kind the twin does not know.
type UnknownFaultError struct{ Kind string }

func (e *UnknownFaultError) Error() string {
	var ks []string
	for k := range Kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return "unknown fault " + e.Kind + " (known: " + strings.Join(ks, ", ") + ")"
}

// Add activates a fault at run time.
func (f *Faults) Add(kind, param string) {
	f.mu.Lock()
	f.list = append(f.list, fault{kind, param})
	f.mu.Unlock()
}

// Active reports whether kind applies to target (a cache id, an action, ... ; "" matches only
// faults without a parameter) and returns the fault's parameter. A fault without a parameter
// applies to every target.
func (f *Faults) Active(kind, target string) (param string, ok bool) {
	if f == nil {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.list {
		if x.kind == kind && (x.param == "" || target == "" || strings.EqualFold(x.param, target)) {
			return x.param, true
		}
	}
	return "", false
}

var credRe = regexp.MustCompile(`Credential=([^/,\s]+)/[0-9]{8}/([^/]+)/([^/]+)/aws4_request`)

// Identity is who signed a request and for which service.
type Identity struct {
	AccessKey, Region, Service string
}

// IdentityOf reads the SigV4 Authorization header (or a presigned URL's X-Amz-Credential).
// ok is false when the request is not SigV4-signed.
func IdentityOf(r *http.Request) (Identity, bool) {
	h := r.Header.Get("Authorization")
	if m := credRe.FindStringSubmatch(h); m != nil {
		return Identity{AccessKey: m[1], Region: m[2], Service: m[3]}, true
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		p := strings.Split(c, "/")
		if len(p) == 5 {
			return Identity{AccessKey: p[0], Region: p[2], Service: p[3]}, true
		}
	}
	return Identity{}, false
}

// Event is one EventBridge event as the twin carries it between its servers.
type Event struct {
	Bus        string          // "default" or the cacheport bus name
	Source     string          // aws.s3, aws.elasticache, cacheport
	DetailType string          //
	Resources  []string        //
	Detail     json.RawMessage // the detail object
	Time       time.Time       // when it happened, on the twin's clock
}

// EventSink takes events for delivery (ebsrv implements it).
type EventSink interface {
	Put(ctx context.Context, ev Event) error
}

// Bucket is what ElastiCache's side of the twin needs of S3 (s3srv.Store implements it, and so
// does an adapter over a real S3-compatible server).
type Bucket interface {
	// BucketRegion reports the bucket's region; ok is false when it does not exist.
	BucketRegion(ctx context.Context, bucket string) (region string, ok bool, err error)
	// ElastiCacheGranted reports whether ElastiCache's canonical user holds READ, WRITE and
	// READ_ACP on the bucket.
	ElastiCacheGranted(ctx context.Context, bucket string) (bool, error)
	// ObjectExists reports whether key is in the bucket.
	ObjectExists(ctx context.Context, bucket, key string) (bool, error)
	// PutObject writes an object as ElastiCache's service identity (raising Object Created).
	PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64) error
}
