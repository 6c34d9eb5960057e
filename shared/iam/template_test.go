package iam

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// deployed are the functions template.yaml must hold.
var deployed = []string{StartExport, VerifyExport, CleanupExport, GrantBucketAccess, Audit, MemcachedExport}

// repoFile returns the path of a file at the module root (the directory holding go.mod), found by
// walking up from the test's working directory.
func repoFile(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, name)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory: cannot find %s", name)
		}
		dir = parent
	}
}

// loadTemplate parses a CloudFormation template into plain maps, lists and scalars, turning the
// short-form tags into their long form (!Ref x → {"Ref": x}, !Sub s → {"Fn::Sub": s},
// !GetAtt a.b → {"Fn::GetAtt": [a, b]}, ...) and resolving YAML aliases.
func loadTemplate(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse template: %v", err)
	}
	v, err := plain(&doc)
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("template is a %T, want a mapping", v)
	}
	return m
}

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
		v = n.Value
		if n.Tag == "!GetAtt" {
			res, attr, ok := strings.Cut(n.Value, ".")
			if !ok {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, n.Value)
			}
			return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	// Standard tags are "!!str", "!!map", ...; CloudFormation's are "!Name".
	switch tag := n.Tag; {
	case strings.HasPrefix(tag, "!!") || !strings.HasPrefix(tag, "!"):
	case tag == "!Ref" || tag == "!Condition":
		return map[string]any{strings.TrimPrefix(tag, "!"): v}, nil
	default:
		return map[string]any{"Fn::" + strings.TrimPrefix(tag, "!"): v}, nil
	}
	return v, nil
}

// strs returns a string or a list of strings as a list; other values yield ok=false.
func strs(v any) (out []string, ok bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func mapAt(v any, path ...string) map[string]any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	m, _ := v.(map[string]any)
	return m
}

// functions returns the template's AWS::Serverless::Function resources by logical id.
func functions(tmpl map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range mapAt(tmpl, "Resources") {
		if res, _ := r.(map[string]any); res["Type"] == "AWS::Serverless::Function" {
			out[id] = res
		}
	}
	return out
}

// policyActions collects the actions of a function's inline policies. Anything the test cannot
// read (a SAM policy template, a managed policy, a Role of its own, NotAction, a non-literal
// action) is a problem: it would hide actions from the comparison with the table.
func policyActions(fn map[string]any) (actions []string, problems []string) {
	props := mapAt(fn, "Properties")
	if _, ok := props["Role"]; ok {
		problems = append(problems, "has its own Role: give it inline Policies instead")
	}
	pols, ok := props["Policies"].([]any)
	if !ok {
		return nil, append(problems, "has no Policies list")
	}
	for i, p := range pols {
		doc, _ := p.(map[string]any)
		stmts, ok := doc["Statement"].([]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("policy %d is not an inline policy document (SAM policy templates and managed policies hide their actions)", i))
			continue
		}
		for j, s := range stmts {
			st, _ := s.(map[string]any)
			where := fmt.Sprintf("policy %d statement %d (%v)", i, j, st["Sid"])
			if st["Effect"] != "Allow" {
				problems = append(problems, where+": Effect is not Allow")
			}
			if _, ok := st["NotAction"]; ok {
				problems = append(problems, where+": NotAction grants everything else")
			}
			as, ok := strs(st["Action"])
			if !ok {
				problems = append(problems, where+": Action is not a literal string or list of strings")
			}
			actions = append(actions, as...)
		}
	}
	return actions, problems
}

func readTemplate(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(repoFile(t, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return loadTemplate(t, data)
}

// diff returns what want holds that got lacks and what got holds that want lacks (IAM action
// names compare case-insensitively).
func diff(got, want []string) (missing, extra []string) {
	norm := func(ss []string) map[string]string {
		m := map[string]string{}
		for _, s := range ss {
			m[strings.ToLower(s)] = s
		}
		return m
	}
	g, w := norm(got), norm(want)
	for k, s := range w {
		if _, ok := g[k]; !ok {
			missing = append(missing, s)
		}
	}
	for k, s := range g {
		if _, ok := w[k]; !ok {
			extra = append(extra, s)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// TestTemplatePoliciesMatchTable proves that each function's policies in template.yaml hold
// exactly the actions CONTRACTS.md's table gives it, with no wildcard.
func TestTemplatePoliciesMatchTable(t *testing.T) {
	fns := functions(readTemplate(t))
	for _, id := range deployed {
		if _, ok := fns[id]; !ok {
			t.Errorf("template.yaml has no %s", id)
		}
	}
	for id, fn := range fns {
		t.Run(id, func(t *testing.T) {
			if Actions(id) == nil {
				t.Fatalf("%s is not in the table: add its row (CONTRACTS.md, Who does what)", id)
			}
			got, problems := policyActions(fn)
			for _, p := range problems {
				t.Errorf("%s %s", id, p)
			}
			for _, a := range got {
				if strings.ContainsAny(a, "*?") {
					t.Errorf("%s holds wildcard action %q", id, a)
				}
			}
			missing, extra := diff(got, Actions(id))
			if len(missing) > 0 || len(extra) > 0 {
				t.Errorf("%s policies differ from the table:\n  in the table, not in the template: %v\n  in the template, not in the table: %v", id, missing, extra)
			}
		})
	}
}

// rule is an EventBridge rule of the template: a SAM event source or an AWS::Events::Rule.
type rule struct {
	name    string
	bus     any // EventBusName as written; nil when absent (the default bus)
	sources []string
}

func rules(tmpl map[string]any) []rule {
	var out []rule
	add := func(name string, bus, pattern any) {
		pm, _ := pattern.(map[string]any)
		srcs, _ := strs(pm["source"])
		out = append(out, rule{name: name, bus: bus, sources: srcs})
	}
	for id, r := range mapAt(tmpl, "Resources") {
		res, _ := r.(map[string]any)
		props := mapAt(res, "Properties")
		switch res["Type"] {
		case "AWS::Events::Rule":
			add(id, props["EventBusName"], props["EventPattern"])
		case "AWS::Serverless::Function":
			for ev, e := range mapAt(props, "Events") {
				em, _ := e.(map[string]any)
				if typ := em["Type"]; typ == "EventBridgeRule" || typ == "CloudWatchEvent" {
					ep := mapAt(em, "Properties")
					add(id+"."+ev, ep["EventBusName"], ep["Pattern"])
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b rule) int { return strings.Compare(a.name, b.name) })
	return out
}

// onDefaultBus reports whether an EventBusName (as written in the template) is the default bus.
func onDefaultBus(bus any) bool {
	switch b := bus.(type) {
	case nil:
		return true
	case string:
		return b == "default" || strings.HasSuffix(b, ":event-bus/default")
	}
	return false
}

// onBusResource reports whether an EventBusName refers to an AWS::Events::EventBus of the
// template (by Ref, or GetAtt Name or Arn).
func onBusResource(tmpl map[string]any, bus any) bool {
	m, _ := bus.(map[string]any)
	var id string
	if ref, ok := m["Ref"].(string); ok {
		id = ref
	} else if ga, ok := strs(m["Fn::GetAtt"]); ok && len(ga) == 2 && (ga[1] == "Name" || ga[1] == "Arn") {
		id = ga[0]
	}
	return id != "" && mapAt(tmpl, "Resources", id)["Type"] == "AWS::Events::EventBus"
}

// TestRulesOnTheRightBus proves that rules for AWS's own events (source aws.*) are on the
// default bus, where AWS delivers them, and rules for cacheport's events on the cacheport bus.
func TestRulesOnTheRightBus(t *testing.T) {
	tmpl := readTemplate(t)
	rs := rules(tmpl)
	if len(rs) == 0 {
		t.Fatal("template.yaml has no EventBridge rules")
	}
	var aws, own int
	for _, r := range rs {
		if len(r.sources) == 0 {
			t.Errorf("rule %s matches no literal source: name aws.* or cacheport so its bus can be checked", r.name)
		}
		for _, s := range r.sources {
			switch {
			case strings.HasPrefix(s, "aws."):
				aws++
				if !onDefaultBus(r.bus) {
					t.Errorf("rule %s matches source %s but is on bus %v: AWS delivers its own events only to the default bus", r.name, s, r.bus)
				}
			case s == "cacheport":
				own++
				if !onBusResource(tmpl, r.bus) {
					t.Errorf("rule %s matches source cacheport but is on bus %v: cacheport's events go to the cacheport bus (Ref the AWS::Events::EventBus)", r.name, r.bus)
				}
			default:
				t.Errorf("rule %s matches source %q, which is neither aws.* nor cacheport", r.name, s)
			}
		}
	}
	if aws == 0 || own == 0 {
		t.Errorf("found %d rules for aws.* and %d for cacheport; the template needs both", aws, own)
	}
}

// TestBusCheckCatchesMistakes runs the bus checks on rules placed wrongly, so that the template
// test above cannot pass by checking nothing.
func TestBusCheckCatchesMistakes(t *testing.T) {
	tmpl := loadTemplate(t, []byte(`
Resources:
  Bus: { Type: AWS::Events::EventBus, Properties: { Name: cacheport } }
  Queue: { Type: AWS::SQS::Queue }
`))
	tests := []struct {
		name      string
		bus       any
		isDefault bool
		isOwn     bool
	}{
		{name: "absent", bus: nil, isDefault: true},
		{name: "default", bus: "default", isDefault: true},
		{name: "default arn", bus: "arn:aws:events:us-east-1:123456789012:event-bus/default", isDefault: true},
		{name: "ref bus", bus: map[string]any{"Ref": "Bus"}, isOwn: true},
		{name: "getatt bus arn", bus: map[string]any{"Fn::GetAtt": []any{"Bus", "Arn"}}, isOwn: true},
		{name: "literal cacheport name", bus: "cacheport"},
		{name: "ref parameter", bus: map[string]any{"Ref": "EventBusName"}},
		{name: "ref another resource", bus: map[string]any{"Ref": "Queue"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := onDefaultBus(tt.bus); got != tt.isDefault {
				t.Errorf("onDefaultBus(%v) = %v, want %v", tt.bus, got, tt.isDefault)
			}
			if got := onBusResource(tmpl, tt.bus); got != tt.isOwn {
				t.Errorf("onBusResource(%v) = %v, want %v", tt.bus, got, tt.isOwn)
			}
		})
	}
}

// TestPolicyCheckCatchesMistakes runs the policy reader on functions written wrongly.
func TestPolicyCheckCatchesMistakes(t *testing.T) {
	tmpl := loadTemplate(t, []byte(`
Resources:
  Good:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - { Effect: Allow, Action: [s3:GetObject, s3:PutObject], Resource: !Sub "arn:${AWS::Partition}:s3:::b/*" }
            - { Effect: Allow, Action: events:PutEvents, Resource: !GetAtt Bus.Arn }
  Template:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - S3ReadPolicy: { BucketName: b }
  NotAction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - { Effect: Allow, NotAction: s3:DeleteObject, Resource: "*" }
  OwnRole:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt R.Arn
`))
	fns := functions(tmpl)
	tests := []struct {
		id           string
		wantActions  []string
		wantProblems int
	}{
		{id: "Good", wantActions: []string{"s3:GetObject", "s3:PutObject", "events:PutEvents"}},
		{id: "Template", wantProblems: 1},
		{id: "NotAction", wantProblems: 2},
		{id: "OwnRole", wantProblems: 2},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, problems := policyActions(fns[tt.id])
			if !slices.Equal(got, tt.wantActions) || len(problems) != tt.wantProblems {
				t.Errorf("policyActions = %v, problems %q; want %v and %d problems", got, problems, tt.wantActions, tt.wantProblems)
			}
		})
	}
	missing, extra := diff([]string{"s3:GetObject", "S3:PUTOBJECT", "s3:DeleteObject"}, []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket"})
	if !slices.Equal(missing, []string{"s3:ListBucket"}) || !slices.Equal(extra, []string{"s3:DeleteObject"}) {
		t.Errorf("diff = missing %v, extra %v; want [s3:ListBucket] and [s3:DeleteObject]", missing, extra)
	}
}

func TestShortFormTags(t *testing.T) {
	tmpl := loadTemplate(t, []byte(`
A: !Ref X
B: !Sub "${AWS::Region}.x"
C: !GetAtt R.Arn
D: !If [Cond, !Ref Y, !Sub [ "${V}", { V: !ImportValue E } ]]
E: &anchor { k: v }
F: *anchor
G: !Condition Cond
`))
	want := map[string]string{
		"A": "map[Ref:X]",
		"B": "map[Fn::Sub:${AWS::Region}.x]",
		"C": "map[Fn::GetAtt:[R Arn]]",
		"D": "map[Fn::If:[Cond map[Ref:Y] map[Fn::Sub:[${V} map[V:map[Fn::ImportValue:E]]]]]]",
		"F": "map[k:v]",
		"G": "map[Condition:Cond]",
	}
	for k, w := range want {
		if got := fmt.Sprint(tmpl[k]); got != w {
			t.Errorf("%s = %s, want %s", k, got, w)
		}
	}
}

// documentedEnv reads the variable names of docs/architecture.md's "Environment" table, and
// which of them are required.
func documentedEnv(t *testing.T) (names map[string]bool, required []string) {
	t.Helper()
	f, err := os.Open(repoFile(t, "docs/architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\|\\s*`([A-Z0-9_]+)`\\s*\\|([^|]*)\\|")
	names = map[string]bool{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.HasPrefix(line, "## Environment")
			continue
		}
		if m := row.FindStringSubmatch(line); in && m != nil {
			names[m[1]] = true
			if strings.Contains(m[2], "required") {
				required = append(required, m[1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("docs/architecture.md has no Environment table")
	}
	return names, required
}

// noConfig are the functions that read no shared/config settings (the custom resource takes
// its bucket as a resource property), so they need no environment.
var noConfig = map[string]bool{GrantBucketAccess: true}

// TestTemplateEnvironmentIsDocumented proves that every environment variable the template sets
// (Globals and per function) is a name documented in docs/architecture.md, and that every
// required one is set for each function that reads the configuration.
func TestTemplateEnvironmentIsDocumented(t *testing.T) {
	tmpl := readTemplate(t)
	names, required := documentedEnv(t)
	global := mapAt(tmpl, "Globals", "Function", "Environment", "Variables")
	for id, fn := range functions(tmpl) {
		t.Run(id, func(t *testing.T) {
			env := map[string]any{}
			for k, v := range global {
				env[k] = v
			}
			for k, v := range mapAt(fn, "Properties", "Environment", "Variables") {
				env[k] = v
			}
			for k := range env {
				if !names[k] {
					t.Errorf("%s sets %s, which docs/architecture.md does not document", id, k)
				}
			}
			if noConfig[id] {
				if len(env) > 0 {
					t.Errorf("%s sets %d variables but reads no configuration", id, len(env))
				}
				return
			}
			for _, k := range required {
				if _, ok := env[k]; !ok {
					t.Errorf("%s does not set required %s", id, k)
				}
			}
		})
	}
}
