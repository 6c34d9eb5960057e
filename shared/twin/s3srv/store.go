// Package s3srv is the local AWS twin's S3: an in-memory Store of buckets, object versions,
// multipart uploads and bucket settings, served over HTTP in S3's REST-XML protocol with
// path-style addressing (/BUCKET/KEY) so that the real aws-sdk-go-v2 client, the AWS CLI and
// boto3 work against it unchanged (docs/twin.md).
//
// The Store is also the twin's core.Bucket: ElastiCache's side writes export objects through
// it as its own service identity. Every request is recorded in the call log, faults (deny,
// throttle) are consulted per request, and aws.s3 Object Created / Object Deleted events go to
// the event sink for buckets whose notification configuration enables EventBridge.
//
// Served operations: ListBuckets, CreateBucket (LocationConstraint, x-amz-object-ownership,
// canned and x-amz-grant-* ACLs), HeadBucket, DeleteBucket, GetBucketLocation,
// Get/PutBucketVersioning, Get/PutBucketAcl, Get/Put/DeleteBucketOwnershipControls,
// Get/Put/DeletePublicAccessBlock, Get/Put/DeleteBucketEncryption, Get/Put/DeleteBucketPolicy,
// Get/PutBucketNotificationConfiguration, ListObjects, ListObjectsV2, ListObjectVersions,
// ListMultipartUploads, PutObject, CopyObject, GetObject, HeadObject, GetObjectAcl,
// DeleteObject, DeleteObjects, CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts. Anything else is refused with 501 NotImplemented and logged
// as "Unsupported METHOD ?SUBRESOURCES".
//
// New buckets get AWS's defaults since 2023: Object Ownership BucketOwnerEnforced (so
// PutBucketAcl granting anyone but the owner fails with AccessControlListNotSupported until
// ownership is BucketOwnerPreferred or ObjectWriter), all public access blocked, SSE-S3
// default encryption, versioning never enabled, no EventBridge notifications. Objects written
// without a checksum get S3's default CRC64NVME, returned (like any full-object checksum) to
// GetObject with x-amz-checksum-mode: ENABLED, so the SDKs' response validation runs.
package s3srv

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cacheport/cacheport/shared/grant"
	"github.com/cacheport/cacheport/shared/twin/core"
)

const (
	// DefaultAccountID is the account that owns every bucket unless Options.AccountID says
	// otherwise (the account of the sample events in events/).
	DefaultAccountID = "111122223333"
	// DefaultOwnerID is the canonical user id of that account, the owner in every ACL.
	DefaultOwnerID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	// DefaultRegion is a bucket's region when CreateBucket names no LocationConstraint.
	DefaultRegion = "us-east-1"
	// ElastiCacheCaller is the caller recorded for writes made through the core.Bucket
	// interface, and the requester of their events.
	ElastiCacheCaller = "elasticache.amazonaws.com"
	// elastiCachePartSize is the part size of ElastiCache's writes: an object at least this
	// large is stored as a multipart upload would store it (ETag "-N", reason
	// CompleteMultipartUpload), as the exports in AWS are.
	elastiCachePartSize = 8 << 20
)

// Ownership settings (S3 Object Ownership).
const (
	OwnershipEnforced  = "BucketOwnerEnforced"  // ACLs disabled; AWS's default since April 2023
	OwnershipPreferred = "BucketOwnerPreferred" // ACLs enabled, the bucket owner owns new objects
	OwnershipWriter    = "ObjectWriter"         // ACLs enabled, the writer owns new objects
)

// Errors of the Store's direct (non-HTTP) methods.
var (
	// ErrNoSuchBucket is returned for a bucket that does not exist.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrNoSuchKey is returned for a key without a current object (none, or a delete marker).
	ErrNoSuchKey = errors.New("no such key")
	// ErrBucketExists is returned by CreateBucket for a bucket that already exists.
	ErrBucketExists = errors.New("bucket already exists")
)

// Options configure a Store. Every field is optional; the zero value serves S3 without a call
// log, faults or events, on the wall clock.
type Options struct {
	Clock     core.Clock     // time of objects, uploads and events; nil: the wall clock (UTC)
	Log       *core.CallLog  // every request served, and every direct write; nil: none
	Faults    *core.Faults   // deny=s3:ACTION, and throttle or throttle=s3 (every 5th call); nil: none
	Events    core.EventSink // aws.s3 events of EventBridge-enabled buckets; nil: none
	AccountID string         // the account owning every bucket; "": DefaultAccountID
	OwnerID   string         // that account's canonical user id; "": DefaultOwnerID
	// StrictRegion refuses a request signed for another region than its bucket's with 301
	// PermanentRedirect and the bucket's region in x-amz-bucket-region, as S3's regional
	// endpoints do (the Go SDK returns it as an error).
	// CreateBucket, GetBucketLocation and ListBuckets answer from any region. Off: any
	// region is served.
	StrictRegion bool
}

// Store is an in-memory S3: buckets with their settings, object versions and multipart
// uploads. It serves S3's REST-XML API as an http.Handler (ServeHTTP) and implements
// core.Bucket. Build it with New; it is safe for concurrent use, and every mutation of a
// bucket is serialised, so conditional writes (If-None-Match, If-Match) race as in S3: exactly
// one of several concurrent creates wins.
type Store struct {
	opts Options

	mu      sync.Mutex
	buckets map[string]*bucket
	seq     uint64 // sequencer of the last object event

	throttled atomic.Uint64 // calls made while throttle was active
}

var _ core.Bucket = (*Store)(nil)

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.OwnerID == "" {
		opts.OwnerID = DefaultOwnerID
	}
	// Sequencers only grow, also across Stores of one process.
	return &Store{opts: opts, buckets: map[string]*bucket{}, seq: uint64(time.Now().UnixMicro()) << 4}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

func (s *Store) now() time.Time {
	if s.opts.Clock == nil {
		return wallClock{}.Now()
	}
	return s.opts.Clock.Now().UTC()
}

// bucket is one bucket; guarded by Store.mu.
type bucket struct {
	name, region string
	created      time.Time
	versioning   string                // "" (never enabled), "Enabled" or "Suspended"
	objects      map[string][]*version // key → versions, oldest first
	uploads      map[string]*upload
	acl          []aclGrant
	ownership    string
	eventBridge  bool
	// settings holds the inner XML of the settings S3 only stores and returns, by root element:
	// PublicAccessBlockConfiguration, ServerSideEncryptionConfiguration,
	// NotificationConfiguration; and the policy document under "Policy".
	settings map[string]string
}

// version is one version of an object, or a delete marker.
type version struct {
	id           string // "null" when written while versioning was off or suspended
	deleteMarker bool
	data         []byte
	etag         string // without quotes
	modified     time.Time
	contentType  string
	meta         map[string]string // x-amz-meta-* without the prefix
	checksumAlg  string            // CRC32, CRC32C, CRC64NVME, SHA1, SHA256; "" for none
	checksum     string            // base64
	parts        []int64           // part sizes of a multipart object; nil otherwise
}

// aclGrant is one grant of a bucket ACL.
type aclGrant struct {
	Type       string // CanonicalUser, Group, AmazonCustomerByEmail
	ID         string
	URI        string
	Email      string
	Permission string
}

// upload is a multipart upload in progress.
type upload struct {
	id, key     string
	initiated   time.Time
	initiator   string
	contentType string
	meta        map[string]string
	parts       map[int]*part
}

type part struct {
	data     []byte
	etag     string
	modified time.Time
}

func (b *bucket) latest(key string) *version {
	vs := b.objects[key]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// current is the key's latest version unless that is a delete marker.
func (b *bucket) current(key string) *version {
	if v := b.latest(key); v != nil && !v.deleteMarker {
		return v
	}
	return nil
}

func (b *bucket) find(key, id string) (*version, int) {
	for i, v := range b.objects[key] {
		if v.id == id {
			return v, i
		}
	}
	return nil, -1
}

// add appends v as the key's newest version; when it is a "null" version it replaces the
// key's previous "null" version, as S3 does with versioning off or suspended.
func (b *bucket) add(key string, v *version) {
	vs := b.objects[key]
	if v.id == "null" {
		out := vs[:0]
		for _, old := range vs {
			if old.id != "null" {
				out = append(out, old)
			}
		}
		vs = out
	}
	b.objects[key] = append(vs, v)
}

func (b *bucket) remove(key string, i int) {
	vs := append(b.objects[key][:i:i], b.objects[key][i+1:]...)
	if len(vs) == 0 {
		delete(b.objects, key)
		return
	}
	b.objects[key] = vs
}

// newVersionID is the id a write gets under the bucket's versioning state.
func (b *bucket) newVersionID() string {
	if b.versioning == "Enabled" {
		return randomID(32)
	}
	return "null"
}

func (b *bucket) sortedKeys() []string {
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"

// randomID returns n random characters of the alphabet of S3's version ids.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return string(b)
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// multipartETag is S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, "-N".
func multipartETag(partETags []string) string {
	h := md5.New()
	for _, e := range partETags {
		raw, _ := hex.DecodeString(e)
		h.Write(raw)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(partETags))
}

func (s *Store) defaultACL() []aclGrant {
	return []aclGrant{{Type: "CanonicalUser", ID: s.opts.OwnerID, Permission: "FULL_CONTROL"}}
}

// createBucket adds a bucket; the caller holds s.mu.
func (s *Store) createBucket(name, region, ownership string) *bucket {
	if region == "" {
		region = DefaultRegion
	}
	if ownership == "" {
		ownership = OwnershipEnforced
	}
	b := &bucket{
		name: name, region: region, created: s.now(), ownership: ownership,
		objects: map[string][]*version{}, uploads: map[string]*upload{},
		acl: s.defaultACL(), settings: map[string]string{},
	}
	s.buckets[name] = b
	return b
}

// CreateBucket creates a bucket in region ("": DefaultRegion) directly, as CreateBucket with
// that LocationConstraint would, with AWS's defaults for new buckets (Object Ownership
// BucketOwnerEnforced, public access blocked, SSE-S3). The error wraps ErrBucketExists.
func (s *Store) CreateBucket(name, region string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] != nil {
		return fmt.Errorf("create bucket %s: %w", name, ErrBucketExists)
	}
	s.createBucket(name, region, "")
	return nil
}

func (s *Store) bucketLocked(name string) (*bucket, error) {
	b := s.buckets[name]
	if b == nil {
		return nil, fmt.Errorf("bucket %s: %w", name, ErrNoSuchBucket)
	}
	return b, nil
}

// ObjectVersion describes one version of an object, or a delete marker, as ListObjectVersions
// reports it.
type ObjectVersion struct {
	Key          string
	VersionID    string // "null" for a version written while versioning was off or suspended
	IsLatest     bool
	DeleteMarker bool
	Size         int64
	ETag         string // without quotes; "" for a delete marker
	LastModified time.Time
}

// Versions lists every version and delete marker under prefix in bucket, keys in order and
// each key's versions newest first. The error wraps ErrNoSuchBucket.
func (s *Store) Versions(bucket, prefix string) ([]ObjectVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	var out []ObjectVersion
	for _, k := range b.sortedKeys() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		vs := b.objects[k]
		for i := len(vs) - 1; i >= 0; i-- {
			v := vs[i]
			out = append(out, ObjectVersion{Key: k, VersionID: v.id, IsLatest: i == len(vs)-1,
				DeleteMarker: v.deleteMarker, Size: int64(len(v.data)), ETag: v.etag, LastModified: v.modified})
		}
	}
	return out, nil
}

// Object returns a copy of the current bytes of key. The error wraps ErrNoSuchBucket or
// ErrNoSuchKey.
func (s *Store) Object(bucket, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	v := b.current(key)
	if v == nil {
		return nil, fmt.Errorf("object %s/%s: %w", bucket, key, ErrNoSuchKey)
	}
	return bytes.Clone(v.data), nil
}

// FlipByte inverts every bit of the byte at offset in the current version of key, in place:
// the object's ETag and checksum keep describing the original bytes, as after damage at rest.
// An offset past the end flips the last byte. The error wraps ErrNoSuchBucket or ErrNoSuchKey,
// or reports an empty object.
func (s *Store) FlipByte(bucket, key string, offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return err
	}
	v := b.current(key)
	if v == nil {
		return fmt.Errorf("object %s/%s: %w", bucket, key, ErrNoSuchKey)
	}
	if len(v.data) == 0 {
		return fmt.Errorf("object %s/%s is empty: no byte to flip", bucket, key)
	}
	if offset < 0 || offset >= int64(len(v.data)) {
		offset = int64(len(v.data)) - 1
	}
	// Versions share nothing, but a copy keeps earlier readers' slices intact.
	data := bytes.Clone(v.data)
	data[offset] ^= 0xff
	v.data = data
	return nil
}

// BucketRegion reports bucket's region; ok is false when it does not exist (core.Bucket).
func (s *Store) BucketRegion(_ context.Context, bucket string) (region string, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucket]
	if b == nil {
		return "", false, nil
	}
	return b.region, true, nil
}

// ElastiCacheGranted reports whether the bucket's ACL grants ElastiCache's canonical user for
// the bucket's region READ, WRITE and READ_ACP (core.Bucket), by shared/grant's rules. The
// error wraps ErrNoSuchBucket, or grant.ErrUnknownRegion for a region without a documented
// canonical user.
func (s *Store) ElastiCacheGranted(_ context.Context, bucket string) (bool, error) {
	s.mu.Lock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		s.mu.Unlock()
		return false, err
	}
	region, acl := b.region, append([]aclGrant(nil), b.acl...)
	s.mu.Unlock()
	id, err := grant.CanonicalUserID(region)
	if err != nil {
		return false, fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return len(grant.Missing(sdkGrants(acl), id)) == 0, nil
}

func sdkGrants(acl []aclGrant) []types.Grant {
	out := make([]types.Grant, len(acl))
	for i, g := range acl {
		ge := &types.Grantee{Type: types.Type(g.Type)}
		if g.ID != "" {
			ge.ID = &acl[i].ID
		}
		if g.URI != "" {
			ge.URI = &acl[i].URI
		}
		if g.Email != "" {
			ge.EmailAddress = &acl[i].Email
		}
		out[i] = types.Grant{Grantee: ge, Permission: types.Permission(g.Permission)}
	}
	return out
}

// ObjectExists reports whether key has a current object in bucket (core.Bucket). The error
// wraps ErrNoSuchBucket.
func (s *Store) ObjectExists(_ context.Context, bucket, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return false, err
	}
	return b.current(key) != nil, nil
}

// PutObject writes key as ElastiCache does (core.Bucket): the call is recorded as PutObject with
// caller ElastiCacheCaller, an object of 8 MiB or more is stored as a multipart upload of 8 MiB parts
// would be, and Object Created is raised with requester elasticache.amazonaws.com when the
// bucket sends events to EventBridge. It does not check ElastiCache's grant (the caller does,
// with ElastiCacheGranted). The error wraps ErrNoSuchBucket, a read error, or reports a body
// whose length is not size (size < 0: any length).
func (s *Store) PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("put %s/%s: read body: %w", bucket, key, err)
	}
	if size >= 0 && int64(len(data)) != size {
		return fmt.Errorf("put %s/%s: body has %d bytes, want %d", bucket, key, len(data), size)
	}
	reason, etag := "PutObject", md5Hex(data)
	var parts []int64
	if len(data) >= elastiCachePartSize {
		var etags []string
		for off := 0; off < len(data); off += elastiCachePartSize {
			p := data[off:min(off+elastiCachePartSize, len(data))]
			etags, parts = append(etags, md5Hex(p)), append(parts, int64(len(p)))
		}
		reason, etag = "CompleteMultipartUpload", multipartETag(etags)
	}
	s.opts.Log.Record(core.Call{Caller: ElastiCacheCaller, Service: "s3", Operation: "PutObject", Resource: bucket + "/" + key})
	s.mu.Lock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	v := &version{id: b.newVersionID(), data: data, etag: etag, modified: s.now(),
		contentType: "application/octet-stream", parts: parts}
	if parts == nil {
		v.checksumAlg, v.checksum = "CRC64NVME", checksumOf("CRC64NVME", data)
	}
	b.add(key, v)
	ev := s.createdEvent(b, key, v, reason, randomRequestID(), ElastiCacheCaller, "127.0.0.1")
	s.mu.Unlock()
	s.raise(ctx, ev)
	return nil
}
