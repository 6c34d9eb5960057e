package ebsrv

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// inlineTemplate exercises what template.yaml does not use today: a resource rule with a
// function target and a GetAtt bus, a classic schedule, a CloudWatchEvent with no bus, a
// conditional resource, !Sub's list form and !Join.
const inlineTemplate = `
Parameters:
  Env: { Type: String, Default: prod }
  BusName: { Type: String, Default: ops }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
Globals:
  Function:
    EventInvokeConfig: { MaximumRetryAttempts: 0 }
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: { Name: !Sub "${BusName}-${Env}" }
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      EventInvokeConfig: { MaximumRetryAttempts: 1 }
      Events:
        Legacy:
          Type: CloudWatchEvent
          Properties:
            Pattern: { source: [aws.ec2], detail: { state: [{ anything-but: [pending, running] }] } }
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 0 * * ? *)
        Tagged:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
            Input: '{"action":"tagged"}'
        Off:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 minute)
            State: DISABLED
  Other:
    Type: AWS::Serverless::Function
    Properties: {}
  DevOnly:
    Type: AWS::Events::Rule
    Condition: IsDev
    Properties:
      EventPattern: { source: [dev] }
      Targets: [{ Id: w, Arn: !GetAtt Worker.Arn }]
  Routed:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !GetAtt Bus.Arn
      EventPattern:
        source: [!Join ["-", [my, app]]]
        detail:
          region: [!Ref "AWS::Region"]
          size: [{ numeric: [">", 10] }]
          name: [!Sub ["${A}-x", { A: !If [IsProd, p, d] }]]
      Targets:
        - { Id: to-other, Arn: !GetAtt Other.Arn }
        - { Id: queue, Arn: "arn:aws:sqs:us-east-1:111122223333:q" }
`

func TestParseTemplateInline(t *testing.T) {
	tmpl, err := ParseTemplate([]byte(inlineTemplate), map[string]string{"AWS::Region": "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tmpl.Buses, ",") != "default,ops-prod" || tmpl.Region != "eu-west-1" {
		t.Errorf("buses %v, region %s", tmpl.Buses, tmpl.Region)
	}
	var names []string
	for _, r := range tmpl.Rules {
		names = append(names, r.Name+"@"+r.Bus)
	}
	if strings.Join(names, " ") != "Routed@ops-prod WorkerLegacy@default" {
		t.Errorf("rules %v (DevOnly's condition is false)", names)
	}
	if tmpl.Retries["Worker"] != 1 || tmpl.Retries["Other"] != 0 {
		t.Errorf("retries %v", tmpl.Retries)
	}
	if len(tmpl.Schedules) != 3 {
		t.Fatalf("schedules %+v", tmpl.Schedules)
	}

	clock := &testClock{t: mustTime(t, "2026-11-24T12:00:00Z")}
	r := newTestRouter(t, tmpl, Options{Clock: clock})
	in := subscribe(r, "Worker", "Other")
	ctx := context.Background()
	put := func(ev core.Event) []string {
		t.Helper()
		if err := r.Put(ctx, ev); err != nil {
			t.Fatal(err)
		}
		drain(t, r)
		return receivers(in.take())
	}
	routed := core.Event{Bus: "ops-prod", Source: "my-app", DetailType: "x",
		Detail: json.RawMessage(`{"region":"eu-west-1","size":11,"name":"p-x"}`)}
	if got := put(routed); strings.Join(got, ",") != "Other" {
		t.Errorf("routed event reached %v, want Other", got)
	}
	routed.Detail = json.RawMessage(`{"region":"eu-west-1","size":10,"name":"p-x"}`)
	if got := put(routed); len(got) != 0 {
		t.Errorf("size 10 reached %v", got)
	}
	if got := put(core.Event{Source: "aws.ec2", DetailType: "x", Detail: json.RawMessage(`{"state":"stopped"}`)}); strings.Join(got, ",") != "Worker" {
		t.Errorf("ec2 stopped reached %v", got)
	}
	if got := put(core.Event{Source: "aws.ec2", DetailType: "x", Detail: json.RawMessage(`{"state":"running"}`)}); len(got) != 0 {
		t.Errorf("ec2 running reached %v", got)
	}
	if got := put(core.Event{Source: "dev", DetailType: "x", Detail: json.RawMessage(`{}`)}); len(got) != 0 {
		t.Errorf("dev event reached %v through a rule whose condition is false", got)
	}
	var other int
	for _, d := range r.Deliveries() {
		if d.Target == "queue" && d.Status == "delivered" {
			other++
		}
	}
	if other != 1 {
		t.Errorf("the SQS target was delivered %d times, want 1", other)
	}

	// Classic schedules: the envelope with "time", or the Input; the disabled one never fires.
	if _, err := r.Fire(ctx, clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	got := in.take()["Worker"]
	if len(got) != 2 {
		t.Fatalf("worker got %d schedule ticks, want 2: %q", len(got), got)
	}
	var env Envelope
	for _, p := range got {
		if string(p) == `{"action":"tagged"}` {
			continue
		}
		if err := json.Unmarshal(p, &env); err != nil {
			t.Fatalf("%v: %s", err, p)
		}
	}
	if env.Source != "aws.events" || env.DetailType != "Scheduled Event" || env.Time != "2026-11-25T00:00:00Z" ||
		string(env.Detail) != "{}" || len(env.Resources) != 1 || !strings.HasSuffix(env.Resources[0], ":rule/WorkerNightly") {
		t.Errorf("scheduled event %+v", env)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct{ tmpl, wantErr string }{
		{"Resources: { F: { Type: AWS::Serverless::Function, Properties: { Events: { E: { Type: EventBridgeRule, Properties: { Pattern: { source: [!Base64 x] } } } } } } }",
			"unsupported intrinsic Fn::Base64"},
		{"Resources: { F: { Type: AWS::Serverless::Function, Properties: { Events: { E: { Type: EventBridgeRule, Properties: { EventBusName: !Ref Nope, Pattern: { source: [x] } } } } } } }",
			"!Ref Nope"},
		{"Resources: { F: { Type: AWS::Serverless::Function, Properties: { Events: { E: { Type: EventBridgeRule, Properties: { Pattern: { source: x } } } } } } }",
			"must be a list"},
		{"Resources: { F: { Type: AWS::Serverless::Function, Properties: { Events: { E: { Type: ScheduleV2, Properties: { ScheduleExpression: rate(5) } } } } } }",
			"function F event E"},
		{"Resources: [1]", "a []interface {}"},
	}
	for _, tt := range tests {
		_, err := ParseTemplate([]byte(tt.tmpl), nil)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseTemplate(%s) = %v, want an error containing %q", tt.tmpl, err, tt.wantErr)
		}
	}
}

func TestBusName(t *testing.T) {
	for in, want := range map[string]string{"": "default", "default": "default", "cacheport": "cacheport",
		"arn:aws:events:us-east-1:111122223333:event-bus/cacheport": "cacheport"} {
		if got := BusName(in); got != want {
			t.Errorf("BusName(%q) = %q, want %q", in, got, want)
		}
	}
}
