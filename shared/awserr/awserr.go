// Package awserr classifies the errors AWS returns into the few classes cacheport acts on.
//
// It is the one place that looks inside AWS errors. Classification goes by error code
// (errors.As on smithy.APIError, which every modeled ElastiCache and S3 fault implements),
// then by HTTP status, then by the transport's own signals (timeouts, connection errors). It
// never matches message text, with one documented exception: CopySnapshotAdvice, whose table
// of CopySnapshot message fragments exists because AWS reports those bucket problems under
// generic codes that differ by message alone (see AWS-FACTS.md).
package awserr

import (
	"context"
	"errors"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Class is what an AWS error means to cacheport. The zero value is Unknown.
type Class int

// The classes. Their order is not significant; String gives a stable name for logs and metrics.
const (
	// Unknown is any error this package cannot place, and nil.
	Unknown Class = iota
	// NotFound: the cache, snapshot, bucket or key does not exist (or no longer does).
	NotFound
	// Throttled: the request was rate limited; the same call later will likely succeed.
	Throttled
	// Permission: the caller's credentials or policies do not allow the call.
	Permission
	// Conflict: the thing already exists, or a conditional write lost its race
	// (S3 412 PreconditionFailed, 409 ConditionalRequestConflict). Re-read, do not retry blindly.
	Conflict
	// InvalidState: the resource is in a transitional state (InvalidSnapshotState,
	// InvalidCacheClusterState, InvalidReplicationGroupState, ...); retry later.
	InvalidState
	// Quota: a service quota is exhausted (SnapshotQuotaExceededFault, ...); wait for it to free.
	Quota
	// InvalidInput: the request itself is wrong (bad parameter, bad ARN); retrying cannot help.
	InvalidInput
	// Transient: a server-side failure (5xx), a timeout or a broken connection.
	Transient
)

var classNames = [...]string{
	Unknown:      "unknown",
	NotFound:     "not-found",
	Throttled:    "throttled",
	Permission:   "permission",
	Conflict:     "conflict",
	InvalidState: "invalid-state",
	Quota:        "quota",
	InvalidInput: "invalid-input",
	Transient:    "transient",
}

// String returns the class's stable lower-case name (e.g. "not-found"), or "class(N)" for a
// value outside the constants.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Retryable reports whether the same call, made again a little later, may succeed:
// true for Throttled, Transient and InvalidState. Conflict is not retryable (re-read first),
// nor is Quota (it frees over hours, not seconds).
func (c Class) Retryable() bool {
	switch c {
	case Throttled, Transient, InvalidState:
		return true
	}
	return false
}

// modeledCode returns a modeled fault's error code, so that the tables below follow the SDK's model.
func modeledCode(e smithy.APIError) string { return e.ErrorCode() }

// codeClasses maps AWS error codes to classes. Codes of modeled faults are taken from the
// SDK's own types so that they cannot drift from the service model.
var codeClasses = func() map[string]Class {
	m := map[string]Class{
		// Generic codes (Query, REST-XML and JSON protocols) not modeled as types.
		"NotFound":                    NotFound,
		"NoSuchVersion":               NotFound,
		"ResourceNotFoundException":   NotFound,
		"AccessDenied":                Permission,
		"AccessDeniedException":       Permission,
		"UnauthorizedOperation":       Permission,
		"AuthorizationError":          Permission,
		"AuthFailure":                 Permission,
		"InvalidClientTokenId":        Permission,
		"InvalidAccessKeyId":          Permission,
		"SignatureDoesNotMatch":       Permission,
		"ExpiredToken":                Permission,
		"ExpiredTokenException":       Permission,
		"MissingAuthenticationToken":  Permission,
		"UnrecognizedClientException": Permission,
		"AllAccessDisabled":           Permission,
		"OptInRequired":               Permission,
		"PreconditionFailed":          Conflict,
		"ConditionalRequestConflict":  Conflict,
		"InvalidObjectState":          InvalidState,
		"ValidationError":             InvalidInput,
		"ValidationException":         InvalidInput,
		"InvalidParameter":            InvalidInput,
		"InvalidParameterException":   InvalidInput,
		"MissingParameter":            InvalidInput,
		"InvalidArgument":             InvalidInput,
		"InvalidBucketName":           InvalidInput,
		"InvalidRequest":              InvalidInput,
		"MalformedXML":                InvalidInput,
		"InvalidQueryParameter":       InvalidInput,
		"InternalError":               Transient,
		"InternalFailure":             Transient,
		"InternalServerError":         Transient,
		"ServiceUnavailable":          Transient,
		"ServiceUnavailableException": Transient,
		"OperationAborted":            Transient, // S3: a conflicting operation is in progress; try again
		"IDPCommunicationError":       Transient,
	}
	for c := range retry.DefaultThrottleErrorCodes {
		m[c] = Throttled
	}
	for c := range retry.DefaultRetryableErrorCodes {
		m[c] = Transient
	}
	modeled := []struct {
		e smithy.APIError
		c Class
	}{
		// ElastiCache.
		{&ectypes.CacheClusterNotFoundFault{}, NotFound},
		{&ectypes.ReplicationGroupNotFoundFault{}, NotFound},
		{&ectypes.ServerlessCacheNotFoundFault{}, NotFound},
		{&ectypes.SnapshotNotFoundFault{}, NotFound},
		{&ectypes.ServerlessCacheSnapshotNotFoundFault{}, NotFound},
		{&ectypes.NodeGroupNotFoundFault{}, NotFound},
		{&ectypes.TagNotFoundFault{}, NotFound},
		{&ectypes.APICallRateForCustomerExceededFault{}, Throttled},
		{&ectypes.InvalidCredentialsException{}, Permission},
		{&ectypes.SnapshotAlreadyExistsFault{}, Conflict},
		{&ectypes.ServerlessCacheSnapshotAlreadyExistsFault{}, Conflict},
		{&ectypes.CacheClusterAlreadyExistsFault{}, Conflict},
		{&ectypes.ReplicationGroupAlreadyExistsFault{}, Conflict},
		{&ectypes.ServerlessCacheAlreadyExistsFault{}, Conflict},
		{&ectypes.InvalidSnapshotStateFault{}, InvalidState},
		{&ectypes.InvalidCacheClusterStateFault{}, InvalidState},
		{&ectypes.InvalidReplicationGroupStateFault{}, InvalidState},
		{&ectypes.InvalidServerlessCacheStateFault{}, InvalidState},
		{&ectypes.InvalidServerlessCacheSnapshotStateFault{}, InvalidState},
		{&ectypes.SnapshotQuotaExceededFault{}, Quota},
		{&ectypes.ServerlessCacheSnapshotQuotaExceededFault{}, Quota},
		{&ectypes.TagQuotaPerResourceExceeded{}, Quota},
		{&ectypes.InvalidParameterValueException{}, InvalidInput},
		{&ectypes.InvalidParameterCombinationException{}, InvalidInput},
		{&ectypes.InvalidARNFault{}, InvalidInput},
		{&ectypes.InvalidKMSKeyFault{}, InvalidInput},
		{&ectypes.SnapshotFeatureNotSupportedFault{}, InvalidInput},
		// S3.
		{&s3types.NoSuchKey{}, NotFound},
		{&s3types.NoSuchBucket{}, NotFound},
		{&s3types.NoSuchUpload{}, NotFound},
		{&s3types.NotFound{}, NotFound},
		{&s3types.InvalidObjectState{}, InvalidState},
		{&s3types.InvalidRequest{}, InvalidInput},
	}
	for _, x := range modeled {
		m[modeledCode(x.e)] = x.c
	}
	return m
}()

// statusClasses places an error by HTTP status when its code is unknown. 400 is left out: it is
// the status of nearly every fault, so it says nothing about an unknown code.
var statusClasses = map[int]Class{
	401: Permission,
	403: Permission,
	404: NotFound,
	409: Conflict,
	412: Conflict,
	429: Throttled,
}

// Classify returns the class of err (Unknown for nil and for errors it cannot place). It looks
// through wrapping (fmt.Errorf's %w, smithy.OperationError, the SDK's ResponseError and
// retry.MaxAttemptsError), so it can be given the error exactly as a caller received it.
//
// The order is: the AWS error code; then the HTTP status (401, 403, 404, 409, 412, 429, 5xx);
// then context.DeadlineExceeded, timeouts and connection errors (Transient).
func Classify(err error) Class {
	if err == nil {
		return Unknown
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if c, ok := codeClasses[apiErr.ErrorCode()]; ok {
			return c
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		s := status.HTTPStatusCode()
		if c, ok := statusClasses[s]; ok {
			return c
		}
		if s >= 500 && s <= 599 {
			return Transient
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return Transient
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return Transient
	}
	return Unknown
}

// Code returns the AWS error code carried by err ("" when there is none). It is for logs and
// records; decide with Classify.
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
