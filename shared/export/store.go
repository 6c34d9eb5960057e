package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/awserr"
)

// maxRecordSize bounds how much of a record object is read: a record is small, and a huge one is
// damage or hostility, not state.
const maxRecordSize = 4 << 20

var (
	// ErrExists is returned by Store.Create when the record already exists (the conditional
	// create lost: another invocation, or an earlier run in the same window, made it).
	ErrExists = errors.New("export record already exists")
	// ErrConflict is returned by Store.Update when the record changed since it was read: another
	// invocation won the transition. The caller reloads and decides again; nothing is overwritten.
	ErrConflict = errors.New("export record changed since it was read")
	// ErrNotFound is returned by Store.Load when there is no record at the key.
	ErrNotFound = errors.New("export record not found")
	// ErrNotOurs is wrapped by every function's error about an event that names a bucket,
	// prefix, record or object outside this deployment: acting on it again cannot help, and
	// nothing was changed.
	ErrNotOurs = errors.New("not an export of this deployment")
)

// ObjectAPI is the part of the S3 client the record store calls.
type ObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ ObjectAPI = (*s3.Client)(nil)

// Store keeps export records in S3, written only with conditional writes: If-None-Match: * to
// create and If-Match: ETAG to update, so that two invocations can never both win a transition.
// A Store is safe for concurrent use.
type Store struct {
	api    ObjectAPI
	bucket string
}

// NewStore returns a record store for the records in bucket.
func NewStore(api ObjectAPI, bucket string) *Store { return &Store{api: api, bucket: bucket} }

// Bucket is the bucket the store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Create writes a new record at key, failing with ErrExists when one is there already.
// It returns the new object's ETag.
func (s *Store) Create(ctx context.Context, key string, rec *Record) (string, error) {
	return s.put(ctx, key, rec, func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
}

// Update replaces the record at key if its ETag is still etag, failing with ErrConflict when it
// is not. It returns the new ETag.
func (s *Store) Update(ctx context.Context, key, etag string, rec *Record) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("update %s: no etag to condition the write on", key)
	}
	return s.put(ctx, key, rec, func(in *s3.PutObjectInput) { in.IfMatch = aws.String(etag) })
}

func (s *Store) put(ctx context.Context, key string, rec *Record, cond func(*s3.PutObjectInput)) (string, error) {
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode record %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	}
	cond(in)
	out, err := s.api.PutObject(ctx, in)
	if err != nil {
		if lostCondition(err) {
			if in.IfNoneMatch != nil {
				return "", fmt.Errorf("create record s3://%s/%s: %w", s.bucket, key, ErrExists)
			}
			return "", fmt.Errorf("update record s3://%s/%s: %w", s.bucket, key, ErrConflict)
		}
		return "", fmt.Errorf("write record s3://%s/%s: %w", s.bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// Load reads the record at key and returns it with its ETag.
func (s *Store) Load(ctx context.Context, key string) (*Record, string, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("load record s3://%s/%s: %w", s.bucket, key, ErrNotFound)
		}
		return nil, "", fmt.Errorf("load record s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxRecordSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("read record s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(data) > maxRecordSize {
		return nil, "", fmt.Errorf("record s3://%s/%s is larger than %d bytes", s.bucket, key, maxRecordSize)
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, "", fmt.Errorf("decode record s3://%s/%s: %w", s.bucket, key, err)
	}
	if rec.Format != Format {
		return nil, "", fmt.Errorf("record s3://%s/%s has format %q, want %q", s.bucket, key, rec.Format, Format)
	}
	if !rec.Stage.Valid() {
		return nil, "", fmt.Errorf("record s3://%s/%s has unknown stage %q", s.bucket, key, rec.Stage)
	}
	return &rec, aws.ToString(out.ETag), nil
}

// RecordRef names one record found by List.
type RecordRef struct {
	Key          string
	LastModified time.Time
}

// List returns the record keys under prefix (e.g. "P/" or "P/CACHE/"), with their last change,
// following every page.
func (s *Store) List(ctx context.Context, prefix string) ([]RecordRef, error) {
	var refs []RecordRef
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list records under s3://%s/%s: %w", s.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, "/"+RecordName) {
				refs = append(refs, RecordRef{Key: k, LastModified: aws.ToTime(o.LastModified)})
			}
		}
	}
	return refs, nil
}

// lostCondition reports whether a PutObject failed because its condition did not hold:
// 412 Precondition Failed, or 409 ConditionalRequestConflict (a concurrent conditional write).
func lostCondition(err error) bool { return awserr.Classify(err) == awserr.Conflict }

func isNotFound(err error) bool { return awserr.Classify(err) == awserr.NotFound }
