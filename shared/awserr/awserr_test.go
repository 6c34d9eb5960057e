package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkErr wraps an API error the way the SDK's clients return it: an OperationError around the
// SDK's ResponseError (HTTP status, request id) around the API error itself.
func sdkErr(service, op string, status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     service,
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: "req-1",
		},
	}
}

func generic(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	msg := func(s string) *string { return &s }
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, Unknown},
		{"plain error", errors.New("boom"), Unknown},
		{"unknown code, no status", generic("SomethingNew", "x"), Unknown},

		{"elasticache throttling (query protocol)", sdkErr("ElastiCache", "DescribeReplicationGroups", 400, generic("Throttling", "Rate exceeded")), Throttled},
		{"elasticache APICallRateForCustomerExceeded", sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.APICallRateForCustomerExceededFault{Message: msg("slow down")}), Throttled},
		{"s3 SlowDown", sdkErr("S3", "PutObject", 503, generic("SlowDown", "Please reduce your request rate.")), Throttled},
		{"429 without code", sdkErr("S3", "GetObject", 429, generic("", "")), Throttled},
		{"throttle after max attempts", fmt.Errorf("describe: %w", &retry.MaxAttemptsError{Attempt: 3, Err: sdkErr("ElastiCache", "DescribeSnapshots", 400, generic("Throttling", "Rate exceeded"))}), Throttled},

		{"snapshot not found", sdkErr("ElastiCache", "DescribeSnapshots", 404, &ectypes.SnapshotNotFoundFault{Message: msg("no such snapshot")}), NotFound},
		{"cache cluster not found", sdkErr("ElastiCache", "DescribeCacheClusters", 404, &ectypes.CacheClusterNotFoundFault{}), NotFound},
		{"replication group not found", sdkErr("ElastiCache", "DescribeReplicationGroups", 404, &ectypes.ReplicationGroupNotFoundFault{}), NotFound},
		{"serverless cache not found", sdkErr("ElastiCache", "DescribeServerlessCaches", 400, &ectypes.ServerlessCacheNotFoundFault{}), NotFound},
		{"serverless snapshot not found", sdkErr("ElastiCache", "DeleteServerlessCacheSnapshot", 400, &ectypes.ServerlessCacheSnapshotNotFoundFault{}), NotFound},
		{"s3 NoSuchKey", sdkErr("S3", "GetObject", 404, &s3types.NoSuchKey{}), NotFound},
		{"s3 HeadObject NotFound", sdkErr("S3", "HeadObject", 404, &s3types.NotFound{}), NotFound},
		{"s3 NoSuchBucket", sdkErr("S3", "ListObjectsV2", 404, &s3types.NoSuchBucket{}), NotFound},
		{"404 with unknown code", sdkErr("S3", "HeadObject", 404, generic("Weird", "")), NotFound},

		{"access denied", sdkErr("S3", "PutObject", 403, generic("AccessDenied", "Access Denied")), Permission},
		{"elasticache AccessDenied", sdkErr("ElastiCache", "CopySnapshot", 403, generic("AccessDenied", "User is not authorized")), Permission},
		{"expired token", sdkErr("ElastiCache", "DescribeSnapshots", 403, generic("ExpiredToken", "")), Permission},
		{"403 with unknown code", sdkErr("S3", "GetObject", 403, generic("", "")), Permission},

		{"s3 precondition failed (If-Match lost)", sdkErr("S3", "PutObject", 412, generic("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")), Conflict},
		{"s3 conditional request conflict", sdkErr("S3", "PutObject", 409, generic("ConditionalRequestConflict", "")), Conflict},
		{"412 without code", sdkErr("S3", "PutObject", 412, generic("", "")), Conflict},
		{"snapshot already exists", sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.SnapshotAlreadyExistsFault{}), Conflict},
		{"serverless snapshot already exists", sdkErr("ElastiCache", "CreateServerlessCacheSnapshot", 400, &ectypes.ServerlessCacheSnapshotAlreadyExistsFault{}), Conflict},

		{"invalid snapshot state", sdkErr("ElastiCache", "DeleteSnapshot", 400, &ectypes.InvalidSnapshotStateFault{}), InvalidState},
		{"invalid cache cluster state", sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.InvalidCacheClusterStateFault{}), InvalidState},
		{"invalid replication group state", sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.InvalidReplicationGroupStateFault{}), InvalidState},
		{"invalid serverless snapshot state (generic)", sdkErr("ElastiCache", "ExportServerlessCacheSnapshot", 400, generic("InvalidServerlessCacheSnapshotStateFault", "")), InvalidState},

		{"snapshot quota", sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.SnapshotQuotaExceededFault{}), Quota},
		{"serverless snapshot quota", sdkErr("ElastiCache", "CreateServerlessCacheSnapshot", 400, &ectypes.ServerlessCacheSnapshotQuotaExceededFault{}), Quota},

		{"invalid parameter value", sdkErr("ElastiCache", "CopySnapshot", 400, &ectypes.InvalidParameterValueException{}), InvalidInput},
		{"invalid parameter combination", sdkErr("ElastiCache", "CopySnapshot", 400, &ectypes.InvalidParameterCombinationException{}), InvalidInput},
		{"invalid ARN", sdkErr("ElastiCache", "ListTagsForResource", 400, &ectypes.InvalidARNFault{}), InvalidInput},
		{"400 with unknown code", sdkErr("ElastiCache", "CopySnapshot", 400, generic("SomethingNew", "")), Unknown},

		{"500 internal error", sdkErr("S3", "PutObject", 500, generic("InternalError", "")), Transient},
		{"503 unknown code", sdkErr("ElastiCache", "DescribeSnapshots", 503, generic("Unavailable", "")), Transient},
		{"request timeout code", sdkErr("S3", "PutObject", 400, generic("RequestTimeout", "")), Transient},
		{"context deadline", fmt.Errorf("describe snapshots: %w", context.DeadlineExceeded), Transient},
		{"net timeout", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &net.OpError{Op: "read", Err: timeoutErr{}}}, Transient},
		{"connection error", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithyhttp.RequestSendError{Err: errors.New("connection reset by peer")}}, Transient},
		{"context canceled", context.Canceled, Unknown},

		// The code wins over the status when both are known.
		{"code before status", sdkErr("ElastiCache", "CreateSnapshot", 400, generic("Throttling", "")), Throttled},
		{"wrapped with context", fmt.Errorf("create snapshot orders: %w", sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.SnapshotQuotaExceededFault{})), Quota},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassRetryableAndString(t *testing.T) {
	tests := []struct {
		c         Class
		name      string
		retryable bool
	}{
		{Unknown, "unknown", false},
		{NotFound, "not-found", false},
		{Throttled, "throttled", true},
		{Permission, "permission", false},
		{Conflict, "conflict", false},
		{InvalidState, "invalid-state", true},
		{Quota, "quota", false},
		{InvalidInput, "invalid-input", false},
		{Transient, "transient", true},
		{Class(42), "class(42)", false},
		{Class(-1), "class(-1)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.c.Retryable(); got != tt.retryable {
				t.Errorf("%v.Retryable() = %v, want %v", tt.c, got, tt.retryable)
			}
		})
	}
}

func TestCode(t *testing.T) {
	if got := Code(sdkErr("ElastiCache", "CreateSnapshot", 400, &ectypes.SnapshotQuotaExceededFault{})); got != "SnapshotQuotaExceededFault" {
		t.Errorf("Code = %q, want SnapshotQuotaExceededFault", got)
	}
	if got := Code(errors.New("x")); got != "" {
		t.Errorf("Code(plain) = %q, want empty", got)
	}
}

func TestCopySnapshotAdvice(t *testing.T) {
	msg := func(s string) *string { return &s }
	ipv := func(m string) error {
		return sdkErr("ElastiCache", "CopySnapshot", 400, &ectypes.InvalidParameterValueException{Message: msg(m)})
	}
	tests := []struct {
		name       string
		err        error
		wantCode   string
		wantAdvice string // a fragment the advice must contain
	}{
		{"nil", nil, "", ""},
		{"not an API error", errors.New("The S3 bucket b is outside of the region."), "", ""},
		{"outside region", ipv("The S3 bucket exports is outside of the region."), CopyBucketWrongRegion, "same region"},
		{"missing bucket", ipv("The S3 bucket exports does not exist."), CopyBucketMissing, "cacheport doctor"},
		{"not owned", ipv("The S3 bucket exports is not owned by the authenticated user."), CopyBucketNotOwned, "another account"},
		{"caller lacks permission", ipv("The authenticated user does not have sufficient permissions to perform the desired activity."), CopyAccessDenied, "s3:PutObject"},
		{"caller lacks permission under AccessDenied", sdkErr("ElastiCache", "CopySnapshot", 403, generic("AccessDenied", "The authenticated user does not have sufficient permissions to perform the desired activity.")), CopyAccessDenied, "elasticache:CopySnapshot"},
		{"AccessDenied, other message", sdkErr("ElastiCache", "CopySnapshot", 403, generic("AccessDenied", "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: elasticache:CopySnapshot")), CopyAccessDenied, "elasticache:CopySnapshot"},
		{"target exists (message)", ipv("The S3 bucket exports already contains an object with key cacheport/orders/x/a1/x-0001.rdb."), CopyTargetExists, "new target name"},
		{"target exists (fault)", sdkErr("ElastiCache", "CopySnapshot", 400, &ectypes.SnapshotAlreadyExistsFault{Message: msg("anything")}), CopyTargetExists, "new target name"},
		{"no READ grant", ipv("ElastiCache has not been granted READ permissions 540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353 on the S3 Bucket."), CopyNoGrant, "cacheport doctor --fix"},
		{"no WRITE grant", ipv("ElastiCache has not been granted WRITE permissions x on the S3 Bucket."), CopyNoGrant, "READ_ACP"},
		{"no READ_ACP grant, parameter combination", sdkErr("ElastiCache", "CopySnapshot", 400, &ectypes.InvalidParameterCombinationException{Message: msg("ElastiCache has not been granted READ_ACP permissions x on the S3 Bucket.")}), CopyNoGrant, "doctor --fix"},
		{"no grant under AccessDenied", sdkErr("ElastiCache", "CopySnapshot", 403, generic("AccessDenied", "ElastiCache has not been granted WRITE permissions x on the S3 Bucket.")), CopyNoGrant, "doctor --fix"},
		{"case-insensitive fragment", ipv("the s3 bucket exports IS OUTSIDE OF THE REGION"), CopyBucketWrongRegion, "region"},
		// The code comes first: a known message under an unrelated code is not matched.
		{"message under another code", sdkErr("ElastiCache", "CopySnapshot", 400, &ectypes.InvalidSnapshotStateFault{Message: msg("The S3 bucket exports does not exist.")}), "", ""},
		{"throttled", sdkErr("ElastiCache", "CopySnapshot", 400, generic("Throttling", "Rate exceeded")), "", ""},
		{"unmapped parameter message", ipv("Invalid snapshot name"), "", ""},
		{"target exists message under AccessDenied is access-denied", sdkErr("ElastiCache", "CopySnapshot", 403, generic("AccessDenied", "The S3 bucket b already contains an object with key k.")), CopyAccessDenied, "elasticache:CopySnapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, advice := CopySnapshotAdvice(tt.err)
			if code != tt.wantCode {
				t.Errorf("code = %q, want %q", code, tt.wantCode)
			}
			if tt.wantAdvice == "" {
				if advice != "" {
					t.Errorf("advice = %q, want none", advice)
				}
			} else if !containsFold(advice, tt.wantAdvice) {
				t.Errorf("advice = %q, want it to mention %q", advice, tt.wantAdvice)
			}
		})
	}
}

// TestCopySnapshotTableCodes keeps every row reachable and every returned code documented.
func TestCopySnapshotTableCodes(t *testing.T) {
	known := map[string]bool{CopyBucketWrongRegion: true, CopyBucketMissing: true, CopyBucketNotOwned: true, CopyAccessDenied: true, CopyTargetExists: true, CopyNoGrant: true}
	seen := map[string]bool{}
	for i, row := range copySnapshotTable {
		if !known[row.code] {
			t.Errorf("row %d returns undocumented code %q", i, row.code)
		}
		if len(row.codes) == 0 || row.advice == "" {
			t.Errorf("row %d has no codes or no advice", i)
		}
		seen[row.code] = true
	}
	for c := range known {
		if !seen[c] {
			t.Errorf("code %q has no row", c)
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
