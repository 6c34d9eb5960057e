// Package iam is CONTRACTS.md's "who does what" table as data: for each function (by its
// template logical id) the IAM actions it may hold, and the map from an API call, as a client
// makes it, to the IAM action that authorises it.
//
// Two tests hold template.yaml to this table: the one beside this package compares each
// function's policies with Actions in both directions, and a twin-based test maps every call a
// function makes (Call.Action) into the same set, less CheckedByAWS. Change the table, the
// template and CONTRACTS.md together.
package iam

import (
	"slices"
	"strings"
)

// Function logical ids in template.yaml (docs/architecture.md, "Function names").
const (
	StartExport       = "StartExportFunction"
	VerifyExport      = "VerifyExportFunction"
	CleanupExport     = "CleanupExportFunction"
	GrantBucketAccess = "GrantBucketAccessFunction"
	Audit             = "AuditFunction"
	// MemcachedExport arrives with its own issue; its row is here already so that the contract
	// is written in one place.
	MemcachedExport = "MemcachedExportFunction"
)

// table is CONTRACTS.md's "Who does what", one IAM action per entry.
var table = map[string][]string{
	StartExport: {
		"elasticache:DescribeReplicationGroups",
		"elasticache:DescribeCacheClusters",
		"elasticache:DescribeServerlessCaches",
		"elasticache:DescribeSnapshots",
		"elasticache:DescribeServerlessCacheSnapshots",
		"elasticache:ListTagsForResource",
		"elasticache:CreateSnapshot",
		"elasticache:CreateServerlessCacheSnapshot",
		"elasticache:AddTagsToResource",
		"elasticache:CopySnapshot",
		"elasticache:ExportServerlessCacheSnapshot",
		"s3:GetBucketLocation",
		"s3:ListAllMyBuckets",
		"s3:ListBucket",
		"s3:GetObject",
		"s3:PutObject",
		"events:PutEvents",
	},
	VerifyExport: {
		"s3:ListBucket",
		"s3:GetObject",
		"s3:PutObject",
		"elasticache:DescribeSnapshots",
		"elasticache:DescribeServerlessCacheSnapshots",
		"events:PutEvents",
	},
	CleanupExport: {
		"s3:ListBucket",
		"s3:ListBucketVersions",
		"s3:GetObject",
		"s3:PutObject",
		// CONTRACTS.md also lists s3:DeleteObject; cleanup always deletes by version id (a
		// plain delete in a versioned bucket only hides the data behind a delete marker), which
		// IAM authorises with s3:DeleteObjectVersion alone.
		"s3:DeleteObjectVersion",
		"elasticache:DescribeSnapshots",
		"elasticache:DescribeServerlessCacheSnapshots",
		"elasticache:ListTagsForResource",
		"elasticache:DeleteSnapshot",
		"elasticache:DeleteServerlessCacheSnapshot",
		"events:PutEvents",
	},
	GrantBucketAccess: {
		"s3:GetBucketAcl",
		"s3:PutBucketAcl",
	},
	MemcachedExport: {
		"elasticache:DescribeCacheClusters",
		"s3:ListBucket",
		"s3:GetObject",
		"s3:PutObject",
		"s3:AbortMultipartUpload",
		"events:PutEvents",
	},
	Audit: {
		"elasticache:DescribeReplicationGroups",
		"elasticache:DescribeCacheClusters",
		"elasticache:DescribeServerlessCaches",
		"elasticache:DescribeSnapshots",
		"elasticache:DescribeServerlessCacheSnapshots",
		"elasticache:ListTagsForResource",
		"s3:ListBucket",
		"s3:GetObject",
		"events:PutEvents",
	},
}

// CheckedByAWS lists, per function, actions it holds that none of its own API calls exercises,
// with the reason: AWS checks them on the function's behalf. A test that derives actions from
// observed calls subtracts these before comparing with Actions.
var CheckedByAWS = map[string]map[string]string{
	StartExport: {
		"s3:ListAllMyBuckets":  "ElastiCache checks that the caller of CopySnapshot/ExportServerlessCacheSnapshot can list its buckets (AWS-FACTS.md, IAM)",
		"s3:GetBucketLocation": "ElastiCache checks that the caller of an export can read the bucket's region (AWS-FACTS.md, IAM)",
	},
}

// Functions returns the logical ids of every function in the table, sorted.
func Functions() []string {
	fs := make([]string, 0, len(table))
	for f := range table {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return fs
}

// Actions returns the IAM actions function may hold, sorted; nil for a function not in the
// table. The slice is the caller's to keep.
func Actions(function string) []string {
	as := slices.Clone(table[function])
	slices.Sort(as)
	return as
}

// Allowed reports whether function may hold action; action names compare case-insensitively,
// as IAM compares them.
func Allowed(function, action string) bool {
	return slices.ContainsFunc(table[function], func(a string) bool { return strings.EqualFold(a, action) })
}

// Call is one API call as a client makes it: the service (the SDK's service id or the IAM
// prefix, any case: "S3", "ElastiCache", "EventBridge", "events"), the operation name
// ("HeadObject") and whether it names an object version (a VersionId parameter).
type Call struct {
	Service   string
	Operation string
	VersionID bool
}

// prefixes maps service ids, lower-cased, to IAM service prefixes where they differ.
var prefixes = map[string]string{
	"eventbridge":      "events",
	"cloudwatchevents": "events",
	"cloudwatchlogs":   "logs",
}

// s3Actions maps S3 operations to the IAM action that authorises them where the names differ
// (Service Authorization Reference, Amazon S3; S3 User Guide, "Policy actions for S3").
var s3Actions = map[string]string{
	"HeadObject":              "GetObject",
	"GetObjectAttributes":     "GetObject",
	"ListObjects":             "ListBucket",
	"ListObjectsV2":           "ListBucket",
	"HeadBucket":              "ListBucket",
	"ListObjectVersions":      "ListBucketVersions",
	"ListBuckets":             "ListAllMyBuckets",
	"ListMultipartUploads":    "ListBucketMultipartUploads",
	"ListParts":               "ListMultipartUploadParts",
	"CreateMultipartUpload":   "PutObject",
	"UploadPart":              "PutObject",
	"CompleteMultipartUpload": "PutObject",
	"DeleteObjects":           "DeleteObject",
}

// s3Versioned maps the S3 operations that take a VersionId to the action they need with one.
var s3Versioned = map[string]string{
	"GetObject":           "GetObjectVersion",
	"HeadObject":          "GetObjectVersion",
	"GetObjectAttributes": "GetObjectVersionAttributes",
	"DeleteObject":        "DeleteObjectVersion",
	"DeleteObjects":       "DeleteObjectVersion",
	"GetObjectTagging":    "GetObjectVersionTagging",
	"PutObjectTagging":    "PutObjectVersionTagging",
	"GetObjectAcl":        "GetObjectVersionAcl",
	"PutObjectAcl":        "PutObjectVersionAcl",
}

// Action returns the IAM action that authorises the call, e.g. S3 HeadObject → s3:GetObject,
// ListObjectsV2 → s3:ListBucket, DeleteObject with a VersionId → s3:DeleteObjectVersion. For the
// other services (ElastiCache, EventBridge) the action is the operation's name under the
// service's IAM prefix.
func (c Call) Action() string {
	svc := strings.ToLower(strings.ReplaceAll(c.Service, " ", ""))
	if p, ok := prefixes[svc]; ok {
		svc = p
	}
	op := c.Operation
	if svc == "s3" {
		if v, ok := s3Versioned[op]; ok && c.VersionID {
			op = v
		} else if a, ok := s3Actions[op]; ok {
			op = a
		}
	}
	return svc + ":" + op
}
