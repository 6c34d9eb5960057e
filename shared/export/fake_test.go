package export

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

// fakeS3 is an in-memory bucket that honours If-None-Match: * and If-Match the way S3 does
// (412 PreconditionFailed), serialising writes like S3 serialises them per key.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]fakeObject
	// beforePut, when set, runs inside PutObject before the condition is checked, outside the
	// lock: tests use it to line two writers up on the same key.
	beforePut func()
	puts      int
}

type fakeObject struct {
	body []byte
	etag string
	mod  time.Time
}

func newFakeS3() *fakeS3 { return &fakeS3{objects: map[string]fakeObject{}} }

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if f.beforePut != nil {
		f.beforePut()
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := aws.ToString(in.Key)
	cur, exists := f.objects[key]
	if aws.ToString(in.IfNoneMatch) == "*" && exists {
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	}
	if in.IfMatch != nil && (!exists || cur.etag != aws.ToString(in.IfMatch)) {
		if !exists {
			return nil, &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist."}
		}
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	}
	sum := md5.Sum(body)
	o := fakeObject{body: body, etag: `"` + hex.EncodeToString(sum[:]) + `"`, mod: time.Now()}
	f.objects[key] = o
	f.puts++
	return &s3.PutObjectOutput{ETag: aws.String(o.etag)}, nil
}

func (f *fakeS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body)), ETag: aws.String(o.etag), ContentLength: aws.Int64(int64(len(o.body)))}, nil
}

func (f *fakeS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.objects {
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
		o := f.objects[k]
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), ETag: aws.String(o.etag), Size: aws.Int64(int64(len(o.body))), LastModified: aws.Time(o.mod)})
	}
	return out, nil
}

// fakeBus records what was published and can be told to fail.
type fakeBus struct {
	mu     sync.Mutex
	events []eventbridge.PutEventsInput
	fail   error
}

func (b *fakeBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return nil, b.fail
	}
	b.events = append(b.events, *in)
	return &eventbridge.PutEventsOutput{}, nil
}

func (b *fakeBus) types() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		for _, en := range e.Entries {
			out = append(out, aws.ToString(en.DetailType))
		}
	}
	return out
}
