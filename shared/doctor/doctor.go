// Package doctor checks the prerequisites of cacheport before anything fails: the export bucket
// (exists, in the caches' region, writable by ElastiCache, public access blocked, encrypted,
// versioned, sending events to EventBridge), the caller's identity and the EventBridge rules on
// the right buses. Each check gives one Finding with what was seen and the fix; with Fix set,
// the safe fixes are applied (the ElastiCache ACL grant, Object Ownership from "bucket owner
// enforced" to "bucket owner preferred" when no ACL can widen access, EventBridge notifications)
// and the finding says what changed.
//
// Doctor reads through consumer-side interfaces (S3API, EventsAPI, IdentityAPI) that the SDK's
// clients satisfy; tests pass fakes.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
)

// S3API is the part of the S3 client doctor calls: the bucket's configuration reads, and the
// three writes of its safe fixes (PutBucketAcl through grant, PutBucketOwnershipControls,
// PutBucketNotificationConfiguration).
type S3API interface {
	GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, opts ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketOwnershipControls(ctx context.Context, in *s3.GetBucketOwnershipControlsInput, opts ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error)
	PutBucketOwnershipControls(ctx context.Context, in *s3.PutBucketOwnershipControlsInput, opts ...func(*s3.Options)) (*s3.PutBucketOwnershipControlsOutput, error)
	GetBucketAcl(ctx context.Context, in *s3.GetBucketAclInput, opts ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
	PutBucketAcl(ctx context.Context, in *s3.PutBucketAclInput, opts ...func(*s3.Options)) (*s3.PutBucketAclOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, opts ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, opts ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, opts ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, opts ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetBucketNotificationConfiguration(ctx context.Context, in *s3.GetBucketNotificationConfigurationInput, opts ...func(*s3.Options)) (*s3.GetBucketNotificationConfigurationOutput, error)
	PutBucketNotificationConfiguration(ctx context.Context, in *s3.PutBucketNotificationConfigurationInput, opts ...func(*s3.Options)) (*s3.PutBucketNotificationConfigurationOutput, error)
}

// EventsAPI is the part of the EventBridge client doctor calls.
type EventsAPI interface {
	ListRules(ctx context.Context, in *eventbridge.ListRulesInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
}

// IdentityAPI is the part of the STS client doctor calls.
type IdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ S3API       = (*s3.Client)(nil)
	_ EventsAPI   = (*eventbridge.Client)(nil)
	_ IdentityAPI = (*sts.Client)(nil)
)

// Severity says how much a finding matters.
type Severity string

// The severities. Only SeverityError makes the doctor's verdict fail.
const (
	SeverityOK    Severity = "ok"
	SeverityWarn  Severity = "warn"
	SeverityError Severity = "error"
	// SeveritySkip: the check could not be made (the caller may not read it, or an earlier
	// check failed); it says why.
	SeveritySkip Severity = "skip"
)

// Check ids, stable for scripts and tests.
const (
	CheckIdentity      = "caller-identity"
	CheckBucket        = "bucket-exists"
	CheckRegion        = "bucket-region"
	CheckOwnership     = "object-ownership"
	CheckGrant         = "elasticache-access"
	CheckPublicAccess  = "public-access-block"
	CheckEncryption    = "default-encryption"
	CheckVersioning    = "versioning"
	CheckNotifications = "eventbridge-notifications"
	CheckDefaultRules  = "rules-default-bus"
	CheckBusRules      = "rules-cacheport-bus"
)

// Finding is the result of one check.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// Fix says what would put it right ("" when nothing needs to change).
	Fix string `json:"fix,omitempty"`
	// Fixed says what Fix mode changed ("" when it changed nothing).
	Fixed string `json:"fixed,omitempty"`
}

// Report is one run of the doctor.
type Report struct {
	Bucket   string    `json:"bucket"`
	Region   string    `json:"region"`
	Findings []Finding `json:"findings"`
}

// OK reports whether no finding is an error.
func (r *Report) OK() bool {
	return !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == SeverityError })
}

// Changed lists what Fix mode changed, one line per change.
func (r *Report) Changed() []string {
	var out []string
	for _, f := range r.Findings {
		if f.Fixed != "" {
			out = append(out, f.Fixed)
		}
	}
	return out
}

// Options say what to check.
type Options struct {
	Bucket string
	Prefix string
	// Region is the caches' region (the region the clients talk to).
	Region string
	// BusName is the cacheport event bus (config.DefaultBusName when empty).
	BusName string
	// Fix applies the safe fixes.
	Fix bool
}

// Doctor runs the checks. Build it with New.
type Doctor struct {
	opts   Options
	s3     S3API
	events EventsAPI
	id     IdentityAPI
}

// New returns a Doctor. events and id may be nil: their checks are then skipped.
func New(opts Options, s3c S3API, events EventsAPI, id IdentityAPI) *Doctor {
	if opts.BusName == "" {
		opts.BusName = "cacheport"
	}
	if opts.Prefix == "" {
		opts.Prefix = export.DefaultPrefix
	}
	return &Doctor{opts: opts, s3: s3c, events: events, id: id}
}

// Run makes every check and returns the findings in a fixed order. Its error is non-nil only
// for a context error or a bad option; AWS errors become findings.
func (d *Doctor) Run(ctx context.Context) (*Report, error) {
	if d.opts.Bucket == "" {
		return nil, errors.New("doctor: no bucket to check")
	}
	if d.opts.Region == "" {
		return nil, errors.New("doctor: no region (the caches' region)")
	}
	r := &Report{Bucket: d.opts.Bucket, Region: d.opts.Region}
	add := func(fs ...Finding) { r.Findings = append(r.Findings, fs...) }
	add(d.identity(ctx))
	found, ok := d.location(ctx)
	add(found...)
	if len(found) == 1 {
		add(skipped(CheckRegion)...)
	}
	if !ok {
		add(skipped(CheckOwnership, CheckGrant, CheckPublicAccess, CheckEncryption, CheckVersioning, CheckNotifications)...)
	} else {
		add(d.access(ctx)...)
		add(d.publicAccess(ctx))
		add(d.encryption(ctx))
		add(d.versioning(ctx))
		add(d.notifications(ctx))
	}
	add(d.rules(ctx)...)
	return r, ctx.Err()
}

func skipped(ids ...string) []Finding {
	out := make([]Finding, 0, len(ids))
	for _, id := range ids {
		out = append(out, Finding{ID: id, Severity: SeveritySkip, Message: "not checked: the bucket is missing, unreadable or in another region (see above)"})
	}
	return out
}

func (d *Doctor) identity(ctx context.Context) Finding {
	f := Finding{ID: CheckIdentity}
	if d.id == nil {
		f.Severity, f.Message = SeveritySkip, "not checked: no STS client"
		return f
	}
	out, err := d.id.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil && (awserr.Code(err) == "NotImplemented" || awserr.Classify(err) == awserr.Transient || awserr.Classify(err) == awserr.Throttled) {
		// STS itself could not answer (a local twin without STS, an outage): not the credentials.
		f.Severity = SeverityWarn
		f.Message = "the caller's identity could not be checked: " + err.Error()
		f.Fix = "run doctor again; an S3-compatible endpoint or local twin may not serve STS"
		return f
	}
	if err != nil {
		f.Severity = SeverityError
		f.Message = "cannot tell who the caller is: " + err.Error()
		f.Fix = "check the credentials (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID, an expired SSO session: aws sso login)"
		return f
	}
	f.Severity = SeverityOK
	f.Message = fmt.Sprintf("acting as %s (account %s)", aws.ToString(out.Arn), aws.ToString(out.Account))
	return f
}

// location checks that the bucket exists (CheckBucket) and is in the caches' region
// (CheckRegion). ok is false when the bucket cannot be used (missing, unreadable, in another
// region): the other bucket checks are skipped.
func (d *Doctor) location(ctx context.Context) ([]Finding, bool) {
	b := d.opts.Bucket
	out, err := d.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b)})
	if err != nil {
		f := Finding{ID: CheckBucket, Severity: SeverityError}
		switch awserr.Classify(err) {
		case awserr.NotFound:
			f.Message = fmt.Sprintf("bucket %s does not exist", b)
			f.Fix = fmt.Sprintf("create it in %s (aws s3api create-bucket --bucket %s ...), or deploy the stack without ExistingBucketName so that it makes one", d.opts.Region, b)
		case awserr.Permission:
			f.Message = fmt.Sprintf("bucket %s: s3:GetBucketLocation denied (the bucket may be another account's)", b)
			f.Fix = "give the caller s3:GetBucketLocation on the bucket; ElastiCache exports only to buckets of the caller's account"
		default:
			f.Message = fmt.Sprintf("bucket %s: %v", b, err)
		}
		return []Finding{f}, false
	}
	region := bucketRegion(out.LocationConstraint)
	exists := Finding{ID: CheckBucket, Severity: SeverityOK, Message: fmt.Sprintf("bucket %s exists", b)}
	f := Finding{ID: CheckRegion, Severity: SeverityOK, Message: fmt.Sprintf("bucket %s is in %s, the caches' region", b, region)}
	if region != d.opts.Region {
		f.Severity = SeverityError
		f.Message = fmt.Sprintf("bucket %s is in %s, the caches are in %s: ElastiCache exports only to a bucket in the snapshot's region", b, region, d.opts.Region)
		f.Fix = fmt.Sprintf("use a bucket in %s (--bucket), or run cacheport with --region %s if the caches are there", d.opts.Region, region)
		// S3 answers calls about a bucket from another region's endpoint with redirects.
		return []Finding{exists, f}, false
	}
	return []Finding{exists, f}, true
}

// bucketRegion turns GetBucketLocation's constraint into a region: empty is us-east-1, and the
// legacy "EU" is eu-west-1.
func bucketRegion(c s3types.BucketLocationConstraint) string {
	switch c {
	case "":
		return "us-east-1"
	case s3types.BucketLocationConstraintEu:
		return "eu-west-1"
	}
	return string(c)
}

// absent reports whether err says a bucket setting is not configured (S3 answers 404 with a
// code of its own for each).
func absent(err error) bool {
	switch awserr.Code(err) {
	case "OwnershipControlsNotFoundError", "NoSuchPublicAccessBlockConfiguration",
		"ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucketPolicy":
		return true
	}
	return awserr.Classify(err) == awserr.NotFound
}

// denied formats a read the caller may not make as a skipped finding.
func denied(id, action string, err error) Finding {
	if awserr.Classify(err) == awserr.Permission {
		return Finding{ID: id, Severity: SeveritySkip, Message: fmt.Sprintf("not checked: %s denied to the caller", action),
			Fix: fmt.Sprintf("give the caller %s on the bucket to check this", action)}
	}
	return Finding{ID: id, Severity: SeverityError, Message: fmt.Sprintf("%s: %v", action, err)}
}
