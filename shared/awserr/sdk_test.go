package awserr

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// These tests let the real SDK clients parse real-shaped error responses from a local server,
// so the errors classified are exactly what a caller receives (wrapping included).

func serve(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("x-amzn-RequestId", "req-1")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func ecClient(url string) *elasticache.Client {
	return elasticache.New(elasticache.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(url), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
	})
}

func s3Client(url string) *s3.Client {
	return s3.New(s3.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(url), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1, UsePathStyle: true,
	})
}

// queryError is an ElastiCache (AWS Query protocol) error response.
func queryError(code, msg string) string {
	return `<ErrorResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><Error><Type>Sender</Type><Code>` +
		code + `</Code><Message>` + msg + `</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`
}

func s3Error(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + msg +
		`</Message><RequestId>req-1</RequestId><HostId>h</HostId></Error>`
}

func TestClassifySDKErrors(t *testing.T) {
	ctx := context.Background()
	ec := func(status int, body string) error {
		_, err := ecClient(serve(t, status, "text/xml", body)).DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{})
		return err
	}
	put := func(status int, body string) error {
		_, err := s3Client(serve(t, status, "application/xml", body)).PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("b"), Key: aws.String("cacheport/x/export.json"), IfNoneMatch: aws.String("*"), Body: strings.NewReader("{}"),
		})
		return err
	}
	head := func(status int) error {
		_, err := s3Client(serve(t, status, "application/xml", "")).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
		return err
	}
	get := func(status int, body string) error {
		_, err := s3Client(serve(t, status, "application/xml", body)).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
		return err
	}
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"elasticache Throttling", ec(400, queryError("Throttling", "Rate exceeded")), Throttled},
		{"elasticache SnapshotNotFoundFault", ec(404, queryError("SnapshotNotFoundFault", "Snapshot x not found.")), NotFound},
		{"elasticache InvalidSnapshotState", ec(400, queryError("InvalidSnapshotState", "Snapshot is being copied")), InvalidState},
		{"elasticache SnapshotQuotaExceededFault", ec(400, queryError("SnapshotQuotaExceededFault", "quota")), Quota},
		{"elasticache AccessDenied", ec(403, queryError("AccessDenied", "not authorized")), Permission},
		{"elasticache 503", ec(503, queryError("ServiceUnavailable", "try later")), Transient},
		{"s3 PutObject 412", put(412, s3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")), Conflict},
		{"s3 PutObject 409", put(409, s3Error("ConditionalRequestConflict", "A conflicting operation occurred")), Conflict},
		{"s3 PutObject SlowDown", put(503, s3Error("SlowDown", "Please reduce your request rate.")), Throttled},
		{"s3 HeadObject 404 (no body)", head(404), NotFound},
		{"s3 HeadObject 412 (no body)", head(412), Conflict},
		{"s3 HeadObject 403 (no body)", head(403), Permission},
		{"s3 GetObject NoSuchKey", get(404, s3Error("NoSuchKey", "The specified key does not exist.")), NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the call succeeded; want an error")
			}
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestCopySnapshotAdviceSDK(t *testing.T) {
	copySnap := func(code, msg string) error {
		_, err := ecClient(serve(t, 400, "text/xml", queryError(code, msg))).CopySnapshot(context.Background(), &elasticache.CopySnapshotInput{
			SourceSnapshotName: aws.String("automatic.orders"), TargetSnapshotName: aws.String("cacheport/orders/x/a1/x"), TargetBucket: aws.String("exports"),
		})
		return err
	}
	tests := []struct {
		name     string
		err      error
		wantCode string
	}{
		{"wrong region", copySnap("InvalidParameterValue", "The S3 bucket exports is outside of the region."), CopyBucketWrongRegion},
		{"no grant", copySnap("InvalidParameterValue", "ElastiCache has not been granted READ_ACP permissions 540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353 on the S3 Bucket."), CopyNoGrant},
		{"target exists", copySnap("InvalidParameterValue", "The S3 bucket exports already contains an object with key cacheport/orders/x/a1/x-0001.rdb."), CopyTargetExists},
		{"target exists as a fault", copySnap("SnapshotAlreadyExistsFault", "Snapshot already exists"), CopyTargetExists},
		{"unrelated", copySnap("InvalidSnapshotState", "The snapshot is not available"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the call succeeded; want an error")
			}
			if code, _ := CopySnapshotAdvice(tt.err); code != tt.wantCode {
				t.Errorf("CopySnapshotAdvice(%v) = %q, want %q", tt.err, code, tt.wantCode)
			}
		})
	}
}
