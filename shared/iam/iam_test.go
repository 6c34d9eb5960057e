package iam

import (
	"slices"
	"strings"
	"testing"
)

func TestCallAction(t *testing.T) {
	tests := []struct {
		call Call
		want string
	}{
		{Call{Service: "S3", Operation: "HeadObject"}, "s3:GetObject"},
		{Call{Service: "S3", Operation: "GetObject"}, "s3:GetObject"},
		{Call{Service: "s3", Operation: "GetObject", VersionID: true}, "s3:GetObjectVersion"},
		{Call{Service: "S3", Operation: "HeadObject", VersionID: true}, "s3:GetObjectVersion"},
		{Call{Service: "S3", Operation: "PutObject"}, "s3:PutObject"},
		{Call{Service: "S3", Operation: "CreateMultipartUpload"}, "s3:PutObject"},
		{Call{Service: "S3", Operation: "UploadPart"}, "s3:PutObject"},
		{Call{Service: "S3", Operation: "CompleteMultipartUpload"}, "s3:PutObject"},
		{Call{Service: "S3", Operation: "AbortMultipartUpload"}, "s3:AbortMultipartUpload"},
		{Call{Service: "S3", Operation: "ListObjectsV2"}, "s3:ListBucket"},
		{Call{Service: "S3", Operation: "ListObjects"}, "s3:ListBucket"},
		{Call{Service: "S3", Operation: "HeadBucket"}, "s3:ListBucket"},
		{Call{Service: "S3", Operation: "ListObjectVersions"}, "s3:ListBucketVersions"},
		{Call{Service: "S3", Operation: "ListBuckets"}, "s3:ListAllMyBuckets"},
		{Call{Service: "S3", Operation: "DeleteObject"}, "s3:DeleteObject"},
		{Call{Service: "S3", Operation: "DeleteObject", VersionID: true}, "s3:DeleteObjectVersion"},
		{Call{Service: "S3", Operation: "DeleteObjects", VersionID: true}, "s3:DeleteObjectVersion"},
		{Call{Service: "S3", Operation: "DeleteObjects"}, "s3:DeleteObject"},
		{Call{Service: "S3", Operation: "PutObject", VersionID: true}, "s3:PutObject"},
		{Call{Service: "S3", Operation: "GetBucketAcl"}, "s3:GetBucketAcl"},
		{Call{Service: "S3", Operation: "PutBucketAcl"}, "s3:PutBucketAcl"},
		{Call{Service: "S3", Operation: "GetBucketLocation"}, "s3:GetBucketLocation"},
		{Call{Service: "ElastiCache", Operation: "CopySnapshot"}, "elasticache:CopySnapshot"},
		{Call{Service: "elasticache", Operation: "DescribeServerlessCacheSnapshots"}, "elasticache:DescribeServerlessCacheSnapshots"},
		{Call{Service: "EventBridge", Operation: "PutEvents"}, "events:PutEvents"},
		{Call{Service: "events", Operation: "PutEvents"}, "events:PutEvents"},
		{Call{Service: "CloudWatch Events", Operation: "PutEvents"}, "events:PutEvents"},
	}
	for _, tt := range tests {
		t.Run(tt.call.Service+"/"+tt.call.Operation, func(t *testing.T) {
			if got := tt.call.Action(); got != tt.want {
				t.Errorf("%+v.Action() = %q, want %q", tt.call, got, tt.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	for _, f := range Functions() {
		t.Run(f, func(t *testing.T) {
			as := Actions(f)
			if len(as) == 0 {
				t.Fatal("no actions")
			}
			if !slices.IsSorted(as) || len(slices.Compact(slices.Clone(as))) != len(as) {
				t.Errorf("Actions(%s) is not sorted and unique: %v", f, as)
			}
			for _, a := range as {
				svc, op, ok := strings.Cut(a, ":")
				if !ok || svc == "" || op == "" || strings.ContainsAny(a, "*? ") {
					t.Errorf("action %q is not service:Operation without wildcards", a)
				}
				if !Allowed(f, strings.ToUpper(a)) {
					t.Errorf("Allowed(%s, %s) = false", f, a)
				}
			}
			// Actions hands out a copy: changing it leaves the table alone.
			as[0] = "x:Y"
			if Allowed(f, "x:Y") {
				t.Errorf("Actions(%s) aliases the table", f)
			}
			for a := range CheckedByAWS[f] {
				if !Allowed(f, a) {
					t.Errorf("CheckedByAWS lists %s for %s, which the table does not give it", a, f)
				}
			}
		})
	}
	for _, tt := range []struct{ fn, action string }{
		{GrantBucketAccess, "s3:PutObject"},
		{VerifyExport, "s3:DeleteObject"},
		{StartExport, "elasticache:DeleteSnapshot"},
		{"NoSuchFunction", "s3:GetObject"},
	} {
		if Allowed(tt.fn, tt.action) {
			t.Errorf("Allowed(%s, %s) = true, want false", tt.fn, tt.action)
		}
	}
	if Actions("NoSuchFunction") != nil {
		t.Error("Actions of an unknown function is not nil")
	}
	for f := range CheckedByAWS {
		if Actions(f) == nil {
			t.Errorf("CheckedByAWS names %s, which is not in the table", f)
		}
	}
}
