// Package fakes holds small hand-written fakes of the AWS clients for unit tests: an S3 bucket
// that honours conditional writes, an event bus, and an ElastiCache control plane. Integration
// tests use the twin and real servers instead.
package fakes

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
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
// (412 PreconditionFailed), serialising writes like S3 serialises them per key. With Versioned
// set it keeps every version and delete marker as a versioned bucket does: DeleteObject without
// a VersionId adds a delete marker, with one it removes that version for good.
type S3 struct {
	mu sync.Mutex
	// Objects holds the current version of every key that has one (not deleted).
	Objects map[string]Object
	// Versioned turns versioning on; set it before the first write.
	Versioned bool
	// versions holds, per key, every version and delete marker, oldest first (Versioned only).
	versions map[string][]Version
	seq      int
	// beforePut, when set, runs inside PutObject before the condition is checked, outside the
	// lock: tests use it to line two writers up on the same key.
	BeforePut func()
	Puts      int
	// Deletes counts DeleteObject calls; DeleteFail, when set, is returned by DeleteObject for
	// the keys it reports true for.
	Deletes    int
	DeleteFail func(key string) error
}

// Object is one stored object (or object version). VersionID is "" in an unversioned bucket
// (S3 reports it as "null").
type Object struct {
	Body      []byte
	ETag      string
	Mod       time.Time
	VersionID string
}

// Version is one entry of a key's history in a versioned bucket.
type Version struct {
	Object
	DeleteMarker bool
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
	if f.Versioned {
		o.VersionID = f.nextVersion()
		f.versions[key] = append(f.versions[key], Version{Object: o})
	}
	f.Objects[key] = o
	f.Puts++
	out := &s3.PutObjectOutput{ETag: aws.String(o.ETag)}
	if o.VersionID != "" {
		out.VersionId = aws.String(o.VersionID)
	}
	return out, nil
}

// nextVersion returns a new version id; f.mu must be held.
func (f *S3) nextVersion() string {
	if f.versions == nil {
		f.versions = map[string][]Version{}
	}
	f.seq++
	return fmt.Sprintf("v%06d", f.seq)
}

// DeleteObject deletes a key as S3 does. Without a VersionId: an unversioned bucket drops the
// object; a versioned one adds a delete marker (the data stays as a noncurrent version). With a
// VersionId ("null" names an unversioned object): that version or delete marker is removed for
// good, and the newest remaining entry becomes current. Deleting what does not exist succeeds.
func (f *S3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := aws.ToString(in.Key)
	f.Deletes++
	if f.DeleteFail != nil {
		if err := f.DeleteFail(key); err != nil {
			return nil, err
		}
	}
	out := &s3.DeleteObjectOutput{}
	if in.VersionId == nil {
		if !f.Versioned {
			delete(f.Objects, key)
			return out, nil
		}
		id := f.nextVersion()
		f.versions[key] = append(f.versions[key], Version{Object: Object{VersionID: id, Mod: time.Now()}, DeleteMarker: true})
		delete(f.Objects, key)
		out.DeleteMarker, out.VersionId = aws.Bool(true), aws.String(id)
		return out, nil
	}
	id := aws.ToString(in.VersionId)
	if !f.Versioned {
		if id == "null" {
			delete(f.Objects, key)
		}
		return out, nil
	}
	vs := f.versions[key]
	for i, v := range vs {
		if v.VersionID == id {
			vs = append(vs[:i:i], vs[i+1:]...)
			out.VersionId, out.DeleteMarker = aws.String(id), aws.Bool(v.DeleteMarker)
			break
		}
	}
	if len(vs) == 0 {
		delete(f.versions, key)
		delete(f.Objects, key)
	} else {
		f.versions[key] = vs
		if last := vs[len(vs)-1]; last.DeleteMarker {
			delete(f.Objects, key)
		} else {
			f.Objects[key] = last.Object
		}
	}
	return out, nil
}

// ListObjectVersions lists every version and delete marker under Prefix, in key order (newest
// first within a key), two entries a page so that callers must follow KeyMarker and
// VersionIdMarker. An unversioned bucket lists its objects with version id "null".
func (f *S3) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	type entry struct {
		key    string
		v      Version
		latest bool
	}
	var all []entry
	prefix := aws.ToString(in.Prefix)
	if f.Versioned {
		keys := make([]string, 0, len(f.versions))
		for k := range f.versions {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			vs := f.versions[k]
			for i := len(vs) - 1; i >= 0; i-- {
				all = append(all, entry{k, vs[i], i == len(vs)-1})
			}
		}
	} else {
		keys := make([]string, 0, len(f.Objects))
		for k := range f.Objects {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			o := f.Objects[k]
			o.VersionID = "null"
			all = append(all, entry{k, Version{Object: o}, true})
		}
	}
	start := 0
	if km := aws.ToString(in.KeyMarker); km != "" {
		start = len(all)
		for i, e := range all {
			if e.key == km && e.v.VersionID == aws.ToString(in.VersionIdMarker) {
				start = i + 1
				break
			}
			if e.key > km && in.VersionIdMarker == nil {
				start = i
				break
			}
		}
	}
	out := &s3.ListObjectVersionsOutput{Prefix: in.Prefix}
	for i := start; i < len(all); i++ {
		if i == start+2 {
			prev := all[i-1]
			out.IsTruncated = aws.Bool(true)
			out.NextKeyMarker, out.NextVersionIdMarker = aws.String(prev.key), aws.String(prev.v.VersionID)
			break
		}
		e := all[i]
		if e.v.DeleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, s3types.DeleteMarkerEntry{Key: aws.String(e.key), VersionId: aws.String(e.v.VersionID), IsLatest: aws.Bool(e.latest), LastModified: aws.Time(e.v.Mod)})
			continue
		}
		out.Versions = append(out.Versions, s3types.ObjectVersion{Key: aws.String(e.key), VersionId: aws.String(e.v.VersionID), IsLatest: aws.Bool(e.latest),
			ETag: aws.String(e.v.ETag), Size: aws.Int64(int64(len(e.v.Body))), LastModified: aws.Time(e.v.Mod)})
	}
	return out, nil
}

// VersionCount counts the versions and delete markers under prefix (in an unversioned bucket,
// the objects).
func (f *S3) VersionCount(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if !f.Versioned {
		for k := range f.Objects {
			if strings.HasPrefix(k, prefix) {
				n++
			}
		}
		return n
	}
	for k, vs := range f.versions {
		if strings.HasPrefix(k, prefix) {
			n += len(vs)
		}
	}
	return n
}

// Keys lists the current keys under prefix, sorted.
func (f *S3) Keys(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.Objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
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
