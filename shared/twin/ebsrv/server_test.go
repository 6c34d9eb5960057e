package ebsrv

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/twin/core"
)

// twin is an EventBridge server over the real template, on httptest.
type twin struct {
	router *Router
	log    *core.CallLog
	url    string
	inbox  *inbox
}

func newTwin(t *testing.T, opts Options) *twin {
	t.Helper()
	r := newTestRouter(t, realTemplate(t, nil), opts)
	log := &core.CallLog{}
	srv := httptest.NewServer(NewServer(r, log))
	t.Cleanup(srv.Close)
	return &twin{router: r, log: log, url: srv.URL, inbox: subscribe(r, startExport, verifyExport, cleanupExport)}
}

func (tw *twin) client(accessKey string, maxAttempts int) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           DefaultRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		BaseEndpoint:     aws.String(tw.url),
		RetryMaxAttempts: maxAttempts,
	})
}

// TestSDKPutEvents puts events with the real aws-sdk-go-v2 client.
func TestSDKPutEvents(t *testing.T) {
	tw := newTwin(t, Options{})
	ctx := context.Background()
	when := time.Date(2026, 11, 24, 3, 7, 12, 0, time.UTC)
	out, err := tw.client(startExport, 0).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{EventBusName: aws.String("arn:aws:events:us-east-1:111122223333:event-bus/cacheport"), Source: aws.String("cacheport"),
			DetailType: aws.String("Export Started"), Detail: aws.String(`{"export_id":"orders-20261124-0300","cache":"orders"}`), Time: &when},
		{EventBusName: aws.String("cacheport"), Source: aws.String("cacheport"), DetailType: aws.String("Export Started"),
			Detail: aws.String(`["not","an","object"]`)},
		{EventBusName: aws.String("no-such-bus"), Source: aws.String("cacheport"), DetailType: aws.String("Export Started"),
			Detail: aws.String(`{}`)},
		{Source: aws.String("cacheport"), Detail: aws.String(`{}`)},
		{Source: aws.String("aws.s3"), DetailType: aws.String("Object Created"),
			Detail: aws.String(string(s3Detail(defaultBucket, "cacheport/orders/x/a1/x-0001.rdb")))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 3 || len(out.Entries) != 5 {
		t.Fatalf("FailedEntryCount %d, %d entries; want 3 of 5", out.FailedEntryCount, len(out.Entries))
	}
	wantCodes := []string{"", "MalformedDetail", "ResourceNotFoundException", "InvalidArgument", ""}
	for i, e := range out.Entries {
		if aws.ToString(e.ErrorCode) != wantCodes[i] {
			t.Errorf("entry %d: code %q (%s), want %q", i, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage), wantCodes[i])
		}
		if (e.EventId != nil) != (wantCodes[i] == "") {
			t.Errorf("entry %d: EventId %v with code %q", i, e.EventId, wantCodes[i])
		}
	}
	if m := aws.ToString(out.Entries[2].ErrorMessage); m != "Event bus no-such-bus does not exist." {
		t.Errorf("missing bus message %q", m)
	}
	drain(t, tw.router)
	got := tw.inbox.take()
	if len(got[verifyExport]) != 2 || len(got[cleanupExport]) != 1 || len(got[startExport]) != 0 {
		t.Errorf("deliveries: verify %d, cleanup %d, start %d; want 2, 1, 0",
			len(got[verifyExport]), len(got[cleanupExport]), len(got[startExport]))
	}
	var env Envelope
	for _, p := range got[verifyExport] {
		if strings.Contains(string(p), `"Export Started"`) {
			if err := json.Unmarshal(p, &env); err != nil {
				t.Fatal(err)
			}
		}
	}
	if env.ID != aws.ToString(out.Entries[0].EventId) || env.Time != "2026-11-24T03:07:12Z" {
		t.Errorf("envelope id %s time %s; want %s and the entry's Time", env.ID, env.Time, aws.ToString(out.Entries[0].EventId))
	}

	calls := tw.log.Calls()
	if len(calls) != 1 || calls[0].Caller != startExport || calls[0].Service != "events" || calls[0].Operation != "PutEvents" ||
		calls[0].Resource != "cacheport,no-such-bus,default" {
		t.Errorf("calls = %+v", calls)
	}

	// Too many entries is the whole request's error.
	var many []types.PutEventsRequestEntry
	for i := 0; i < 11; i++ {
		many = append(many, types.PutEventsRequestEntry{Source: aws.String("cacheport"), DetailType: aws.String("x"), Detail: aws.String("{}")})
	}
	_, err = tw.client("cli", 0).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: many})
	if code := apiCode(err); code != "ValidationException" {
		t.Errorf("11 entries: %v, want ValidationException", err)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSDKReadOnly lists buses, rules and targets as doctor would.
func TestSDKReadOnly(t *testing.T) {
	tw := newTwin(t, Options{})
	ctx := context.Background()
	c := tw.client("doctor", 0)
	buses, err := c.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(buses.EventBuses) != 2 || aws.ToString(buses.EventBuses[1].Name) != "cacheport" ||
		aws.ToString(buses.EventBuses[1].Arn) != "arn:aws:events:us-east-1:111122223333:event-bus/cacheport" {
		t.Errorf("buses = %+v", buses.EventBuses)
	}
	rules, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("cacheport")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules.Rules {
		names = append(names, aws.ToString(r.Name))
	}
	if strings.Join(names, ",") != "AlertRule,CleanupExportFunctionExportEnded,MemcachedExportFunctionExportRequested,StartExportFunctionExportRequested,VerifyExportFunctionExportInProgress" {
		t.Errorf("rules on cacheport = %v", names)
	}
	rule, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("VerifyExportFunctionObjectCreated")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(rule.EventPattern), `"prefix":"cacheport/"`) || aws.ToString(rule.EventBusName) != "default" || rule.State != types.RuleStateEnabled {
		t.Errorf("rule = %+v", rule)
	}
	_, err = c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("VerifyExportFunctionObjectCreated"), EventBusName: aws.String("cacheport")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("rule on the wrong bus: %v, want ResourceNotFoundException", err)
	}
	targets, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("AlertRule"), EventBusName: aws.String("cacheport")})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Id) != "alert-topic" ||
		aws.ToString(targets.Targets[0].Arn) != "arn:aws:sns:us-east-1:111122223333:AlertTopic" {
		t.Errorf("targets = %+v", targets.Targets)
	}
	if _, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("nope")}); !errors.As(err, &nf) {
		t.Errorf("rules of a missing bus: %v", err)
	}
	if len(tw.log.Calls()) != 6 {
		t.Errorf("%d calls logged, want 6", len(tw.log.Calls()))
	}
}

func TestSDKFaults(t *testing.T) {
	ctx := context.Background()
	entry := []types.PutEventsRequestEntry{{EventBusName: aws.String("cacheport"), Source: aws.String("cacheport"),
		DetailType: aws.String("Export Started"), Detail: aws.String(`{"cache":"orders"}`)}}

	t.Run("deny", func(t *testing.T) {
		f, _ := core.ParseFaults([]string{"deny=events:PutEvents"})
		tw := newTwin(t, Options{Faults: f})
		_, err := tw.client(startExport, 1).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entry})
		if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "events:PutEvents") {
			t.Errorf("PutEvents: %v, want AccessDeniedException", err)
		}
		if _, err := tw.client(startExport, 1).ListEventBuses(ctx, &eventbridge.ListEventBusesInput{}); err != nil {
			t.Errorf("ListEventBuses is not denied: %v", err)
		}
		if c := tw.log.Calls(); len(c) != 2 || c[0].Operation != "PutEvents" {
			t.Errorf("calls = %+v", c)
		}
		drain(t, tw.router)
		if got := tw.inbox.take(); len(got) != 0 {
			t.Errorf("denied events delivered: %v", receivers(got))
		}
	})
	t.Run("throttle", func(t *testing.T) {
		f, _ := core.ParseFaults([]string{"throttle"})
		tw := newTwin(t, Options{Faults: f})
		noRetry := tw.client(startExport, 1)
		var codes []string
		for i := 0; i < 6; i++ {
			_, err := noRetry.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entry})
			codes = append(codes, apiCode(err))
		}
		if strings.Join(codes, ",") != ",,ThrottlingException,,,ThrottlingException" {
			t.Errorf("codes = %q, want every third throttled", codes)
		}
		// The SDK's standard retryer gets through.
		for i := 0; i < 6; i++ {
			if _, err := tw.client(startExport, 0).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entry}); err != nil {
				t.Errorf("with retries: %v", err)
			}
		}
	})
	t.Run("throttle for another cache", func(t *testing.T) {
		f, _ := core.ParseFaults([]string{"throttle=sessions"})
		tw := newTwin(t, Options{Faults: f})
		for i := 0; i < 6; i++ {
			if _, err := tw.client(startExport, 1).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entry}); err != nil {
				t.Errorf("orders throttled by a fault on sessions: %v", err)
			}
		}
	})
}

func TestUnsigned(t *testing.T) {
	tw := newTwin(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, tw.url, strings.NewReader(`{"Entries":[]}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || body["__type"] != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %v", resp.StatusCode, body)
	}
	if len(tw.log.Calls()) != 0 {
		t.Errorf("unsigned request logged: %+v", tw.log.Calls())
	}
}

// toolEnv is the environment for the AWS CLI and boto3: the twin's endpoint, static
// credentials, and no user configuration.
func toolEnv(url, accessKey string) []string {
	env := []string{"AWS_ACCESS_KEY_ID=" + accessKey, "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=" + url, "AWS_PAGER="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

func TestAWSCLI(t *testing.T) {
	bin := testenv.Tool(t, "aws", "pip install awscli")
	tw := newTwin(t, Options{})
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--endpoint-url", tw.url, "--output", "json")...)
		cmd.Env = toolEnv(tw.url, "cli")
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("aws %v: %v\n%s", args, err, ee.Stderr)
			}
			t.Fatalf("aws %v: %v", args, err)
		}
		return out
	}
	out := run("events", "put-events", "--entries",
		`[{"EventBusName":"cacheport","Source":"cacheport","DetailType":"Export Requested","Detail":"{\"cache\":\"orders\",\"kind\":\"replication-group\"}","Time":"2026-11-24T03:00:00Z"},
		  {"EventBusName":"nope","Source":"cacheport","DetailType":"Export Requested","Detail":"{}"}]`)
	var res struct {
		FailedEntryCount int
		Entries          []map[string]string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.FailedEntryCount != 1 || res.Entries[0]["EventId"] == "" || res.Entries[1]["ErrorCode"] != "ResourceNotFoundException" {
		t.Errorf("put-events: %s", out)
	}
	drain(t, tw.router)
	got := tw.inbox.take()[startExport]
	if len(got) != 1 || !strings.Contains(string(got[0]), `"time":"2026-11-24T03:00:00Z"`) {
		t.Errorf("start-export received %q", got)
	}
	out = run("events", "list-rules", "--event-bus-name", "default")
	if !strings.Contains(string(out), "VerifyExportFunctionObjectCreated") {
		t.Errorf("list-rules: %s", out)
	}
	if c := tw.log.Calls(); len(c) != 2 || c[0].Caller != "cli" || c[0].Operation != "PutEvents" || c[1].Operation != "ListRules" {
		t.Errorf("calls = %+v", c)
	}
}

func TestBoto3(t *testing.T) {
	py := testenv.Tool(t, "python3", "install Python 3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		testenv.Missing(t, "boto3", "pip install boto3")
	}
	tw := newTwin(t, Options{})
	script := `
import boto3, json, datetime, os
c = boto3.client("events", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
r = c.put_events(Entries=[
    {"Source": "aws.s3", "DetailType": "Object Created", "Time": datetime.datetime(2026, 11, 24, 3, 7, 12, tzinfo=datetime.timezone.utc),
     "Detail": json.dumps({"bucket": {"name": "` + defaultBucket + `"}, "object": {"key": "cacheport-sessions-x-0001.rdb"}})},
    {"EventBusName": "cacheport", "Source": "cacheport", "DetailType": "Export Abandoned", "Detail": "{\"cache\": \"orders\"}"},
])
print(json.dumps({"failed": r["FailedEntryCount"], "ids": [e.get("EventId", "") for e in r["Entries"]]}))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Env = toolEnv(tw.url, "boto3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var res struct {
		Failed int
		IDs    []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Failed != 0 || len(res.IDs) != 2 || res.IDs[0] == "" {
		t.Errorf("boto3 put_events: %s", out)
	}
	drain(t, tw.router)
	got := tw.inbox.take()
	if len(got[verifyExport]) != 1 || len(got[cleanupExport]) != 1 || !strings.Contains(string(got[verifyExport][0]), `"time":"2026-11-24T03:07:12Z"`) {
		t.Errorf("deliveries %v", receivers(got))
	}
	if a := tw.router.Alerts(); len(a) != 1 || !strings.Contains(string(a[0].Message), res.IDs[1]) {
		t.Errorf("alerts = %+v", a)
	}
}
