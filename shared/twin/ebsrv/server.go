package ebsrv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// Limits of PutEvents, as EventBridge enforces them.
const (
	MaxEntries      = 10
	MaxRequestBytes = 256 * 1024
)

// ThrottleEvery is how often the throttle fault refuses a request: every ThrottleEvery-th
// request it applies to (counted per Server), so an SDK's retry then succeeds.
const ThrottleEvery = 3

// Server is EventBridge's JSON 1.1 API over a Router: PutEvents, and the read-only
// ListEventBuses, DescribeEventBus, ListRules, DescribeRule and ListTargetsByRule. Every
// request is recorded in the CallLog (service "events"). Faults (from the router's Options):
// deny=events:OPERATION answers AccessDeniedException; throttle answers ThrottlingException to
// every ThrottleEvery-th request. Safe for concurrent use.
type Server struct {
	router *Router
	log    *core.CallLog
	faults *core.Faults

	mu        sync.Mutex
	throttled int
}

// NewServer returns the HTTP handler of EventBridge's API over r; log may be nil.
func NewServer(r *Router, log *core.CallLog) *Server {
	return &Server{router: r, log: log, faults: r.opts.Faults}
}

// apiError is an error answer of the JSON protocol.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP serves one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	id, signed := core.IdentityOf(req)
	op, known := strings.CutPrefix(req.Header.Get("X-Amz-Target"), "AWSEvents.")
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxRequestBytes+64*1024))
	if !signed {
		writeError(w, errorf("MissingAuthenticationTokenException", "Request is missing Authentication Token"))
		return
	}
	if err != nil {
		writeError(w, errorf("SerializationException", "read request: %v", err))
		return
	}
	if req.Method != http.MethodPost || !known || op == "" {
		s.record(id, op, "")
		writeError(w, errorf("UnknownOperationException", "unknown operation %q", req.Header.Get("X-Amz-Target")))
		return
	}
	var out any
	var resource string
	if op != "PutEvents" {
		// PutEvents authorizes itself, once it knows the buses and the cache.
		arn := fmt.Sprintf("arn:aws:events:%s:%s:*", s.router.tmpl.Region, s.router.tmpl.Account)
		if err := s.authorize(id, op, arn, ""); err != nil {
			s.record(id, op, "")
			writeError(w, err.(*apiError))
			return
		}
	}
	switch op {
	case "PutEvents":
		out, resource, err = s.putEvents(req.Context(), id, body)
	case "ListEventBuses":
		out, err = s.listEventBuses(body)
	case "DescribeEventBus":
		out, resource, err = s.describeEventBus(body)
	case "ListRules":
		out, resource, err = s.listRules(body)
	case "DescribeRule":
		out, resource, err = s.describeRule(body)
	case "ListTargetsByRule":
		out, resource, err = s.listTargetsByRule(body)
	default:
		err = errorf("UnknownOperationException", "operation %s is not supported by the twin", op)
	}
	s.record(id, op, resource)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{status: http.StatusInternalServerError, code: "InternalException", message: err.Error()}
		}
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) record(id core.Identity, op, resource string) {
	s.log.Record(core.Call{Caller: id.AccessKey, Service: "events", Operation: op, Resource: resource})
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"InternalException","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeJSON(w, e.status, map[string]string{"__type": e.code, "message": e.message})
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return errorf("SerializationException", "request body: %v", err)
	}
	return nil
}

// authorize applies the deny and throttle faults to one request about cache ("" unknown). Its
// error is an *apiError.
func (s *Server) authorize(id core.Identity, op, resourceArn, cache string) error {
	if _, ok := s.faults.Active("deny", "events:"+op); ok {
		return errorf("AccessDeniedException", "User: arn:aws:sts::%s:assumed-role/%s/twin is not authorized to perform: events:%s on resource: %s because no identity-based policy allows the events:%s action",
			s.router.tmpl.Account, id.AccessKey, op, resourceArn, op)
	}
	if faultOn(s.faults, "throttle", cache) {
		s.mu.Lock()
		s.throttled++
		n := s.throttled
		s.mu.Unlock()
		if n%ThrottleEvery == 0 {
			return errorf("ThrottlingException", "Rate exceeded")
		}
	}
	return nil
}

type putEventsEntry struct {
	Source       *string
	DetailType   *string
	Detail       *string
	EventBusName *string
	Resources    []string
	Time         any // epoch seconds (JSON 1.1), or an RFC 3339 string
	TraceHeader  *string
}

type putEventsResultEntry struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

func (s *Server) putEvents(ctx context.Context, id core.Identity, body []byte) (any, string, error) {
	var in struct {
		Entries    []putEventsEntry
		EndpointId *string
	}
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	var buses []string
	seen := map[string]bool{}
	cache := ""
	for _, e := range in.Entries {
		b := BusName(deref(e.EventBusName))
		if !seen[b] {
			seen[b] = true
			buses = append(buses, b)
		}
		if cache == "" && e.Detail != nil {
			var d struct {
				Cache string `json:"cache"`
			}
			_ = json.Unmarshal([]byte(*e.Detail), &d)
			cache = d.Cache
		}
	}
	resource := strings.Join(buses, ",")
	switch {
	case len(in.Entries) == 0:
		return nil, resource, errorf("ValidationException", "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null")
	case len(in.Entries) > MaxEntries:
		return nil, resource, errorf("ValidationException", "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", MaxEntries)
	case len(body) > MaxRequestBytes:
		return nil, resource, errorf("ValidationException", "Total size of the entries in the request is over the limit.")
	}
	if err := s.authorize(id, "PutEvents", s.router.tmpl.BusArn(buses[0]), cache); err != nil {
		return nil, resource, err
	}
	type output struct {
		Entries          []putEventsResultEntry
		FailedEntryCount int
	}
	out := output{Entries: make([]putEventsResultEntry, len(in.Entries))}
	for i, e := range in.Entries {
		res := s.putEntry(ctx, e)
		if res.ErrorCode != "" {
			out.FailedEntryCount++
		}
		out.Entries[i] = res
	}
	return out, resource, nil
}

func (s *Server) putEntry(ctx context.Context, e putEventsEntry) putEventsResultEntry {
	fail := func(code, msg string) putEventsResultEntry {
		return putEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
	}
	switch {
	case e.Source == nil || *e.Source == "":
		return fail("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.")
	case e.DetailType == nil || *e.DetailType == "":
		return fail("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
	case e.Detail == nil || *e.Detail == "":
		return fail("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*e.Detail), &obj); err != nil || obj == nil {
		return fail("MalformedDetail", "Detail is malformed.")
	}
	at, err := entryTime(e.Time)
	if err != nil {
		return fail("InvalidArgument", "Parameter Time is not valid. Reason: "+err.Error())
	}
	ev := core.Event{Bus: BusName(deref(e.EventBusName)), Source: *e.Source, DetailType: *e.DetailType,
		Resources: e.Resources, Detail: json.RawMessage(*e.Detail), Time: at}
	id, err := s.router.put(ctx, ev)
	switch {
	case errors.Is(err, ErrNoSuchBus):
		return fail("ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", ev.Bus))
	case errors.Is(err, ErrQueueFull):
		return fail("ThrottlingException", "Rate exceeded")
	case err != nil:
		return fail("InternalFailure", err.Error())
	}
	return putEventsResultEntry{EventId: id}
}

func entryTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, err
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, v)
	}
	return time.Time{}, fmt.Errorf("not a timestamp")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type busOut struct {
	Name string
	Arn  string
}

func (s *Server) listEventBuses(body []byte) (any, error) {
	var in struct{ NamePrefix string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	out := struct{ EventBuses []busOut }{EventBuses: []busOut{}}
	for _, b := range s.router.tmpl.Buses {
		if strings.HasPrefix(b, in.NamePrefix) {
			out.EventBuses = append(out.EventBuses, busOut{Name: b, Arn: s.router.tmpl.BusArn(b)})
		}
	}
	return out, nil
}

func (s *Server) bus(name string) (string, error) {
	b := BusName(name)
	if !s.router.tmpl.HasBus(b) {
		return b, errorf("ResourceNotFoundException", "Event bus %s does not exist.", b)
	}
	return b, nil
}

func (s *Server) describeEventBus(body []byte) (any, string, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	b, err := s.bus(in.Name)
	if err != nil {
		return nil, b, err
	}
	return busOut{Name: b, Arn: s.router.tmpl.BusArn(b)}, b, nil
}

type ruleOut struct {
	Name         string
	Arn          string
	EventPattern string
	State        string
	EventBusName string
	CreatedBy    string `json:",omitempty"`
}

func (s *Server) ruleOut(r *Rule) ruleOut {
	return ruleOut{Name: r.Name, Arn: s.router.tmpl.RuleArn(r), EventPattern: r.Pattern.String(),
		State: "ENABLED", EventBusName: r.Bus}
}

func (s *Server) listRules(body []byte) (any, string, error) {
	var in struct{ NamePrefix, EventBusName string }
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	b, err := s.bus(in.EventBusName)
	if err != nil {
		return nil, b, err
	}
	out := struct{ Rules []ruleOut }{Rules: []ruleOut{}}
	for _, r := range s.router.tmpl.Rules {
		if r.Bus == b && strings.HasPrefix(r.Name, in.NamePrefix) {
			out.Rules = append(out.Rules, s.ruleOut(r))
		}
	}
	return out, b, nil
}

func (s *Server) findRule(name, busName string) (*Rule, string, error) {
	b, err := s.bus(busName)
	if err != nil {
		return nil, b, err
	}
	for _, r := range s.router.tmpl.Rules {
		if r.Bus == b && r.Name == name {
			return r, b + "/" + name, nil
		}
	}
	return nil, b + "/" + name, errorf("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", name, b)
}

func (s *Server) describeRule(body []byte) (any, string, error) {
	var in struct{ Name, EventBusName string }
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	r, res, err := s.findRule(in.Name, in.EventBusName)
	if err != nil {
		return nil, res, err
	}
	o := s.ruleOut(r)
	o.CreatedBy = s.router.tmpl.Account
	return o, res, nil
}

func (s *Server) listTargetsByRule(body []byte) (any, string, error) {
	var in struct{ Rule, EventBusName string }
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	r, res, err := s.findRule(in.Rule, in.EventBusName)
	if err != nil {
		return nil, res, err
	}
	type targetOut struct{ Id, Arn string }
	out := struct{ Targets []targetOut }{Targets: []targetOut{}}
	for _, t := range r.Targets {
		out.Targets = append(out.Targets, targetOut{Id: t.RuleID, Arn: t.Arn})
	}
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].Id < out.Targets[j].Id })
	return out, res, nil
}
