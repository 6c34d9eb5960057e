package awserr

import (
	"errors"
	"slices"
	"strings"

	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"
)

// Stable codes CopySnapshotAdvice returns. They go into the export record's error code.
const (
	CopyBucketWrongRegion = "bucket-wrong-region"
	CopyBucketMissing     = "bucket-missing"
	CopyBucketNotOwned    = "bucket-not-owned"
	CopyAccessDenied      = "access-denied"
	CopyTargetExists      = "target-exists"
	CopyNoGrant           = "no-grant"
)

// copyAdvice is one row of the CopySnapshot table: under any of codes, an error whose message
// contains fragment (case-insensitive; "" matches any message) means code, fixed by advice.
type copyAdvice struct {
	codes    []string
	fragment string
	code     string
	advice   string
}

// The codes the bucket problems arrive under. The SDK's CopySnapshot documentation lists the
// messages but not their codes, and the service model names only generic faults for the call,
// so each row accepts the generic parameter and permission codes (unconfirmed which one AWS
// uses for which message; a code outside these lists is never matched by message).
var (
	paramCodes  = []string{modeledCode(&ectypes.InvalidParameterValueException{}), modeledCode(&ectypes.InvalidParameterCombinationException{})}
	accessCodes = []string{"AccessDenied", "AccessDeniedException"}
	anyCopyCode = append(append([]string{}, paramCodes...), accessCodes...)
)

// copySnapshotTable is the one table of CopySnapshot message fragments: the single place in
// cacheport allowed to match AWS message text (AWS-FACTS.md, "CopySnapshot error messages worth
// mapping"). The messages it keys on are those the SDK documents for CopySnapshot
// (go doc github.com/aws/aws-sdk-go-v2/service/elasticache.Client.CopySnapshot):
//
//	The S3 bucket %s is outside of the region.
//	The S3 bucket %s does not exist.
//	The S3 bucket %s is not owned by the authenticated user.
//	The authenticated user does not have sufficient permissions to perform the desired activity.
//	The S3 bucket %s already contains an object with key %s.
//	ElastiCache has not been granted READ|WRITE|READ_ACP permissions %s on the S3 Bucket.
//
// Rows are tried in order; the first whose code and fragment both match wins. Rows with an
// empty fragment match by code alone and come after the fragment rows for the same code.
var copySnapshotTable = []copyAdvice{
	{anyCopyCode, "is outside of the region", CopyBucketWrongRegion,
		"the bucket must be in the same region as the cache: create the export bucket in the cache's region (or point CACHEPORT_BUCKET at one there)"},
	{anyCopyCode, "does not exist", CopyBucketMissing,
		"the export bucket does not exist: create it in the cache's region, or fix CACHEPORT_BUCKET (run cacheport doctor to check)"},
	{anyCopyCode, "is not owned by the authenticated user", CopyBucketNotOwned,
		"the export bucket belongs to another account: use a bucket owned by the account that owns the cache"},
	{anyCopyCode, "has not been granted", CopyNoGrant,
		"ElastiCache lacks READ, WRITE and READ_ACP on the bucket (its Object Ownership must allow ACLs): run cacheport doctor --fix, or redeploy the stack so grant-bucket-access sets the grant"},
	{anyCopyCode, "does not have sufficient permissions", CopyAccessDenied,
		"the caller may not export to this bucket: give its role elasticache:CopySnapshot and s3:GetBucketLocation, s3:ListAllMyBuckets, s3:ListBucket, s3:PutObject on the bucket (run cacheport doctor to check)"},
	{paramCodes, "already contains an object with key", CopyTargetExists,
		"an object with the target name is already in the bucket: the export must use a new target name (next attempt), never overwrite"},
	{[]string{modeledCode(&ectypes.SnapshotAlreadyExistsFault{})}, "", CopyTargetExists,
		"an object with the target name is already in the bucket: the export must use a new target name (next attempt), never overwrite"},
	{accessCodes, "", CopyAccessDenied,
		"the caller may not export to this bucket: give its role elasticache:CopySnapshot and s3:GetBucketLocation, s3:ListAllMyBuckets, s3:ListBucket, s3:PutObject on the bucket (run cacheport doctor to check)"},
}

// CopySnapshotAdvice maps an error returned by CopySnapshot (with TargetBucket, that is an
// export to S3) to a stable code (CopyBucketWrongRegion, ...) and advice naming the fix. It
// returns "", "" when err is nil or not one of the documented bucket problems: classify such
// errors with Classify.
//
// It is the single place cacheport matches AWS message text; the code is checked first, and a
// message is only looked at under the codes its row names.
func CopySnapshotAdvice(err error) (code string, advice string) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return "", ""
	}
	ec := apiErr.ErrorCode()
	msg := strings.ToLower(apiErr.ErrorMessage())
	for _, row := range copySnapshotTable {
		if !slices.Contains(row.codes, ec) {
			continue
		}
		if row.fragment == "" || strings.Contains(msg, strings.ToLower(row.fragment)) {
			return row.code, row.advice
		}
	}
	return "", ""
}
