package ebsrv

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Default identity of the twin's account, used where the caller's values do not say otherwise.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "111122223333"
	DefaultStack   = "cacheport"
	// DefaultBus is the account's default event bus, where AWS's own events arrive.
	DefaultBus = "default"
)

// DefaultLambdaRetries is how often Lambda retries a failed asynchronous invocation when the
// template says nothing (EventInvokeConfig.MaximumRetryAttempts).
const DefaultLambdaRetries = 2

// Template is what the router reads from template.yaml: the buses, the rules with their targets,
// and the schedules. Build one with ParseTemplate or LoadTemplate; it is read-only afterwards.
type Template struct {
	Region, Account string
	Buses           []string          // "default" first, then the template's AWS::Events::EventBus names
	Rules           []*Rule           // sorted by name
	Schedules       []*Schedule       // sorted by name
	Retries         map[string]int    // per function logical id: Lambda's async MaximumRetryAttempts
	Params          map[string]string // every parameter's value: the caller's, else its Default
	// Env is each function's environment (Globals merged with its own), resolved: what the
	// twin's in-process functions read as their settings.
	Env map[string]map[string]string
}

// Rule is an EventBridge rule of the template: an AWS::Events::Rule or a SAM function event of
// Type EventBridgeRule / CloudWatchEvent.
type Rule struct {
	Name    string // SAM's logical id for a function event (FunctionId + EventName), else the resource's
	Bus     string // bus name
	Pattern *Pattern
	Targets []Target
}

// TargetKind tells how a target is delivered.
type TargetKind string

// The kinds of target the twin delivers to.
const (
	TargetFunction TargetKind = "function" // an in-process subscriber (Router.Subscribe)
	TargetTopic    TargetKind = "sns"      // recorded in Router.Alerts
	TargetOther    TargetKind = "other"    // anything else: recorded as delivered, nothing runs
)

// Target is one target of a rule or schedule.
type Target struct {
	ID     string // the function's or topic's logical id (or the Target Id when it names nothing)
	Kind   TargetKind
	Arn    string
	RuleID string // the target's Id in its rule (SAM: FunctionId + EventName + "LambdaTarget")
}

// ScheduleKind is Scheduler (ScheduleV2: only the Input is delivered) or a classic rule schedule
// (Schedule: the full envelope, or the Input when one is given).
type ScheduleKind string

// The schedule kinds of SAM.
const (
	ScheduleV2      ScheduleKind = "ScheduleV2"
	ScheduleClassic ScheduleKind = "Schedule"
)

// Schedule is a schedule of a function in the template.
type Schedule struct {
	Name       string // FunctionId + EventName, as SAM names the generated resource
	Event      string // the event's name in the function (Window, Advance, ...)
	Function   string // target function's logical id
	Kind       ScheduleKind
	Expression string // as resolved: rate(...), cron(...) or at(...)
	Input      string // the target's Input, "" for none
	Action     string // the Input's "action" field, when it has one
	Enabled    bool
	expr       *Expr
}

// LoadTemplate reads and parses a template file (see ParseTemplate).
func LoadTemplate(path string, values map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTemplate(data, values)
}

// ParseTemplate reads a SAM/CloudFormation template's buses, rules and schedules. values
// overrides what intrinsic functions resolve to: a parameter name or logical id ("ExportBucket",
// "ExistingBucketName", "EventBusName"), "ID.Attr" for !GetAtt, or a pseudo parameter
// ("AWS::Region", "AWS::AccountId"). Parameters otherwise take their Default. An error names the
// rule or schedule it could not read (an unsupported intrinsic, an invalid pattern or expression).
func ParseTemplate(data []byte, values map[string]string) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	v, err := plain(&doc)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: a %T, want a mapping", v)
	}
	if res, ok := root["Resources"]; ok {
		if _, ok := res.(map[string]any); !ok {
			return nil, fmt.Errorf("parse template: Resources is a %T, want a mapping", res)
		}
	}
	r := newResolver(root, values)
	t := &Template{Region: r.pseudo["AWS::Region"], Account: r.pseudo["AWS::AccountId"],
		Buses: []string{DefaultBus}, Retries: map[string]int{}, Params: map[string]string{}, Env: map[string]map[string]string{}}
	for name := range r.params {
		v, err := r.ref(name)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		t.Params[name] = v
	}

	globalRetries := DefaultLambdaRetries
	if n, ok := intOf(mapAt(root, "Globals", "Function", "EventInvokeConfig")["MaximumRetryAttempts"]); ok {
		globalRetries = n
	}
	ids := sortedKeys(r.resources)
	for _, id := range ids {
		res := r.resources[id]
		if !r.exists(res) {
			continue
		}
		if res["Type"] == "AWS::Events::EventBus" {
			name, err := r.str(mapAt(res, "Properties")["Name"])
			if err != nil {
				return nil, fmt.Errorf("event bus %s: %w", id, err)
			}
			t.Buses = append(t.Buses, name)
		}
	}
	for _, id := range ids {
		res := r.resources[id]
		if !r.exists(res) {
			continue
		}
		props := mapAt(res, "Properties")
		switch res["Type"] {
		case "AWS::Events::Rule":
			if err := t.addResourceRule(r, id, props); err != nil {
				return nil, fmt.Errorf("rule %s: %w", id, err)
			}
		case "AWS::Serverless::Function":
			env, err := functionEnv(r, mapAt(root, "Globals", "Function", "Environment", "Variables"), mapAt(props, "Environment", "Variables"))
			if err != nil {
				return nil, fmt.Errorf("function %s environment: %w", id, err)
			}
			t.Env[id] = env
			t.Retries[id] = globalRetries
			if n, ok := intOf(mapAt(props, "EventInvokeConfig")["MaximumRetryAttempts"]); ok {
				t.Retries[id] = n
			}
			events := mapAt(props, "Events")
			for _, ev := range sortedKeys(events) {
				em, _ := events[ev].(map[string]any)
				if err := t.addFunctionEvent(r, id, ev, em); err != nil {
					return nil, fmt.Errorf("function %s event %s: %w", id, ev, err)
				}
			}
		}
	}
	sort.Slice(t.Rules, func(i, j int) bool { return t.Rules[i].Name < t.Rules[j].Name })
	sort.Slice(t.Schedules, func(i, j int) bool { return t.Schedules[i].Name < t.Schedules[j].Name })
	return t, nil
}

// functionEnv resolves a function's environment: the Globals' variables, then its own.
func functionEnv(r *resolver, global, own map[string]any) (map[string]string, error) {
	env := map[string]string{}
	for _, vars := range []map[string]any{global, own} {
		for k, v := range vars {
			s, err := r.str(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			env[k] = s
		}
	}
	return env, nil
}

func (t *Template) addResourceRule(r *resolver, id string, props map[string]any) error {
	if st, _ := props["State"].(string); st != "" && st != "ENABLED" {
		return nil
	}
	bus, err := r.bus(props["EventBusName"])
	if err != nil {
		return err
	}
	var targets []Target
	for _, tv := range listOf(props["Targets"]) {
		tm, _ := tv.(map[string]any)
		tg, err := r.target(tm["Arn"])
		if err != nil {
			return fmt.Errorf("target %v: %w", tm["Id"], err)
		}
		tg.RuleID, _ = tm["Id"].(string)
		if tg.ID == "" {
			tg.ID = tg.RuleID
		}
		targets = append(targets, tg)
	}
	if sched, ok := props["ScheduleExpression"]; ok {
		// A classic scheduled rule: one schedule per function target (others are not modelled).
		expr, err := r.str(sched)
		if err != nil {
			return err
		}
		for _, tg := range targets {
			if tg.Kind != TargetFunction {
				continue
			}
			if err := t.addSchedule(id, id, tg.ID, ScheduleClassic, expr, "", "", true); err != nil {
				return err
			}
		}
		if props["EventPattern"] == nil {
			return nil
		}
	}
	return t.addRule(r, id, bus, props["EventPattern"], targets)
}

func (t *Template) addFunctionEvent(r *resolver, fn, ev string, em map[string]any) error {
	props := mapAt(em, "Properties")
	name := fn + ev
	target := Target{ID: fn, Kind: TargetFunction, Arn: r.functionArn(fn), RuleID: name + "LambdaTarget"}
	switch typ, _ := em["Type"].(string); typ {
	case "EventBridgeRule", "CloudWatchEvent":
		if st, _ := props["State"].(string); st != "" && st != "ENABLED" {
			return nil
		}
		if en, ok := props["Enabled"].(bool); ok && !en {
			return nil
		}
		bus, err := r.bus(props["EventBusName"])
		if err != nil {
			return err
		}
		return t.addRule(r, name, bus, props["Pattern"], []Target{target})
	case "ScheduleV2", "Schedule":
		// SAM names the expression ScheduleExpression in ScheduleV2 and Schedule in Schedule.
		field := "ScheduleExpression"
		if typ == "Schedule" {
			field = "Schedule"
		}
		expr, err := r.str(props[field])
		if err != nil {
			return err
		}
		input := ""
		if props["Input"] != nil {
			if input, err = r.str(props["Input"]); err != nil {
				return err
			}
		}
		tz := ""
		if props["ScheduleExpressionTimezone"] != nil {
			if tz, err = r.str(props["ScheduleExpressionTimezone"]); err != nil {
				return err
			}
		}
		enabled := true
		if st, _ := props["State"].(string); st != "" && st != "ENABLED" {
			enabled = false
		}
		if en, ok := props["Enabled"].(bool); ok && !en {
			enabled = false
		}
		return t.addSchedule(name, ev, fn, ScheduleKind(typ), expr, tz, input, enabled)
	}
	return nil
}

func (t *Template) addRule(r *resolver, name, bus string, pattern any, targets []Target) error {
	resolved, err := r.deep(pattern)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(resolved)
	if err != nil {
		return err
	}
	p, err := CompilePattern(raw)
	if err != nil {
		return err
	}
	t.Rules = append(t.Rules, &Rule{Name: name, Bus: bus, Pattern: p, Targets: targets})
	return nil
}

func (t *Template) addSchedule(name, ev, fn string, kind ScheduleKind, expr, tz, input string, enabled bool) error {
	e, err := ParseExpression(expr, tz)
	if err != nil {
		return err
	}
	s := &Schedule{Name: name, Event: ev, Function: fn, Kind: kind, Expression: expr, Input: input,
		Enabled: enabled, expr: e}
	var in struct {
		Action string `json:"action"`
	}
	if input != "" && json.Unmarshal([]byte(input), &in) == nil {
		s.Action = in.Action
	}
	t.Schedules = append(t.Schedules, s)
	return nil
}

// HasBus reports whether name is one of the template's buses (or the default bus).
func (t *Template) HasBus(name string) bool {
	for _, b := range t.Buses {
		if b == name {
			return true
		}
	}
	return false
}

// BusArn returns a bus's ARN in the twin's account.
func (t *Template) BusArn(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", t.Region, t.Account, name)
}

// RuleArn returns a rule's ARN (rules on a custom bus carry the bus in their ARN).
func (t *Template) RuleArn(r *Rule) string {
	if r.Bus == DefaultBus {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", t.Region, t.Account, r.Name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", t.Region, t.Account, r.Bus, r.Name)
}

// resolver evaluates the intrinsic functions the template uses, with the caller's values first.
type resolver struct {
	values    map[string]string
	pseudo    map[string]string
	params    map[string]any
	resources map[string]map[string]any
	conds     map[string]any
	mappings  map[string]any
	condCache map[string]bool
}

func newResolver(root map[string]any, values map[string]string) *resolver {
	r := &resolver{values: values, params: mapAt(root, "Parameters"), conds: mapAt(root, "Conditions"),
		mappings: mapAt(root, "Mappings"), resources: map[string]map[string]any{}, condCache: map[string]bool{}}
	r.pseudo = map[string]string{"AWS::Region": DefaultRegion, "AWS::AccountId": DefaultAccount,
		"AWS::Partition": "aws", "AWS::StackName": DefaultStack, "AWS::URLSuffix": "amazonaws.com",
		"AWS::NoValue": ""}
	for k := range r.pseudo {
		if v, ok := values[k]; ok {
			r.pseudo[k] = v
		}
	}
	r.pseudo["AWS::StackId"] = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000",
		r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"], r.pseudo["AWS::StackName"])
	for id, v := range mapAt(root, "Resources") {
		if m, ok := v.(map[string]any); ok {
			r.resources[id] = m
		}
	}
	return r
}

// exists reports whether a resource's Condition (if any) holds.
func (r *resolver) exists(res map[string]any) bool {
	c, ok := res["Condition"].(string)
	if !ok {
		return true
	}
	b, err := r.condition(c)
	return err == nil && b
}

func (r *resolver) condition(name string) (bool, error) {
	if b, ok := r.condCache[name]; ok {
		return b, nil
	}
	c, ok := r.conds[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	r.condCache[name] = false // a cycle reads false rather than recursing forever
	b, err := r.boolean(c)
	if err == nil {
		r.condCache[name] = b
	}
	return b, err
}

func (r *resolver) boolean(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		return strconv.ParseBool(v)
	case map[string]any:
		if len(v) != 1 {
			break
		}
		for fn, arg := range v {
			args := listOf(arg)
			switch fn {
			case "Condition":
				s, _ := arg.(string)
				return r.condition(s)
			case "Fn::Equals":
				if len(args) != 2 {
					return false, fmt.Errorf("Fn::Equals takes 2 arguments")
				}
				a, err := r.str(args[0])
				if err != nil {
					return false, err
				}
				b, err := r.str(args[1])
				return a == b, err
			case "Fn::Not":
				if len(args) != 1 {
					return false, fmt.Errorf("Fn::Not takes 1 argument")
				}
				b, err := r.boolean(args[0])
				return !b, err
			case "Fn::And", "Fn::Or":
				and := fn == "Fn::And"
				for _, a := range args {
					b, err := r.boolean(a)
					if err != nil {
						return false, err
					}
					if b != and {
						return b, nil
					}
				}
				return and, nil
			}
		}
	}
	return false, fmt.Errorf("cannot evaluate condition %v", v)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// str resolves a value to a string.
func (r *resolver) str(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case map[string]any:
		if len(v) != 1 {
			return "", fmt.Errorf("a mapping where a string is needed")
		}
		for fn, arg := range v {
			return r.intrinsic(fn, arg)
		}
	}
	return "", fmt.Errorf("a %T where a string is needed", v)
}

func (r *resolver) intrinsic(fn string, arg any) (string, error) {
	args := listOf(arg)
	switch fn {
	case "Ref":
		s, _ := arg.(string)
		return r.ref(s)
	case "Fn::GetAtt":
		var parts []string
		if s, ok := arg.(string); ok {
			parts = strings.SplitN(s, ".", 2)
		} else {
			for _, a := range args {
				s, _ := a.(string)
				parts = append(parts, s)
			}
		}
		if len(parts) != 2 {
			return "", fmt.Errorf("!GetAtt %v is not Resource.Attribute", arg)
		}
		return r.getAtt(parts[0], parts[1])
	case "Fn::Sub":
		tmpl, vars := arg, map[string]any(nil)
		if len(args) == 2 {
			tmpl = args[0]
			vars, _ = args[1].(map[string]any)
		}
		s, ok := tmpl.(string)
		if !ok {
			return "", fmt.Errorf("!Sub of a %T", tmpl)
		}
		var err error
		out := subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}"
			}
			var val string
			var e error
			if v, ok := vars[name]; ok {
				val, e = r.str(v)
			} else if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
				val, e = r.getAtt(id, attr)
			} else {
				val, e = r.ref(name)
			}
			if e != nil && err == nil {
				err = e
			}
			return val
		})
		return out, err
	case "Fn::If":
		if len(args) != 3 {
			return "", fmt.Errorf("!If takes 3 arguments")
		}
		c, _ := args[0].(string)
		b, err := r.condition(c)
		if err != nil {
			return "", err
		}
		if b {
			return r.str(args[1])
		}
		return r.str(args[2])
	case "Fn::Join":
		if len(args) != 2 {
			return "", fmt.Errorf("!Join takes 2 arguments")
		}
		sep, err := r.str(args[0])
		if err != nil {
			return "", err
		}
		var parts []string
		for _, p := range listOf(args[1]) {
			s, err := r.str(p)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), nil
	case "Fn::FindInMap":
		if len(args) != 3 {
			return "", fmt.Errorf("!FindInMap takes 3 arguments")
		}
		var keys [3]string
		for i, a := range args {
			s, err := r.str(a)
			if err != nil {
				return "", err
			}
			keys[i] = s
		}
		v, ok := mapAt(r.mappings, keys[0], keys[1])[keys[2]]
		if !ok {
			return "", fmt.Errorf("!FindInMap %v: no such entry", keys)
		}
		return r.str(v)
	}
	return "", fmt.Errorf("unsupported intrinsic %s", fn)
}

func (r *resolver) ref(name string) (string, error) {
	if v, ok := r.values[name]; ok {
		return v, nil
	}
	if v, ok := r.pseudo[name]; ok {
		return v, nil
	}
	if p, ok := r.params[name].(map[string]any); ok {
		return r.str(p["Default"])
	}
	res, ok := r.resources[name]
	if !ok {
		return "", fmt.Errorf("!Ref %s: no such parameter or resource (pass it in values)", name)
	}
	region, account := r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"]
	switch res["Type"] {
	case "AWS::Events::EventBus":
		return r.str(mapAt(res, "Properties")["Name"])
	case "AWS::S3::Bucket":
		if n, ok := mapAt(res, "Properties")["BucketName"]; ok {
			return r.str(n)
		}
		return fmt.Sprintf("cacheport-exports-%s-%s", account, region), nil
	case "AWS::SNS::Topic":
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, account, name), nil
	case "AWS::SQS::Queue":
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, account, name), nil
	}
	return name, nil
}

func (r *resolver) getAtt(id, attr string) (string, error) {
	if v, ok := r.values[id+"."+attr]; ok {
		return v, nil
	}
	res, ok := r.resources[id]
	if !ok {
		return "", fmt.Errorf("!GetAtt %s.%s: no such resource", id, attr)
	}
	region, account := r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"]
	name, err := r.ref(id)
	if err != nil {
		return "", err
	}
	switch typ, _ := res["Type"].(string); {
	case attr == "Name" || attr == "QueueName":
		return name, nil
	case attr != "Arn":
	case typ == "AWS::Events::EventBus":
		return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", region, account, name), nil
	case typ == "AWS::Events::Rule":
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, account, name), nil
	case typ == "AWS::S3::Bucket":
		return "arn:aws:s3:::" + name, nil
	case typ == "AWS::SQS::Queue":
		return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, id), nil
	case typ == "AWS::SNS::Topic":
		return name, nil
	case typ == "AWS::Serverless::Function" || typ == "AWS::Lambda::Function":
		return r.functionArn(id), nil
	}
	return "", fmt.Errorf("!GetAtt %s.%s: attribute not known to the twin (pass it in values)", id, attr)
}

func (r *resolver) functionArn(id string) string {
	if v, ok := r.values[id+".Arn"]; ok {
		return v
	}
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"], id)
}

// bus resolves an EventBusName (a name or ARN; absent is the default bus) to a bus name.
func (r *resolver) bus(v any) (string, error) {
	if v == nil {
		return DefaultBus, nil
	}
	s, err := r.str(v)
	if err != nil {
		return "", fmt.Errorf("EventBusName: %w", err)
	}
	return BusName(s), nil
}

// target resolves a target Arn to the template resource it names.
func (r *resolver) target(v any) (Target, error) {
	arn, err := r.str(v)
	if err != nil {
		return Target{}, err
	}
	tg := Target{Kind: TargetOther, Arn: arn}
	// Find the resource it came from: a Ref or GetAtt of a logical id.
	if m, ok := v.(map[string]any); ok {
		var id string
		if s, ok := m["Ref"].(string); ok {
			id = s
		} else if ga := listOf(m["Fn::GetAtt"]); len(ga) == 2 {
			id, _ = ga[0].(string)
		}
		switch r.resources[id]["Type"] {
		case "AWS::SNS::Topic":
			tg.ID, tg.Kind = id, TargetTopic
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			tg.ID, tg.Kind = id, TargetFunction
		}
	}
	return tg, nil
}

// deep resolves every intrinsic inside a pattern, keeping its structure.
func (r *resolver) deep(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k := range v {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return r.str(v)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			d, err := r.deep(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = d
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			d, err := r.deep(e)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	}
	return v, nil
}

// BusName turns an EventBusName (a name or an event-bus ARN; empty is the default bus) into the
// bus's name.
func BusName(s string) string {
	if s == "" {
		return DefaultBus
	}
	if strings.HasPrefix(s, "arn:") {
		if _, name, ok := strings.Cut(s, ":event-bus/"); ok {
			return name
		}
	}
	return s
}

// plain turns a YAML node into maps, lists and scalars, with CloudFormation's short-form tags in
// their long form (!Ref x → {"Ref": x}, !GetAtt a.b → {"Fn::GetAtt": [a, b]}, !Sub → {"Fn::Sub"}),
// as shared/iam's template test does; numbers become json.Number and booleans bool, so that
// patterns keep their JSON types.
func plain(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := plain(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := plain(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			v = json.Number(n.Value)
			if _, err := strconv.ParseFloat(n.Value, 64); err != nil {
				v = n.Value
			}
		case "!!bool":
			b, err := strconv.ParseBool(n.Value)
			if err != nil {
				v = n.Value
			} else {
				v = b
			}
		case "!!null":
			v = nil
		case "!GetAtt":
			res, attr, ok := strings.Cut(n.Value, ".")
			if !ok {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, n.Value)
			}
			return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
		default:
			v = n.Value
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	switch tag := n.Tag; {
	case strings.HasPrefix(tag, "!!") || !strings.HasPrefix(tag, "!"):
	case tag == "!Ref" || tag == "!Condition":
		return map[string]any{strings.TrimPrefix(tag, "!"): v}, nil
	default:
		return map[string]any{"Fn::" + strings.TrimPrefix(tag, "!"): v}, nil
	}
	return v, nil
}

func mapAt(v any, path ...string) map[string]any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func intOf(v any) (int, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(v.String())
		return n, err == nil
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
