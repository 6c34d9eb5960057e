// Package ecsrv is the local twin's ElastiCache: an http.Handler speaking the AWS Query protocol
// (form-encoded POST, XML responses shaped as botocore's service model says) over simulated
// caches, so that the real aws-sdk-go-v2 client, the AWS CLI and boto3 work against it unchanged.
//
// The caches are described by Cache specs (replication groups with cluster mode disabled or
// enabled, standalone clusters, serverless caches, Memcached clusters, a data-tiering group).
// Snapshots and exports run asynchronously on the twin's core.Clock: Tick applies every
// transition that is due (Run calls it in the background). A snapshot's data is real: each shard
// has a DataSource that yields an RDB file at snapshot time, from a real redis-server or from
// rdbgen. Exports write objects through core.Bucket as ElastiCache names them, faults from
// core.Faults change what happens, serverless snapshots raise aws.elasticache events through
// core.EventSink (node-based caches raise none, as in AWS), and every request is recorded in the
// core.CallLog.
//
// # Lifecycles (on the clock, applied by Tick)
//
// CreateSnapshot / CreateServerlessCacheSnapshot: creating, then available (or failed) after
// Options.SnapshotDelay; the cache shows snapshotting meanwhile and refuses another backup
// (InvalidReplicationGroupState / InvalidCacheClusterState / InvalidServerlessCacheStateFault).
// The data is read when the snapshot is created. CopySnapshot with TargetBucket and
// ExportServerlessCacheSnapshot: the snapshot shows exporting (what AWS shows is unconfirmed)
// and one object per shard lands Options.ExportDelay apart, then the snapshot is available
// again. Node-based objects are TARGET-0001.rdb, TARGET-0002.rdb, ... with the target name
// lower-cased; serverless objects are SNAPSHOT-0001.rdb, ... (AWS's serverless naming is
// unconfirmed; Options.ServerlessKey changes it). Snapshots that are creating or exporting
// cannot be deleted. The manual snapshot quota counts creations (deleted snapshots too) in the
// last 24 hours of the clock: 20 per node-based cache, 24 per serverless cache.
//
// # Faults (core.Faults, by cache id unless said)
//
//	snapshot-fails       the snapshot ends failed (serverless: Snapshot Creation Failed)
//	export-fails-midway  the first half of the shards' objects land (one shard: half a file),
//	                     the rest never; the snapshot is available again (serverless: Snapshot
//	                     Export Failed)
//	export-stuck         no object lands and the snapshot stays exporting
//	corrupt-object       the last shard's object has a flipped byte
//	missing-object       the last shard's object never lands
//	late-object          the last shard's object lands Options.LateDelay after the export began,
//	                     after the snapshot is available again
//	no-grant             the bucket check says ElastiCache is not granted
//	bucket-region=R      the bucket is treated as being in region R (every cache)
//	deny=elasticache:A   action A fails with AccessDenied (403)
//	throttle             every Options.ThrottleEvery-th call it covers fails with Throttling (400)
//
// Snapshot and export faults are read when the snapshot or export starts; deny and throttle on
// every call.
//
// A Server is safe for concurrent use. Close stops the redis-server processes it started. An
// EventSink or Bucket must not call Tick (Tick calls them, and Ticks are serialized).
package ecsrv

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// Defaults of Options.
const (
	DefaultRegion        = "us-east-1"
	DefaultAccount       = "111122223333"
	DefaultSnapshotDelay = 2 * time.Minute
	DefaultExportDelay   = time.Minute
	DefaultLateDelay     = 2 * time.Hour
	DefaultThrottleEvery = 4
	// DefaultQuota and DefaultServerlessQuota are AWS's manual snapshot quotas per cache per 24
	// hours of the clock (AWS-FACTS.md, "Limits").
	DefaultQuota           = 20
	DefaultServerlessQuota = 24
)

// DataMode says where snapshot data comes from for shards without a Cache.Data source.
type DataMode int

// Data modes.
const (
	// DataAuto uses a real redis-server per shard when one is on PATH, else rdbgen.
	DataAuto DataMode = iota
	// DataGenerated always uses rdbgen (no processes: scale tests, the benchmark).
	DataGenerated
	// DataRedis always uses a real redis-server; a snapshot fails when none can be started.
	DataRedis
)

// Options configure a Server. The zero value works: us-east-1, account 111122223333, the wall
// clock, no call log, faults, events or bucket (exports then fail).
type Options struct {
	Region, Account string
	Clock           core.Clock
	CallLog         *core.CallLog
	Faults          *core.Faults
	Events          core.EventSink // receives aws.elasticache events of serverless caches
	Bucket          core.Bucket    // where exports are written and checked
	Logger          *slog.Logger

	// SnapshotDelay is how long a snapshot stays creating (default 2 min of the clock).
	SnapshotDelay time.Duration
	// ExportDelay is the time between an export's start and its first object, and between its
	// objects (default 1 min).
	ExportDelay time.Duration
	// LateDelay is when the late-object fault's object lands after the export started
	// (default 2 h).
	LateDelay time.Duration
	// ThrottleEvery makes every n-th call that the throttle fault covers fail with Throttling
	// (default 4, so the SDK's retries get through).
	ThrottleEvery int
	// Latency is added to every request (the scale benchmark's API latency).
	Latency time.Duration

	// Data is where shard data comes from when a Cache has no Data of its own.
	Data DataMode
	// GenKeys and GenValueSize size rdbgen's files (defaults 200 keys of about 32 bytes).
	GenKeys, GenValueSize int
	// RedisKeys is how many keys a real redis-server shard is filled with (default 300).
	RedisKeys int
	// RedisServer is the redis-server program (default: "redis-server" on PATH).
	RedisServer string
	// MemcachedNodes backs every node of a Memcached cluster with a real memcached on loopback
	// (MemcachedServer), started and filled with MemcachedKeys keys (default
	// DefaultMemcachedKeys) by the first DescribeCacheClusters that shows node info, which then
	// reports each node's real address as its endpoint. Off: node endpoints are made-up host
	// names with nothing behind them. Close stops the processes.
	MemcachedNodes bool
	MemcachedKeys  int
	// MemcachedServer is the memcached program (default: "memcached" on PATH).
	MemcachedServer string

	// ServerlessKey names the object of shard (1-based) of a serverless export of snapshot.
	// Default: SNAPSHOT-0001.rdb, ... (AWS's naming is unconfirmed: it starts with the name).
	ServerlessKey func(snapshot string, shard int) string
}

// Server is the ElastiCache twin. Build it with New.
type Server struct {
	o      Options
	log    *slog.Logger
	mu     sync.Mutex
	tickMu sync.Mutex

	caches     map[string]*cache // by id: groups, standalone/memcached clusters, serverless caches
	members    map[string]*cache // member cluster id -> its replication group
	snapshots  map[string]*snapshot
	serverless map[string]*snapshot
	creations  map[string][]time.Time // manual snapshot creations per cache id (quota)
	events     []xmlEvent
	reqs       uint64
	throttled  uint64
	jobs       []*exportJob
	procs      []*redisProc
	closed     bool
}

// New returns a Server with no caches (add them with AddCache).
func New(o Options) *Server {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.SnapshotDelay <= 0 {
		o.SnapshotDelay = DefaultSnapshotDelay
	}
	if o.ExportDelay <= 0 {
		o.ExportDelay = DefaultExportDelay
	}
	if o.LateDelay <= 0 {
		o.LateDelay = DefaultLateDelay
	}
	if o.ThrottleEvery <= 0 {
		o.ThrottleEvery = DefaultThrottleEvery
	}
	if o.ServerlessKey == nil {
		o.ServerlessKey = ShardKey
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		o: o, log: log,
		caches:     map[string]*cache{},
		members:    map[string]*cache{},
		snapshots:  map[string]*snapshot{},
		serverless: map[string]*snapshot{},
		creations:  map[string][]time.Time{},
	}
}

// ShardKey is ElastiCache's object name for shard (1-based) of an export named target:
// target-0001.rdb, target-0002.rdb, ...
func ShardKey(target string, shard int) string {
	return fmt.Sprintf("%s-%04d.rdb", target, shard)
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

func (s *Server) now() time.Time { return s.o.Clock.Now().UTC() }

// apiError is an AWS error response.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Errors of the service model (codes and HTTP statuses from botocore's model).
func errInvalidParam(format string, args ...any) *apiError {
	return errf(400, "InvalidParameterValue", format, args...)
}
func errParamCombination(format string, args ...any) *apiError {
	return errf(400, "InvalidParameterCombination", format, args...)
}
func errMissing(name string) *apiError {
	return errf(400, "MissingParameter", "The request must contain the parameter %s", name)
}

// operation handles one action with its form; it returns the result to marshal or an error.
type operation func(s *Server, ctx context.Context, f form) (any, *apiError)

var operations = map[string]operation{
	"DescribeReplicationGroups":        (*Server).describeReplicationGroups,
	"DescribeCacheClusters":            (*Server).describeCacheClusters,
	"DescribeServerlessCaches":         (*Server).describeServerlessCaches,
	"DescribeSnapshots":                (*Server).describeSnapshots,
	"DescribeServerlessCacheSnapshots": (*Server).describeServerlessSnapshots,
	"ListTagsForResource":              (*Server).listTags,
	"AddTagsToResource":                (*Server).addTags,
	"CreateSnapshot":                   (*Server).createSnapshot,
	"CreateServerlessCacheSnapshot":    (*Server).createServerlessSnapshot,
	"CopySnapshot":                     (*Server).copySnapshot,
	"ExportServerlessCacheSnapshot":    (*Server).exportServerlessSnapshot,
	"DeleteSnapshot":                   (*Server).deleteSnapshot,
	"DeleteServerlessCacheSnapshot":    (*Server).deleteServerlessSnapshot,
	"DescribeEvents":                   (*Server).describeEvents,
}

// Operations lists the actions the twin serves.
func Operations() []string {
	out := make([]string, 0, len(operations))
	for k := range operations {
		out = append(out, k)
	}
	return out
}

// ServeHTTP serves one Query-protocol request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs++
	reqID := fmt.Sprintf("%08x-ec00-4000-8000-%012x", s.reqs, s.reqs*7919)
	s.mu.Unlock()
	w.Header().Set("x-amzn-RequestId", reqID)
	if s.o.Latency > 0 {
		select {
		case <-time.After(s.o.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeError(w, reqID, errf(405, "InvalidAction", "method %s not allowed", r.Method))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, reqID, errf(400, "MalformedQueryString", "%v", err))
		return
	}
	f := form(r.Form)
	action := f.get("Action")
	id, signed := core.IdentityOf(r)
	resource := s.resourceOf(action, f)
	s.o.CallLog.Record(core.Call{Caller: id.AccessKey, Service: "elasticache", Operation: action, Resource: resource})
	if !signed {
		writeError(w, reqID, errf(403, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	op, ok := operations[action]
	if !ok {
		writeError(w, reqID, errf(400, "InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if v := f.get("Version"); v != "" && v != "2015-02-02" {
		writeError(w, reqID, errf(400, "InvalidParameterValue", "Version %s is not supported (2015-02-02 is)", v))
		return
	}
	if _, deny := s.o.Faults.Active("deny", "elasticache:"+action); deny {
		writeError(w, reqID, errf(403, "AccessDenied", "User: arn:aws:sts::%s:assumed-role/%s is not authorized to perform: elasticache:%s on resource: %s because no identity-based policy allows the elasticache:%s action",
			s.o.Account, id.AccessKey, action, s.arnOf(resource), action))
		return
	}
	if s.throttle(s.cacheIDOf(resource)) {
		writeError(w, reqID, errf(400, "Throttling", "Rate exceeded"))
		return
	}
	res, aerr := op(s, r.Context(), f)
	if aerr != nil {
		writeError(w, reqID, aerr)
		return
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "<%sResponse xmlns=%q>", action, xmlns)
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(res, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
		writeError(w, reqID, errf(500, "InternalFailure", "encode %s: %v", action, err))
		return
	}
	fmt.Fprintf(&buf, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", reqID, action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// throttle reports whether this call is refused by the throttle fault: every ThrottleEvery-th
// call the fault covers.
func (s *Server) throttle(cacheID string) bool {
	if _, ok := s.o.Faults.Active("throttle", cacheID); !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled++
	return s.throttled%uint64(s.o.ThrottleEvery) == 0
}

// ThrottledCalls reports how many calls the throttle fault has refused so far (each one a retry
// for the caller).
func (s *Server) ThrottledCalls() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled / uint64(s.o.ThrottleEvery)
}

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	var er xmlErrorResponse
	er.Xmlns = xmlns
	er.Error.Type = "Sender"
	if e.status >= 500 {
		er.Error.Type = "Receiver"
	}
	er.Error.Code, er.Error.Message, er.RequestID = e.code, e.message, reqID
	b, _ := xml.Marshal(er)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// resourceOf names what a call acts on, for the call log: the snapshot or cache it names.
func (s *Server) resourceOf(action string, f form) string {
	for _, p := range []string{"SnapshotName", "SourceSnapshotName", "ServerlessCacheSnapshotName", "ReplicationGroupId", "CacheClusterId", "ServerlessCacheName", "SourceIdentifier"} {
		if v := f.get(p); v != "" {
			return v
		}
	}
	if arn := f.get("ResourceName"); arn != "" {
		if i := strings.LastIndexByte(arn, ':'); i >= 0 {
			return arn[i+1:]
		}
		return arn
	}
	return ""
}

// cacheIDOf returns the cache a resource belongs to: itself when it is a cache, the group of a
// member cluster, the cache of a snapshot; else the resource.
func (s *Server) cacheIDOf(resource string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.members[resource]; ok {
		return c.spec.ID
	}
	if sn, ok := s.snapshots[resource]; ok {
		return sn.cache.spec.ID
	}
	if sn, ok := s.serverless[resource]; ok {
		return sn.cache.spec.ID
	}
	return resource
}

// arnOf returns the ARN of a named resource for messages ("*" when unknown).
func (s *Server) arnOf(resource string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.caches[resource]; ok {
		return c.arn
	}
	if sn, ok := s.snapshots[resource]; ok {
		return sn.arn()
	}
	if sn, ok := s.serverless[resource]; ok {
		return sn.arn()
	}
	return "*"
}

// form is the request's parameters.
type form map[string][]string

func (f form) get(k string) string {
	if v := f[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (f form) bool(k string) bool { return strings.EqualFold(f.get(k), "true") }

// int reads an optional integer within [lo, hi]; def when absent.
func (f form) int(k string, def, lo, hi int) (int, *apiError) {
	v := f.get(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errInvalidParam("%s must be an integer between %d and %d, got %q", k, lo, hi, v)
	}
	return n, nil
}

// tags reads a Query-protocol tag list: Tags.Tag.N.Key / .Value (Tags.member.N also accepted).
func (f form) tags() []xmlTag {
	byN := map[int]*xmlTag{}
	maxN := 0
	for k, v := range f {
		rest, ok := strings.CutPrefix(k, "Tags.")
		if !ok {
			continue
		}
		if r, ok := strings.CutPrefix(rest, "Tag."); ok {
			rest = r
		} else if r, ok := strings.CutPrefix(rest, "member."); ok {
			rest = r
		} else {
			continue
		}
		ns, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 1 || len(v) == 0 {
			continue
		}
		t := byN[n]
		if t == nil {
			t = &xmlTag{}
			byN[n] = t
		}
		switch field {
		case "Key":
			t.Key = v[0]
		case "Value":
			t.Value = v[0]
		}
		maxN = max(maxN, n)
	}
	var out []xmlTag
	for i := 1; i <= maxN; i++ {
		if t := byN[i]; t != nil && t.Key != "" {
			out = append(out, *t)
		}
	}
	return out
}

// page returns items[start:start+size] and the marker of the next page ("" at the end). A
// marker is the index of the next item; anything else is refused.
func page[T any](items []T, marker string, size int) ([]T, string, *apiError) {
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(marker, "m"))
		if err != nil || n < 0 || !strings.HasPrefix(marker, "m") {
			return nil, "", errInvalidParam("Invalid marker %q", marker)
		}
		start = min(n, len(items))
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = "m" + strconv.Itoa(end)
	}
	return items[start:end], next, nil
}
