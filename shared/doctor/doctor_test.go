package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/grant"
)

const ownerID = "owner-canonical-id"

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// fakeBucket is one bucket's configuration, as S3 reports it. Empty strings mean "not set".
type fakeBucket struct {
	missing     bool
	region      string // LocationConstraint
	ownership   s3types.ObjectOwnership
	grants      []s3types.Grant
	policy      string
	pab         *s3types.PublicAccessBlockConfiguration
	sse         s3types.ServerSideEncryption
	versioning  s3types.BucketVersioningStatus
	eventBridge bool
	queues      []s3types.QueueConfiguration
	errs        map[string]error
	writes      []string
}

func goodBucket() *fakeBucket {
	cid, _ := grant.CanonicalUserID("eu-west-1")
	b := &fakeBucket{region: "eu-west-1", ownership: s3types.ObjectOwnershipBucketOwnerPreferred,
		grants: []s3types.Grant{{Grantee: &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String(ownerID)}, Permission: s3types.PermissionFullControl}},
		pab:    &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
		sse:    s3types.ServerSideEncryptionAes256, versioning: s3types.BucketVersioningStatusEnabled, eventBridge: true}
	b.grants, _ = grant.Add(b.grants, cid)
	return b
}

func (b *fakeBucket) err(op string) error {
	if b.missing {
		return &s3types.NoSuchBucket{Message: aws.String("The specified bucket does not exist")}
	}
	return b.errs[op]
}

func (b *fakeBucket) GetBucketLocation(_ context.Context, _ *s3.GetBucketLocationInput, _ ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	if err := b.err("GetBucketLocation"); err != nil {
		return nil, err
	}
	c := b.region
	if c == "us-east-1" {
		c = ""
	}
	return &s3.GetBucketLocationOutput{LocationConstraint: s3types.BucketLocationConstraint(c)}, nil
}

func (b *fakeBucket) GetBucketOwnershipControls(_ context.Context, _ *s3.GetBucketOwnershipControlsInput, _ ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error) {
	if err := b.err("GetBucketOwnershipControls"); err != nil {
		return nil, err
	}
	if b.ownership == "" {
		return nil, apiErr("OwnershipControlsNotFoundError")
	}
	return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: b.ownership}}}}, nil
}

func (b *fakeBucket) PutBucketOwnershipControls(_ context.Context, in *s3.PutBucketOwnershipControlsInput, _ ...func(*s3.Options)) (*s3.PutBucketOwnershipControlsOutput, error) {
	b.ownership = in.OwnershipControls.Rules[0].ObjectOwnership
	b.writes = append(b.writes, "PutBucketOwnershipControls "+string(b.ownership))
	return &s3.PutBucketOwnershipControlsOutput{}, nil
}

func (b *fakeBucket) GetBucketAcl(_ context.Context, _ *s3.GetBucketAclInput, _ ...func(*s3.Options)) (*s3.GetBucketAclOutput, error) {
	if err := b.err("GetBucketAcl"); err != nil {
		return nil, err
	}
	return &s3.GetBucketAclOutput{Owner: &s3types.Owner{ID: aws.String(ownerID)}, Grants: append([]s3types.Grant(nil), b.grants...)}, nil
}

func (b *fakeBucket) PutBucketAcl(_ context.Context, in *s3.PutBucketAclInput, _ ...func(*s3.Options)) (*s3.PutBucketAclOutput, error) {
	if b.ownership == s3types.ObjectOwnershipBucketOwnerEnforced {
		return nil, apiErr("AccessControlListNotSupported")
	}
	b.grants = in.AccessControlPolicy.Grants
	b.writes = append(b.writes, "PutBucketAcl")
	return &s3.PutBucketAclOutput{}, nil
}

func (b *fakeBucket) GetBucketPolicy(_ context.Context, _ *s3.GetBucketPolicyInput, _ ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	if err := b.err("GetBucketPolicy"); err != nil {
		return nil, err
	}
	if b.policy == "" {
		return nil, apiErr("NoSuchBucketPolicy")
	}
	return &s3.GetBucketPolicyOutput{Policy: aws.String(b.policy)}, nil
}

func (b *fakeBucket) GetPublicAccessBlock(_ context.Context, _ *s3.GetPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	if err := b.err("GetPublicAccessBlock"); err != nil {
		return nil, err
	}
	if b.pab == nil {
		return nil, apiErr("NoSuchPublicAccessBlockConfiguration")
	}
	return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: b.pab}, nil
}

func (b *fakeBucket) GetBucketEncryption(_ context.Context, _ *s3.GetBucketEncryptionInput, _ ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	if err := b.err("GetBucketEncryption"); err != nil {
		return nil, err
	}
	if b.sse == "" {
		return nil, apiErr("ServerSideEncryptionConfigurationNotFoundError")
	}
	r := s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: b.sse}}
	if b.sse != s3types.ServerSideEncryptionAes256 {
		r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String("alias/exports")
	}
	return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{r}}}, nil
}

func (b *fakeBucket) GetBucketVersioning(_ context.Context, _ *s3.GetBucketVersioningInput, _ ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	if err := b.err("GetBucketVersioning"); err != nil {
		return nil, err
	}
	return &s3.GetBucketVersioningOutput{Status: b.versioning}, nil
}

func (b *fakeBucket) GetBucketNotificationConfiguration(_ context.Context, _ *s3.GetBucketNotificationConfigurationInput, _ ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error) {
	if err := b.err("GetBucketNotificationConfiguration"); err != nil {
		return nil, err
	}
	out := &s3.GetBucketNotificationConfigurationOutput{QueueConfigurations: b.queues}
	if b.eventBridge {
		out.EventBridgeConfiguration = &s3types.EventBridgeConfiguration{}
	}
	return out, nil
}

func (b *fakeBucket) PutBucketNotificationConfiguration(_ context.Context, in *s3.PutBucketNotificationConfigurationInput, _ ...func(*s3.Options)) (*s3.PutBucketNotificationConfigurationOutput, error) {
	b.eventBridge = in.NotificationConfiguration.EventBridgeConfiguration != nil
	b.queues = in.NotificationConfiguration.QueueConfigurations
	b.writes = append(b.writes, "PutBucketNotificationConfiguration")
	return &s3.PutBucketNotificationConfigurationOutput{}, nil
}

// fakeEvents holds rules per bus; a bus with an error in errs answers with it.
type fakeEvents struct {
	rules map[string][]ebtypes.Rule
	errs  map[string]error
}

func (f *fakeEvents) ListRules(_ context.Context, in *eventbridge.ListRulesInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	bus := aws.ToString(in.EventBusName)
	if err := f.errs[bus]; err != nil {
		return nil, err
	}
	rs, ok := f.rules[bus]
	if !ok {
		return nil, &ebtypes.ResourceNotFoundException{Message: aws.String("Event bus " + bus + " does not exist.")}
	}
	// one rule a page, so that the caller must paginate
	i := 0
	if in.NextToken != nil {
		i = int((*in.NextToken)[0] - '0')
	}
	out := &eventbridge.ListRulesOutput{}
	if i < len(rs) {
		out.Rules = rs[i : i+1]
	}
	if i+1 < len(rs) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func rule(name, pattern string) ebtypes.Rule {
	return ebtypes.Rule{Name: aws.String(name), EventPattern: aws.String(pattern)}
}

func goodEvents() *fakeEvents {
	return &fakeEvents{rules: map[string][]ebtypes.Rule{
		"default": {
			rule("stack-VerifyExportObjectCreated", `{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["exports"]}}}`),
			rule("stack-StartExportSnapshotCreated", `{"source":["aws.elasticache"],"detail-type":["Snapshot Created"]}`),
		},
		"cacheport": {
			rule("stack-StartExportRequested", `{"source":["cacheport"],"detail-type":["Export Requested"],"detail":{"kind":[{"anything-but":"memcached"}]}}`),
			rule("stack-VerifyExportInProgress", `{"source":["cacheport"],"detail-type":["Export Started","Export Verifying"]}`),
			rule("stack-CleanupExportEnded", `{"source":["cacheport"],"detail-type":["Export Failed","Export Cancelled","Export Verified"]}`),
			rule("stack-AlertRule", `{"source":["cacheport"],"detail-type":["Export Abandoned","Audit Finding"]}`),
		},
	}}
}

type fakeSTS struct{ err error }

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:sts::123456789012:assumed-role/sre/me"), Account: aws.String("123456789012")}, nil
}

func TestDoctor(t *testing.T) {
	opt := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["elasticache.amazonaws.com","ap-east-1.elasticache-snapshot.amazonaws.com"]},"Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::exports/*"}]}`
	tests := []struct {
		name   string
		region string
		fix    bool
		bucket func(*fakeBucket)
		events func(*fakeEvents)
		sts    error
		// want maps check ids to the severity expected; checks not named must be ok.
		want map[string]Severity
		// fixed are the checks whose Fixed must be set; writes the S3 writes expected.
		fixed  []string
		writes []string
		msg    map[string]string // a fragment each finding's message or fix must hold
	}{
		{name: "all good"},
		{name: "missing bucket", bucket: func(b *fakeBucket) { b.missing = true },
			want: map[string]Severity{CheckBucket: SeverityError, CheckRegion: SeveritySkip, CheckOwnership: SeveritySkip, CheckGrant: SeveritySkip, CheckPublicAccess: SeveritySkip,
				CheckEncryption: SeveritySkip, CheckVersioning: SeveritySkip, CheckNotifications: SeveritySkip},
			msg: map[string]string{CheckBucket: "bucket exports does not exist"}},
		{name: "bucket denied", bucket: func(b *fakeBucket) { b.errs = map[string]error{"GetBucketLocation": apiErr("AccessDenied")} },
			want: map[string]Severity{CheckBucket: SeverityError, CheckRegion: SeveritySkip, CheckOwnership: SeveritySkip, CheckGrant: SeveritySkip, CheckPublicAccess: SeveritySkip,
				CheckEncryption: SeveritySkip, CheckVersioning: SeveritySkip, CheckNotifications: SeveritySkip},
			msg: map[string]string{CheckBucket: "s3:GetBucketLocation denied"}},
		{name: "wrong region", bucket: func(b *fakeBucket) { b.region = "us-east-1" },
			want: map[string]Severity{CheckRegion: SeverityError, CheckOwnership: SeveritySkip, CheckGrant: SeveritySkip, CheckPublicAccess: SeveritySkip,
				CheckEncryption: SeveritySkip, CheckVersioning: SeveritySkip, CheckNotifications: SeveritySkip},
			msg: map[string]string{CheckRegion: "bucket exports is in us-east-1, the caches are in eu-west-1"}},
		{name: "no grant", bucket: func(b *fakeBucket) { b.grants = b.grants[:1] },
			want: map[string]Severity{CheckGrant: SeverityError}, msg: map[string]string{CheckGrant: "ElastiCache lacks READ,WRITE,READ_ACP"}},
		{name: "no grant fixed", fix: true, bucket: func(b *fakeBucket) { b.grants = b.grants[:2] },
			fixed: []string{CheckGrant}, writes: []string{"PutBucketAcl"}, msg: map[string]string{CheckGrant: "granted WRITE,READ_ACP"}},
		{name: "acl denied", bucket: func(b *fakeBucket) { b.errs = map[string]error{"GetBucketAcl": apiErr("AccessDenied")} },
			want: map[string]Severity{CheckGrant: SeveritySkip}, msg: map[string]string{CheckGrant: "s3:GetBucketAcl denied"}},
		{name: "owner enforced", bucket: func(b *fakeBucket) {
			b.ownership = s3types.ObjectOwnershipBucketOwnerEnforced
			b.grants = b.grants[:1]
		}, want: map[string]Severity{CheckOwnership: SeverityError, CheckGrant: SeverityError}, msg: map[string]string{CheckOwnership: "BucketOwnerEnforced"}},
		{name: "owner enforced fixed", fix: true, bucket: func(b *fakeBucket) {
			b.ownership = s3types.ObjectOwnershipBucketOwnerEnforced
			b.grants = b.grants[:1]
		}, fixed: []string{CheckOwnership, CheckGrant}, writes: []string{"PutBucketOwnershipControls BucketOwnerPreferred", "PutBucketAcl"},
			msg: map[string]string{CheckOwnership: "BucketOwnerEnforced → BucketOwnerPreferred"}},
		{name: "owner enforced not fixed when public ACLs are not ignored", fix: true, bucket: func(b *fakeBucket) {
			b.ownership = s3types.ObjectOwnershipBucketOwnerEnforced
			b.grants = b.grants[:1]
			b.pab.IgnorePublicAcls = aws.Bool(false)
		}, want: map[string]Severity{CheckOwnership: SeverityError, CheckGrant: SeverityError, CheckPublicAccess: SeverityWarn},
			msg: map[string]string{CheckOwnership: "--fix left it: BlockPublicAcls and IgnorePublicAcls"}},
		{name: "object writer", bucket: func(b *fakeBucket) { b.ownership = "" },
			want: map[string]Severity{CheckOwnership: SeverityWarn}, msg: map[string]string{CheckOwnership: "ObjectWriter"}},
		{name: "opt-in region with policy", region: "ap-east-1", bucket: func(b *fakeBucket) {
			b.region, b.ownership, b.grants, b.policy = "ap-east-1", s3types.ObjectOwnershipBucketOwnerEnforced, b.grants[:1], opt
		}, msg: map[string]string{CheckGrant: "bucket policy allows"}},
		{name: "opt-in region without policy", region: "ap-east-1", bucket: func(b *fakeBucket) { b.region = "ap-east-1" },
			want: map[string]Severity{CheckGrant: SeverityError}, msg: map[string]string{CheckGrant: "ap-east-1.elasticache-snapshot.amazonaws.com"}},
		{name: "no public access block", bucket: func(b *fakeBucket) { b.pab = nil },
			want: map[string]Severity{CheckPublicAccess: SeverityWarn}},
		{name: "public access block partly off", bucket: func(b *fakeBucket) { b.pab.RestrictPublicBuckets = aws.Bool(false) },
			want: map[string]Severity{CheckPublicAccess: SeverityWarn}, msg: map[string]string{CheckPublicAccess: "off for RestrictPublicBuckets"}},
		{name: "sse-kms", bucket: func(b *fakeBucket) { b.sse = s3types.ServerSideEncryptionAwsKms },
			want: map[string]Severity{CheckEncryption: SeverityWarn}, msg: map[string]string{CheckEncryption: "aws:kms (key alias/exports)"}},
		{name: "no encryption", bucket: func(b *fakeBucket) { b.sse = "" }, want: map[string]Severity{CheckEncryption: SeverityWarn}},
		{name: "versioning suspended", bucket: func(b *fakeBucket) { b.versioning = s3types.BucketVersioningStatusSuspended },
			want: map[string]Severity{CheckVersioning: SeverityWarn}, msg: map[string]string{CheckVersioning: "versioning is suspended"}},
		{name: "no eventbridge", bucket: func(b *fakeBucket) { b.eventBridge = false },
			want: map[string]Severity{CheckNotifications: SeverityError}},
		{name: "no eventbridge fixed", fix: true, bucket: func(b *fakeBucket) {
			b.eventBridge = false
			b.queues = []s3types.QueueConfiguration{{QueueArn: aws.String("arn:aws:sqs:eu-west-1:1:q")}}
		}, fixed: []string{CheckNotifications}, writes: []string{"PutBucketNotificationConfiguration"}, msg: map[string]string{CheckNotifications: "1 other notification(s) kept"}},
		{name: "notifications denied", bucket: func(b *fakeBucket) {
			b.errs = map[string]error{"GetBucketNotificationConfiguration": apiErr("AccessDenied")}
		}, want: map[string]Severity{CheckNotifications: SeveritySkip}},
		{name: "bad credentials", sts: apiErr("ExpiredToken"), want: map[string]Severity{CheckIdentity: SeverityError}, msg: map[string]string{CheckIdentity: "aws sso login"}},
		{name: "no sts at the endpoint", sts: apiErr("NotImplemented"), want: map[string]Severity{CheckIdentity: SeverityWarn}, msg: map[string]string{CheckIdentity: "may not serve STS"}},
		{name: "no s3 rule on default bus", events: func(f *fakeEvents) { f.rules["default"] = f.rules["default"][1:] },
			want: map[string]Severity{CheckDefaultRules: SeverityError}},
		{name: "s3 rule on the wrong bus", events: func(f *fakeEvents) {
			f.rules["cacheport"] = append(f.rules["cacheport"], f.rules["default"][0])
			f.rules["default"] = f.rules["default"][1:]
		}, want: map[string]Severity{CheckDefaultRules: SeverityError, CheckBusRules: SeverityError}, msg: map[string]string{CheckBusRules: "never fire"}},
		{name: "no cacheport bus", events: func(f *fakeEvents) { delete(f.rules, "cacheport") },
			want: map[string]Severity{CheckBusRules: SeverityError}, msg: map[string]string{CheckBusRules: "event bus cacheport does not exist"}},
		{name: "missing alert rule", events: func(f *fakeEvents) { f.rules["cacheport"] = f.rules["cacheport"][:3] },
			want: map[string]Severity{CheckBusRules: SeverityError}, msg: map[string]string{CheckBusRules: "Export Abandoned, Audit Finding"}},
		{name: "rules denied", events: func(f *fakeEvents) {
			f.errs = map[string]error{"default": apiErr("AccessDeniedException"), "cacheport": apiErr("AccessDeniedException")}
		}, want: map[string]Severity{CheckDefaultRules: SeveritySkip, CheckBusRules: SeveritySkip}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ev := goodBucket(), goodEvents()
			if tt.bucket != nil {
				tt.bucket(b)
			}
			if tt.events != nil {
				tt.events(ev)
			}
			region := tt.region
			if region == "" {
				region = "eu-west-1"
			}
			d := New(Options{Bucket: "exports", Region: region, Fix: tt.fix}, b, ev, fakeSTS{err: tt.sts})
			rep, err := d.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, f := range rep.Findings {
				if seen[f.ID] {
					t.Errorf("finding %s twice", f.ID)
				}
				seen[f.ID] = true
				want := SeverityOK
				if w, ok := tt.want[f.ID]; ok {
					want = w
				}
				if f.Severity != want {
					t.Errorf("%s: %s (%s; fix %q), want %s", f.ID, f.Severity, f.Message, f.Fix, want)
				}
				if f.Severity != SeverityOK && f.Severity != SeveritySkip && f.Fix == "" {
					t.Errorf("%s: %s without a fix", f.ID, f.Severity)
				}
				if frag := tt.msg[f.ID]; frag != "" && !strings.Contains(f.Message+" "+f.Fix+" "+f.Fixed, frag) {
					t.Errorf("%s: %q / %q / %q does not say %q", f.ID, f.Message, f.Fix, f.Fixed, frag)
				}
				if (f.Fixed != "") != contains(tt.fixed, f.ID) {
					t.Errorf("%s: fixed %q, want fixed: %v", f.ID, f.Fixed, contains(tt.fixed, f.ID))
				}
			}
			if len(seen) != 11 {
				t.Errorf("%d checks, want 11: %v", len(seen), seen)
			}
			if strings.Join(b.writes, ";") != strings.Join(tt.writes, ";") {
				t.Errorf("writes %v, want %v", b.writes, tt.writes)
			}
			wantOK := true
			for _, s := range tt.want {
				wantOK = wantOK && s != SeverityError
			}
			if rep.OK() != wantOK || len(rep.Changed()) != len(tt.fixed) {
				t.Errorf("OK %v changed %v", rep.OK(), rep.Changed())
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestDoctorNeedsBucketAndRegion(t *testing.T) {
	if _, err := New(Options{Region: "eu-west-1"}, goodBucket(), nil, nil).Run(context.Background()); err == nil {
		t.Error("no bucket: no error")
	}
	if _, err := New(Options{Bucket: "exports"}, goodBucket(), nil, nil).Run(context.Background()); err == nil {
		t.Error("no region: no error")
	}
	rep, err := New(Options{Bucket: "exports", Region: "eu-west-1"}, goodBucket(), nil, nil).Run(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("%v %+v", err, rep)
	}
	for _, f := range rep.Findings {
		if (f.ID == CheckIdentity || f.ID == CheckDefaultRules || f.ID == CheckBusRules) != (f.Severity == SeveritySkip) {
			t.Errorf("%s: %s", f.ID, f.Severity)
		}
	}
}
