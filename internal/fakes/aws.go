// Package fakes holds small hand-written fakes of the AWS clients for unit tests: an S3 bucket
// that honours conditional writes, an event bus, and an ElastiCache control plane. Integration
// tests use the twin and real servers instead.
package fakes

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is an in-memory bucket that honours If-None-Match: * and If-Match the way S3 does
// (412 PreconditionFailed), serialising writes like S3 serialises them per key.
type S3 struct {
	mu      sync.Mutex
	Objects map[string]Object
	// beforePut, when set, runs inside PutObject before the condition is checked, outside the
	// lock: tests use it to line two writers up on the same key.
	BeforePut func()
	Puts      int
}

// Object is one stored object.
type Object struct {
	Body []byte
	ETag string
	Mod  time.Time
}

// NewS3 returns an empty bucket.
func NewS3() *S3 { return &S3{Objects: map[string]Object{}} }

// PutObject stores an object, checking If-None-Match and If-Match first.
func (f *S3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if f.BeforePut != nil {
		f.BeforePut()
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := aws.ToString(in.Key)
	cur, exists := f.Objects[key]
	if aws.ToString(in.IfNoneMatch) == "*" && exists {
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	}
	if in.IfMatch != nil && (!exists || cur.ETag != aws.ToString(in.IfMatch)) {
		if !exists {
			return nil, &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist."}
		}
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	}
	sum := md5.Sum(body)
	o := Object{Body: body, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Mod: time.Now()}
	f.Objects[key] = o
	f.Puts++
	return &s3.PutObjectOutput{ETag: aws.String(o.ETag)}, nil
}

// GetObject returns an object or NoSuchKey.
func (f *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.Objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.Body)), ETag: aws.String(o.ETag), ContentLength: aws.Int64(int64(len(o.Body)))}, nil
}

// ListObjectsV2 lists keys under Prefix, two a page, so that callers must follow the pages.
func (f *S3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.Objects {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && k > aws.ToString(in.ContinuationToken) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	// Two keys a page, so that every caller is made to follow the pages.
	out := &s3.ListObjectsV2Output{}
	for i, k := range keys {
		if i == 2 {
			out.IsTruncated = aws.Bool(true)
			out.NextContinuationToken = aws.String(keys[1])
			break
		}
		o := f.Objects[k]
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), ETag: aws.String(o.ETag), Size: aws.Int64(int64(len(o.Body))), LastModified: aws.Time(o.Mod)})
	}
	return out, nil
}

// Bus records what was published and can be told to fail.
type Bus struct {
	mu     sync.Mutex
	Events []eventbridge.PutEventsInput
	Fail   error
}

// PutEvents records the events, or returns Fail.
func (b *Bus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Fail != nil {
		return nil, b.Fail
	}
	b.Events = append(b.Events, *in)
	return &eventbridge.PutEventsOutput{}, nil
}

// Types lists the detail-types published, in order.
func (b *Bus) Types() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.Events {
		for _, en := range e.Entries {
			out = append(out, aws.ToString(en.DetailType))
		}
	}
	return out
}
