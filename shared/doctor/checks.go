package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/grant"
)

// OptInRegions are the regions launched after 20 March 2019, where AWS documents a bucket policy
// for ElastiCache's service principals instead of the ACL grant (AWS-FACTS.md).
var OptInRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
	"eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
}

// access checks Object Ownership (CheckOwnership) and that ElastiCache may write to the bucket
// (CheckGrant): the ACL grant of READ, WRITE and READ_ACP, or, in opt-in regions, the bucket
// policy for its service principals. With Fix it turns "bucket owner enforced" into "bucket
// owner preferred" when that cannot widen access, and adds the missing grants.
func (d *Doctor) access(ctx context.Context) []Finding {
	b, region := d.opts.Bucket, d.opts.Region
	optIn := slices.Contains(OptInRegions, region)
	policyOK, policyErr := d.policyAllowsElastiCache(ctx)

	own := Finding{ID: CheckOwnership}
	aclsOn := true
	oc, err := d.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(b)})
	var setting s3types.ObjectOwnership
	switch {
	case err != nil && absent(err):
		setting = s3types.ObjectOwnershipObjectWriter // a bucket without ownership controls
	case err != nil:
		own = denied(CheckOwnership, "s3:GetBucketOwnershipControls", err)
	case oc.OwnershipControls != nil && len(oc.OwnershipControls.Rules) > 0:
		setting = oc.OwnershipControls.Rules[0].ObjectOwnership
	}
	switch setting {
	case "":
	case s3types.ObjectOwnershipBucketOwnerEnforced:
		aclsOn = false
		if optIn && policyOK {
			own.Severity, own.Message = SeverityOK, "Object Ownership is BucketOwnerEnforced (ACLs disabled); ElastiCache is allowed by the bucket policy, as AWS documents for "+region
			break
		}
		own.Severity = SeverityError
		own.Message = "Object Ownership is BucketOwnerEnforced: ACLs are disabled, so ElastiCache's documented ACL grant cannot apply (exports fail with InvalidBucketAclWithObjectOwnership)"
		own.Fix = "set Object Ownership to BucketOwnerPreferred (cacheport doctor --fix does it when no ACL can widen access), then grant ElastiCache"
		if d.opts.Fix {
			if why := d.aclRisk(ctx); why != "" {
				own.Fix += "; --fix left it: " + why
			} else if _, err := d.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b),
				OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred}}}}); err != nil {
				own.Fix += "; --fix failed: " + err.Error()
			} else {
				aclsOn = true
				own.Severity = SeverityOK
				own.Message = "Object Ownership is BucketOwnerPreferred (ACLs enabled)"
				own.Fix = ""
				own.Fixed = fmt.Sprintf("Object Ownership of %s: BucketOwnerEnforced → BucketOwnerPreferred (ACLs enabled again; the bucket ACL grants only its owner and public ACLs are blocked and ignored)", b)
			}
		}
	case s3types.ObjectOwnershipObjectWriter:
		own.Severity = SeverityWarn
		own.Message = "Object Ownership is ObjectWriter (or unset): ACLs are enabled, but objects ElastiCache writes may belong to the writer rather than the bucket owner"
		own.Fix = fmt.Sprintf("aws s3api put-bucket-ownership-controls --bucket %s --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerPreferred}]'", b)
	default:
		own.Severity, own.Message = SeverityOK, fmt.Sprintf("Object Ownership is %s (ACLs enabled)", setting)
	}

	acc := Finding{ID: CheckGrant}
	switch {
	case optIn && policyOK:
		acc.Severity, acc.Message = SeverityOK, fmt.Sprintf("the bucket policy allows ElastiCache's service principals (%s is an opt-in region)", region)
		return []Finding{own, acc}
	case optIn:
		acc.Severity = SeverityError
		acc.Message = fmt.Sprintf("%s is an opt-in region: ElastiCache writes through a bucket policy for elasticache.amazonaws.com and %s.elasticache-snapshot.amazonaws.com, and the bucket's policy has none", region, region)
		if policyErr != nil {
			acc.Message += " (" + policyErr.Error() + ")"
		}
		acc.Fix = "add the statements of template.yaml's ExportBucketPolicy (ElastiCacheBucket, ElastiCacheObjects) to the bucket policy"
		return []Finding{own, acc}
	}
	g := grant.New(d.s3)
	res, err := g.Check(ctx, b, region)
	switch {
	case errors.Is(err, grant.ErrUnknownRegion):
		acc.Severity, acc.Message = SeveritySkip, fmt.Sprintf("not checked: AWS documents no ElastiCache canonical user for %s", region)
		return []Finding{own, acc}
	case err != nil && awserr.Classify(err) == awserr.Permission:
		acc = denied(CheckGrant, "s3:GetBucketAcl", err)
		return []Finding{own, acc}
	case err != nil:
		acc.Severity, acc.Message = SeverityError, "read the bucket ACL: "+err.Error()
		return []Finding{own, acc}
	}
	if len(res.Missing) == 0 && aclsOn {
		acc.Severity, acc.Message = SeverityOK, "the bucket ACL grants ElastiCache READ, WRITE and READ_ACP"
		return []Finding{own, acc}
	}
	acc.Severity = SeverityError
	switch {
	case !aclsOn:
		acc.Message = "ElastiCache has no usable grant: ACLs are disabled (Object Ownership BucketOwnerEnforced)"
		acc.Fix = "fix Object Ownership first, then cacheport doctor --fix adds the grant"
		if policyOK {
			acc.Severity = SeverityWarn
			acc.Message += "; the bucket policy allows ElastiCache's service principals, which AWS documents only for opt-in regions"
		}
	default:
		acc.Message = fmt.Sprintf("ElastiCache lacks %s on the bucket (canonical user %s): exports fail with \"ElastiCache has not been granted ...\"", grant.Names(res.Missing), res.CanonicalUserID)
		acc.Fix = "cacheport doctor --fix (adds the missing grants, keeps every other)"
		if d.opts.Fix {
			if res, err := g.Ensure(ctx, b, region); err != nil {
				acc.Fix += "; --fix failed: " + err.Error()
			} else {
				acc.Severity = SeverityOK
				acc.Message = "the bucket ACL grants ElastiCache READ, WRITE and READ_ACP"
				acc.Fix = ""
				acc.Fixed = fmt.Sprintf("granted %s on %s to ElastiCache's canonical user %s", grant.Names(res.Missing), b, res.CanonicalUserID)
			}
		}
	}
	return []Finding{own, acc}
}

// aclRisk says why turning ACLs on again could widen access to the bucket ("" when it cannot):
// the bucket ACL grants someone other than its owner, or public ACLs are not both blocked and
// ignored (objects' old ACLs become effective again with ACLs enabled).
func (d *Doctor) aclRisk(ctx context.Context) string {
	acl, err := d.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(d.opts.Bucket)})
	if err != nil {
		return "cannot read the bucket ACL: " + err.Error()
	}
	owner := ""
	if acl.Owner != nil {
		owner = aws.ToString(acl.Owner.ID)
	}
	for _, g := range acl.Grants {
		if g.Grantee == nil || g.Grantee.Type != s3types.TypeCanonicalUser || aws.ToString(g.Grantee.ID) != owner {
			return "the bucket ACL grants someone other than the owner"
		}
	}
	pab, err := d.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(d.opts.Bucket)})
	if err != nil || pab.PublicAccessBlockConfiguration == nil {
		return "the bucket has no public access block, so re-enabled ACLs could make objects public"
	}
	c := pab.PublicAccessBlockConfiguration
	if !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) {
		return "BlockPublicAcls and IgnorePublicAcls are not both on, so re-enabled ACLs could make objects public"
	}
	return ""
}

// policyAllowsElastiCache reports whether the bucket policy lets ElastiCache's service principals
// (elasticache.amazonaws.com, REGION.elasticache-snapshot.amazonaws.com) put objects. A bucket
// without a policy gives false and no error.
func (d *Doctor) policyAllowsElastiCache(ctx context.Context) (bool, error) {
	out, err := d.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(d.opts.Bucket)})
	if err != nil {
		if absent(err) {
			return false, nil
		}
		return false, fmt.Errorf("read the bucket policy: %w", err)
	}
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		return false, fmt.Errorf("parse the bucket policy: %w", err)
	}
	type statement struct {
		Effect    string
		Principal json.RawMessage
		Action    json.RawMessage
	}
	var sts []statement
	if err := json.Unmarshal(doc.Statement, &sts); err != nil {
		var one statement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false, fmt.Errorf("parse the bucket policy: %w", err)
		}
		sts = []statement{one}
	}
	principals := []string{"elasticache.amazonaws.com", d.opts.Region + ".elasticache-snapshot.amazonaws.com"}
	for _, st := range sts {
		if st.Effect != "Allow" {
			continue
		}
		var p struct{ Service json.RawMessage }
		if json.Unmarshal(st.Principal, &p) != nil || !slices.ContainsFunc(stringOrList(p.Service), func(s string) bool { return slices.Contains(principals, s) }) {
			continue
		}
		if slices.ContainsFunc(stringOrList(st.Action), func(a string) bool {
			return strings.EqualFold(a, "s3:PutObject") || a == "s3:*" || a == "*"
		}) {
			return true, nil
		}
	}
	return false, nil
}

// stringOrList reads an IAM policy value that is a string or a list of strings.
func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func (d *Doctor) publicAccess(ctx context.Context) Finding {
	f := Finding{ID: CheckPublicAccess}
	fix := fmt.Sprintf("aws s3api put-public-access-block --bucket %s --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true", d.opts.Bucket)
	out, err := d.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(d.opts.Bucket)})
	switch {
	case err != nil && absent(err):
		f.Severity, f.Message, f.Fix = SeverityWarn, "the bucket has no public access block of its own (the account's may still apply)", fix
		return f
	case err != nil:
		return denied(CheckPublicAccess, "s3:GetBucketPublicAccessBlock", err)
	}
	c := out.PublicAccessBlockConfiguration
	if c == nil {
		c = &s3types.PublicAccessBlockConfiguration{}
	}
	var off []string
	for _, s := range []struct {
		name string
		on   *bool
	}{{"BlockPublicAcls", c.BlockPublicAcls}, {"IgnorePublicAcls", c.IgnorePublicAcls}, {"BlockPublicPolicy", c.BlockPublicPolicy}, {"RestrictPublicBuckets", c.RestrictPublicBuckets}} {
		if !aws.ToBool(s.on) {
			off = append(off, s.name)
		}
	}
	if len(off) == 0 {
		f.Severity, f.Message = SeverityOK, "public access is blocked (all four settings on)"
		return f
	}
	f.Severity, f.Message, f.Fix = SeverityWarn, "public access block is off for "+strings.Join(off, ", ")+": exports hold every key of a cache", fix
	return f
}

func (d *Doctor) encryption(ctx context.Context) Finding {
	f := Finding{ID: CheckEncryption}
	fix := fmt.Sprintf(`aws s3api put-bucket-encryption --bucket %s --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'`, d.opts.Bucket)
	out, err := d.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(d.opts.Bucket)})
	switch {
	case err != nil && absent(err):
		f.Severity, f.Message, f.Fix = SeverityWarn, "the bucket reports no default encryption", fix
		return f
	case err != nil:
		return denied(CheckEncryption, "s3:GetEncryptionConfiguration", err)
	}
	var algo s3types.ServerSideEncryption
	key := ""
	if c := out.ServerSideEncryptionConfiguration; c != nil {
		for _, r := range c.Rules {
			if r.ApplyServerSideEncryptionByDefault != nil {
				algo, key = r.ApplyServerSideEncryptionByDefault.SSEAlgorithm, aws.ToString(r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID)
			}
		}
	}
	switch algo {
	case s3types.ServerSideEncryptionAes256:
		f.Severity, f.Message = SeverityOK, "default encryption is SSE-S3 (AES256)"
	case "":
		f.Severity, f.Message, f.Fix = SeverityWarn, "the bucket reports no default encryption", fix
	default:
		f.Severity = SeverityWarn
		f.Message = fmt.Sprintf("default encryption is %s", algo)
		if key != "" {
			f.Message += " (key " + key + ")"
		}
		f.Message += ": ElastiCache documents seeding a cache from S3 for SSE-S3 only, and whether it can export into an SSE-KMS bucket is unconfirmed"
		f.Fix = "use SSE-S3 for the export bucket: " + fix
	}
	return f
}

func (d *Doctor) versioning(ctx context.Context) Finding {
	f := Finding{ID: CheckVersioning}
	out, err := d.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(d.opts.Bucket)})
	if err != nil {
		return denied(CheckVersioning, "s3:GetBucketVersioning", err)
	}
	if out.Status == s3types.BucketVersioningStatusEnabled {
		f.Severity, f.Message = SeverityOK, "versioning is on (cleanup removes object versions itself; expire noncurrent versions by lifecycle)"
		return f
	}
	state := "off"
	if out.Status != "" {
		state = strings.ToLower(string(out.Status))
	}
	f.Severity = SeverityWarn
	f.Message = "versioning is " + state + ": an export deleted or overwritten by mistake cannot be recovered"
	f.Fix = fmt.Sprintf("aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled (and a lifecycle rule expiring noncurrent versions)", d.opts.Bucket)
	return f
}

func (d *Doctor) notifications(ctx context.Context) Finding {
	f := Finding{ID: CheckNotifications}
	b := d.opts.Bucket
	out, err := d.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(b)})
	if err != nil {
		return denied(CheckNotifications, "s3:GetBucketNotification", err)
	}
	if out.EventBridgeConfiguration != nil {
		f.Severity, f.Message = SeverityOK, "S3 sends the bucket's events to EventBridge"
		return f
	}
	f.Severity = SeverityError
	f.Message = "S3 does not send the bucket's events to EventBridge: verify-export sees exports only on its reconcile sweep, and cleanup-export never sees late objects"
	f.Fix = "cacheport doctor --fix (turns EventBridge notifications on, keeping the bucket's other notifications)"
	if !d.opts.Fix {
		return f
	}
	kept := len(out.LambdaFunctionConfigurations) + len(out.QueueConfigurations) + len(out.TopicConfigurations)
	_, err = d.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(b),
		NotificationConfiguration: &s3types.NotificationConfiguration{
			EventBridgeConfiguration:     &s3types.EventBridgeConfiguration{},
			LambdaFunctionConfigurations: out.LambdaFunctionConfigurations,
			QueueConfigurations:          out.QueueConfigurations,
			TopicConfigurations:          out.TopicConfigurations,
		},
	})
	if err != nil {
		f.Fix += "; --fix failed: " + err.Error()
		return f
	}
	f.Severity, f.Message, f.Fix = SeverityOK, "S3 sends the bucket's events to EventBridge", ""
	f.Fixed = fmt.Sprintf("EventBridge notifications of %s turned on (%d other notification(s) kept)", b, kept)
	return f
}

// busDetailTypes are the events of cacheport's own that some rule on the cacheport bus must
// route (CONTRACTS.md, "Who does what").
var busDetailTypes = []string{
	export.DetailRequested, export.DetailStarted, export.DetailVerifying, export.DetailVerified,
	export.DetailFailed, export.DetailCancelled, export.DetailAbandoned, export.DetailAudit,
}

// pattern is the part of an event pattern the rule checks read.
type pattern struct {
	Source     []any `json:"source"`
	DetailType []any `json:"detail-type"`
}

type listedRule struct {
	name, raw string
	p         pattern
}

func (d *Doctor) listRules(ctx context.Context, bus string) ([]listedRule, error) {
	var out []listedRule
	in := &eventbridge.ListRulesInput{EventBusName: aws.String(bus)}
	for {
		page, err := d.events.ListRules(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Rules {
			lr := listedRule{name: aws.ToString(r.Name), raw: aws.ToString(r.EventPattern)}
			if lr.raw != "" {
				_ = json.Unmarshal([]byte(lr.raw), &lr.p)
			}
			out = append(out, lr)
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

func has(vals []any, s string) bool {
	return slices.ContainsFunc(vals, func(v any) bool { t, _ := v.(string); return t == s })
}

// rules checks that the rules cacheport needs exist on the right buses: the bucket's S3 events
// on the default bus (AWS's events reach no other), cacheport's own events on the cacheport bus,
// and no rule for AWS's events on the cacheport bus (it would never fire).
func (d *Doctor) rules(ctx context.Context) []Finding {
	def, own := Finding{ID: CheckDefaultRules}, Finding{ID: CheckBusRules}
	if d.events == nil {
		def.Severity, def.Message = SeveritySkip, "not checked: no EventBridge client"
		own.Severity, own.Message = SeveritySkip, "not checked: no EventBridge client"
		return []Finding{def, own}
	}
	deploy := "deploy the stack (template.yaml) in " + d.opts.Region
	rs, err := d.listRules(ctx, "default")
	switch {
	case err != nil && awserr.Classify(err) == awserr.Permission:
		def.Severity, def.Message = SeveritySkip, "not checked: events:ListRules denied to the caller on the default bus"
	case err != nil:
		def.Severity, def.Message = SeverityError, "list the default bus's rules: "+err.Error()
	default:
		var names []string
		for _, r := range rs {
			if has(r.p.Source, "aws.s3") && strings.Contains(r.raw, `"`+d.opts.Bucket+`"`) {
				names = append(names, r.name)
			}
		}
		if len(names) > 0 {
			def.Severity, def.Message = SeverityOK, fmt.Sprintf("%d rule(s) on the default bus route the bucket's S3 events: %s", len(names), strings.Join(names, ", "))
		} else {
			def.Severity = SeverityError
			def.Message = fmt.Sprintf("no rule on the default bus routes S3 events of bucket %s: verify-export and cleanup-export will not hear of new objects", d.opts.Bucket)
			def.Fix = deploy + "; AWS's own events reach only the default bus, so the rules must live there"
		}
	}
	rs, err = d.listRules(ctx, d.opts.BusName)
	switch {
	case err != nil && awserr.Classify(err) == awserr.Permission:
		own.Severity, own.Message = SeveritySkip, fmt.Sprintf("not checked: events:ListRules denied to the caller on bus %s", d.opts.BusName)
	case err != nil && awserr.Classify(err) == awserr.NotFound:
		own.Severity, own.Message, own.Fix = SeverityError, fmt.Sprintf("event bus %s does not exist", d.opts.BusName), deploy
	case err != nil:
		own.Severity, own.Message = SeverityError, fmt.Sprintf("list the rules of bus %s: %v", d.opts.BusName, err)
	default:
		var missing, wrong []string
		for _, dt := range busDetailTypes {
			if !slices.ContainsFunc(rs, func(r listedRule) bool { return has(r.p.Source, export.EventSource) && has(r.p.DetailType, dt) }) {
				missing = append(missing, dt)
			}
		}
		for _, r := range rs {
			if slices.ContainsFunc(r.p.Source, func(v any) bool { s, _ := v.(string); return strings.HasPrefix(s, "aws.") }) {
				wrong = append(wrong, r.name)
			}
		}
		switch {
		case len(wrong) > 0:
			own.Severity = SeverityError
			own.Message = fmt.Sprintf("rule(s) %s on bus %s match AWS's own events, which arrive only on the default bus: they never fire", strings.Join(wrong, ", "), d.opts.BusName)
			own.Fix = "move them to the default bus (" + deploy + ")"
		case len(missing) > 0:
			own.Severity = SeverityError
			own.Message = fmt.Sprintf("no rule on bus %s routes %s", d.opts.BusName, strings.Join(missing, ", "))
			own.Fix = deploy
		default:
			own.Severity, own.Message = SeverityOK, fmt.Sprintf("bus %s routes every cacheport event (%d rules)", d.opts.BusName, len(rs))
		}
	}
	return []Finding{def, own}
}
