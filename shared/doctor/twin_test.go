package doctor

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/twin/core"
	"github.com/cacheport/cacheport/shared/twin/ebsrv"
	"github.com/cacheport/cacheport/shared/twin/s3srv"
)

// twinS3 serves the twin's S3 over HTTP and returns a real SDK client for it, so that every S3
// call doctor makes goes through the SDK's serializers and error decoding.
func twinS3(t *testing.T, faults *core.Faults) (*s3srv.Store, *s3.Client) {
	t.Helper()
	store := s3srv.New(s3srv.Options{Faults: faults})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("doctor", "secret", ""),
	})
	return store, c
}

func severities(rep *Report) map[string]Severity {
	m := map[string]Severity{}
	for _, f := range rep.Findings {
		m[f.ID] = f.Severity
	}
	return m
}

// TestDoctorAgainstTwinS3 runs the bucket checks and fixes against the twin's S3 through the real
// SDK: a bucket made with AWS's 2023 defaults (ACLs disabled, no ElastiCache grant, no
// EventBridge notifications, versioning off) is found wanting, --fix makes it usable, and a
// second run finds nothing to change.
func TestDoctorAgainstTwinS3(t *testing.T) {
	store, c := twinS3(t, nil)
	if err := store.CreateBucket("exports", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := Options{Bucket: "exports", Region: "eu-west-1"}
	rep, err := New(opts, c, nil, nil).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Severity{
		CheckIdentity: SeveritySkip, CheckBucket: SeverityOK, CheckRegion: SeverityOK,
		CheckOwnership: SeverityError, CheckGrant: SeverityError, CheckPublicAccess: SeverityOK,
		CheckEncryption: SeverityOK, CheckVersioning: SeverityWarn, CheckNotifications: SeverityError,
		CheckDefaultRules: SeveritySkip, CheckBusRules: SeveritySkip,
	}
	got := severities(rep)
	for id, s := range want {
		if got[id] != s {
			t.Errorf("before --fix, %s: %s, want %s (%+v)", id, got[id], s, rep.Findings)
		}
	}

	opts.Fix = true
	rep, err = New(opts, c, nil, nil).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed()) != 3 || !rep.OK() {
		t.Fatalf("--fix changed %v, ok %v: %+v", rep.Changed(), rep.OK(), rep.Findings)
	}
	if ok, err := store.ElastiCacheGranted(ctx, "exports"); err != nil || !ok {
		t.Errorf("twin says ElastiCache granted: %v %v", ok, err)
	}
	rep, err = New(opts, c, nil, nil).Run(ctx)
	if err != nil || len(rep.Changed()) != 0 || !rep.OK() {
		t.Errorf("second --fix: %v changed %v: %+v", err, rep.Changed(), rep.Findings)
	}

	// Wrong region, and a bucket that does not exist.
	rep, _ = New(Options{Bucket: "exports", Region: "us-east-1"}, c, nil, nil).Run(ctx)
	if got := severities(rep); got[CheckRegion] != SeverityError || got[CheckGrant] != SeveritySkip {
		t.Errorf("wrong region: %+v", rep.Findings)
	}
	rep, _ = New(Options{Bucket: "nope", Region: "eu-west-1"}, c, nil, nil).Run(ctx)
	if got := severities(rep); got[CheckBucket] != SeverityError || got[CheckRegion] != SeveritySkip {
		t.Errorf("missing bucket: %+v", rep.Findings)
	}
}

// TestDoctorAgainstTwinS3Denied: a caller that may not read the bucket ACL gets a skipped check
// naming the action, not an error.
func TestDoctorAgainstTwinS3Denied(t *testing.T) {
	faults, err := core.ParseFaults([]string{"deny=s3:GetBucketAcl"})
	if err != nil {
		t.Fatal(err)
	}
	store, c := twinS3(t, faults)
	if err := store.CreateBucket("exports", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if err := store.SetOwnership("exports", "BucketOwnerPreferred"); err != nil {
		t.Fatal(err)
	}
	rep, err := New(Options{Bucket: "exports", Region: "eu-west-1"}, c, nil, nil).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := severities(rep); got[CheckGrant] != SeveritySkip || got[CheckOwnership] != SeverityOK {
		t.Errorf("%+v", rep.Findings)
	}
}

// TestDoctorRulesAgainstTwinTemplate reads the rules of template.yaml itself through the twin's
// EventBridge API: the template must route the bucket's S3 events on the default bus and every
// cacheport event on the cacheport bus, with no AWS event rule on the custom bus.
func TestDoctorRulesAgainstTwinTemplate(t *testing.T) {
	tmpl, err := ebsrv.LoadTemplate(filepath.Join("..", "..", "template.yaml"), map[string]string{"ExportBucket": "exports"})
	if err != nil {
		t.Fatal(err)
	}
	router := ebsrv.NewRouter(tmpl, ebsrv.Options{})
	t.Cleanup(router.Close)
	srv := httptest.NewServer(ebsrv.NewServer(router, nil))
	t.Cleanup(srv.Close)
	eb := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("doctor", "secret", "")})
	d := New(Options{Bucket: "exports", Region: "us-east-1"}, nil, eb, nil)
	for _, f := range d.rules(context.Background()) {
		t.Logf("%s: %s", f.ID, f.Message)
		if f.Severity != SeverityOK {
			t.Errorf("%s: %s: %s (%s)", f.ID, f.Severity, f.Message, f.Fix)
		}
	}
	// Another bucket has no rule; another bus does not exist.
	d = New(Options{Bucket: "elsewhere", Region: "us-east-1", BusName: "nobus"}, nil, eb, nil)
	fs := d.rules(context.Background())
	if fs[0].Severity != SeverityError || fs[1].Severity != SeverityError {
		t.Errorf("%+v", fs)
	}
}
