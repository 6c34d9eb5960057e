package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/grant"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the output")

// golden compares got with testdata/NAME.golden (rewriting it with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// fakeBucket is an in-memory bucket (fakes.S3) with the configuration doctor reads.
type fakeBucket struct {
	*fakes.S3
	missing     bool
	region      string
	ownership   s3types.ObjectOwnership
	grants      []s3types.Grant
	eventBridge bool
	errs        map[string]error
}

func newFakeBucket() *fakeBucket {
	b := &fakeBucket{S3: fakes.NewS3(), region: "eu-west-1", ownership: s3types.ObjectOwnershipBucketOwnerPreferred, eventBridge: true}
	b.grants, _ = grant.Add([]s3types.Grant{{Grantee: &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String("owner")}, Permission: s3types.PermissionFullControl}}, grant.DefaultCanonicalUserID)
	return b
}

func (b *fakeBucket) err(op string) error {
	if b.missing {
		return &s3types.NoSuchBucket{Message: aws.String("The specified bucket does not exist")}
	}
	return b.errs[op]
}

func (b *fakeBucket) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	out, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: in.Bucket, Key: in.Key})
	if err != nil {
		return nil, err
	}
	return &s3.HeadObjectOutput{ContentLength: out.ContentLength, ETag: out.ETag, LastModified: out.LastModified}, nil
}

func (b *fakeBucket) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := b.err("ListObjectsV2"); err != nil {
		return nil, err
	}
	return b.S3.ListObjectsV2(ctx, in, opts...)
}

func (b *fakeBucket) GetBucketLocation(context.Context, *s3.GetBucketLocationInput, ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	if err := b.err("GetBucketLocation"); err != nil {
		return nil, err
	}
	return &s3.GetBucketLocationOutput{LocationConstraint: s3types.BucketLocationConstraint(b.region)}, nil
}

func (b *fakeBucket) GetBucketOwnershipControls(context.Context, *s3.GetBucketOwnershipControlsInput, ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error) {
	if err := b.err("GetBucketOwnershipControls"); err != nil {
		return nil, err
	}
	return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: b.ownership}}}}, nil
}

func (b *fakeBucket) PutBucketOwnershipControls(_ context.Context, in *s3.PutBucketOwnershipControlsInput, _ ...func(*s3.Options)) (*s3.PutBucketOwnershipControlsOutput, error) {
	b.ownership = in.OwnershipControls.Rules[0].ObjectOwnership
	return &s3.PutBucketOwnershipControlsOutput{}, nil
}

func (b *fakeBucket) GetBucketAcl(context.Context, *s3.GetBucketAclInput, ...func(*s3.Options)) (*s3.GetBucketAclOutput, error) {
	if err := b.err("GetBucketAcl"); err != nil {
		return nil, err
	}
	return &s3.GetBucketAclOutput{Owner: &s3types.Owner{ID: aws.String("owner")}, Grants: append([]s3types.Grant(nil), b.grants...)}, nil
}

func (b *fakeBucket) PutBucketAcl(_ context.Context, in *s3.PutBucketAclInput, _ ...func(*s3.Options)) (*s3.PutBucketAclOutput, error) {
	b.grants = in.AccessControlPolicy.Grants
	return &s3.PutBucketAclOutput{}, nil
}

func (b *fakeBucket) GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	return nil, apiErr("NoSuchBucketPolicy")
}

func (b *fakeBucket) GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	on := aws.Bool(true)
	return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: on, IgnorePublicAcls: on, BlockPublicPolicy: on, RestrictPublicBuckets: on}}, nil
}

func (b *fakeBucket) GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{
		{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}}, nil
}

func (b *fakeBucket) GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	return &s3.GetBucketVersioningOutput{Status: s3types.BucketVersioningStatusEnabled}, nil
}

func (b *fakeBucket) GetBucketNotificationConfiguration(context.Context, *s3.GetBucketNotificationConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error) {
	out := &s3.GetBucketNotificationConfigurationOutput{}
	if b.eventBridge {
		out.EventBridgeConfiguration = &s3types.EventBridgeConfiguration{}
	}
	return out, nil
}

func (b *fakeBucket) PutBucketNotificationConfiguration(_ context.Context, in *s3.PutBucketNotificationConfigurationInput, _ ...func(*s3.Options)) (*s3.PutBucketNotificationConfigurationOutput, error) {
	b.eventBridge = in.NotificationConfiguration.EventBridgeConfiguration != nil
	return &s3.PutBucketNotificationConfigurationOutput{}, nil
}

// fakeEvents is a bus recorder (fakes.Bus) with the rules of a deployed stack.
type fakeEvents struct {
	*fakes.Bus
	rules map[string][]ebtypes.Rule
}

func newFakeEvents() *fakeEvents {
	r := func(name, p string) ebtypes.Rule {
		return ebtypes.Rule{Name: aws.String(name), EventPattern: aws.String(p)}
	}
	return &fakeEvents{Bus: &fakes.Bus{}, rules: map[string][]ebtypes.Rule{
		"default": {r("verify-objects", `{"source":["aws.s3"],"detail":{"bucket":{"name":["exports"]}}}`)},
		"cacheport": {
			r("start", `{"source":["cacheport"],"detail-type":["Export Requested"]}`),
			r("verify", `{"source":["cacheport"],"detail-type":["Export Started","Export Verifying"]}`),
			r("cleanup", `{"source":["cacheport"],"detail-type":["Export Failed","Export Cancelled","Export Verified"]}`),
			r("alerts", `{"source":["cacheport"],"detail-type":["Export Abandoned","Audit Finding"]}`),
		},
	}}
}

func (f *fakeEvents) ListRules(_ context.Context, in *eventbridge.ListRulesInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	rs, ok := f.rules[aws.ToString(in.EventBusName)]
	if !ok {
		return nil, &ebtypes.ResourceNotFoundException{Message: aws.String("no bus")}
	}
	return &eventbridge.ListRulesOutput{Rules: rs}, nil
}

type fakeSTS struct{}

func (fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:iam::123456789012:user/sre"), Account: aws.String("123456789012")}, nil
}

// fakeAWS is one account and region's worth of fakes.
type fakeAWS struct {
	bucket *fakeBucket
	ec     *fakes.ElastiCache
	events *fakeEvents
	// loadErr, when set, is what loading the clients fails with.
	loadErr error
}

var testNow = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

func newFakeAWS() *fakeAWS {
	return &fakeAWS{bucket: newFakeBucket(), ec: &fakes.ElastiCache{Now: func() time.Time { return testNow }}, events: newFakeEvents()}
}

// awsCLI runs the CLI in process against f, with the clock at testNow and vars as the
// environment; it returns the exit code, stdout and stderr.
func awsCLI(t *testing.T, f *fakeAWS, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	oldLoad, oldClock := loadClients, clock
	t.Cleanup(func() { loadClients, clock = oldLoad, oldClock })
	loadClients = func(context.Context, *env) (*clients, error) {
		if f.loadErr != nil {
			return nil, f.loadErr
		}
		return &clients{region: "eu-west-1", s3: f.bucket, ec: f.ec, events: f.events, sts: fakeSTS{}}, nil
	}
	clock = func() time.Time { return testNow }
	var out, errOut bytes.Buffer
	e := &env{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}
