//lint:file-ignore SA1019 feature/s3/manager is the transfer manager in go.mod (transfermanager is not), and the one cacheport uses

package s3srv

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/grant"
	"github.com/cacheport/cacheport/shared/twin/core"
)

// fakeSink records the events the store raises.
type fakeSink struct {
	mu  sync.Mutex
	evs []core.Event
}

func (f *fakeSink) Put(_ context.Context, ev core.Event) error {
	f.mu.Lock()
	f.evs = append(f.evs, ev)
	f.mu.Unlock()
	return nil
}

func (f *fakeSink) events() []core.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.evs)
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testTime = time.Date(2026, 11, 24, 3, 7, 12, 0, time.UTC)

// env is a Store served over HTTP (or HTTPS) with an SDK client pointed at it.
type env struct {
	store  *Store
	srv    *httptest.Server
	client *s3.Client
	log    *core.CallLog
	faults *core.Faults
	sink   *fakeSink

	mu       sync.Mutex
	payloads []string // "METHOD x-amz-content-sha256" of every request
}

// sawPayload reports whether a request had method and payload hash kind.
func (e *env) sawPayload(method, sha string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.payloads, method+" "+sha)
}

type envOpt struct {
	tls      bool
	attempts int // SDK attempts per call; 0: the SDK's default
	key      string
}

func newEnv(t *testing.T, o envOpt) *env {
	t.Helper()
	e := &env{log: &core.CallLog{}, faults: &core.Faults{}, sink: &fakeSink{}}
	e.store = New(Options{Clock: fixedClock{testTime}, Log: e.log, Faults: e.faults, Events: e.sink})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.payloads = append(e.payloads, r.Method+" "+r.Header.Get("X-Amz-Content-Sha256"))
		e.mu.Unlock()
		e.store.ServeHTTP(w, r)
	})
	if o.tls {
		e.srv = httptest.NewTLSServer(h)
	} else {
		e.srv = httptest.NewServer(h)
	}
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(o)
	return e
}

func (e *env) newClient(o envOpt) *s3.Client {
	if o.key == "" {
		o.key = "AKIDTEST"
	}
	return s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(o.key, "secret", ""),
		BaseEndpoint: aws.String(e.srv.URL),
		UsePathStyle: true,
		HTTPClient:   e.srv.Client(),
		RetryMaxAttempts: func() int {
			if o.attempts > 0 {
				return o.attempts
			}
			return 0
		}(),
	})
}

func (e *env) mustBucket(t *testing.T, name string) {
	t.Helper()
	if _, err := e.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func (e *env) put(t *testing.T, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func (e *env) get(t *testing.T, in *s3.GetObjectInput) (string, *s3.GetObjectOutput, error) {
	t.Helper()
	out, err := e.client.GetObject(context.Background(), in)
	if err != nil {
		return "", nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), out, err
}

// code returns the S3 error code of err, or "" for none.
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestBuckets(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "plain")
	_, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("europe"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bucket, wantRegion, wantLoc string
	}{
		{"default region", "plain", "us-east-1", ""},
		{"location constraint", "europe", "eu-west-1", "eu-west-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := e.client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &tt.bucket})
			if err != nil || string(loc.LocationConstraint) != tt.wantLoc {
				t.Errorf("GetBucketLocation = %v, %v; want %q", loc, err, tt.wantLoc)
			}
			hb, err := e.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &tt.bucket})
			if err != nil || aws.ToString(hb.BucketRegion) != tt.wantRegion {
				t.Errorf("HeadBucket region = %v, %v; want %s", hb, err, tt.wantRegion)
			}
			region, ok, err := e.store.BucketRegion(ctx, tt.bucket)
			if !ok || err != nil || region != tt.wantRegion {
				t.Errorf("BucketRegion = %q, %v, %v", region, ok, err)
			}
		})
	}
	lb, err := e.client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 2 || aws.ToString(lb.Buckets[0].Name) != "europe" || aws.ToString(lb.Owner.ID) != DefaultOwnerID {
		t.Fatalf("ListBuckets = %+v, %v", lb, err)
	}
	if lb, err := e.client.ListBuckets(ctx, &s3.ListBucketsInput{BucketRegion: aws.String("eu-west-1")}); err != nil ||
		len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "europe" {
		t.Fatalf("ListBuckets in eu-west-1 = %+v, %v", lb, err)
	}
	errs := []struct {
		name string
		call func() error
		want string
	}{
		{"object ACL with ACLs disabled", func() error {
			_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"),
				Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
			return err
		}, "AccessControlListNotSupported"},
		{"owner's object ACL with ACLs disabled", func() error {
			_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"),
				Body: strings.NewReader("x"), ACL: types.ObjectCannedACLBucketOwnerFullControl})
			return err
		}, ""},
		{"create again", func() error {
			_, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")})
			return err
		}, "BucketAlreadyOwnedByYou"},
		{"bad name", func() error {
			_, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
			return err
		}, "InvalidBucketName"},
		{"head missing", func() error {
			_, err := e.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")})
			return err
		}, "NotFound"},
		{"location missing", func() error {
			_, err := e.client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("nope")})
			return err
		}, "NoSuchBucket"},
		{"delete non-empty", func() error {
			e.put(t, "plain", "k", "v")
			_, err := e.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("plain")})
			return err
		}, "BucketNotEmpty"},
		{"delete empty", func() error {
			_, err := e.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("europe")})
			return err
		}, ""},
		{"put to missing bucket", func() error {
			_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("europe"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}, "NoSuchBucket"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(tt.call()); got != tt.want {
				t.Fatalf("error code %q, want %q", got, tt.want)
			}
		})
	}
}

// TestObjects runs over HTTP and over TLS: over TLS the SDK sends aws-chunked bodies with a
// trailing checksum, over HTTP a signed payload with the checksum in a header.
func TestObjects(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			e := newEnv(t, envOpt{tls: tlsOn})
			ctx := context.Background()
			e.mustBucket(t, "bkt")
			body := strings.Repeat("cacheport ", 1000)
			// An unseekable body: over TLS the SDK streams it aws-chunked with a trailer.
			out, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj.rdb"),
				Body: io.NopCloser(strings.NewReader(body)), ContentLength: aws.Int64(int64(len(body))),
				ContentType: aws.String("application/x-rdb"), Metadata: map[string]string{"export-id": "e1"},
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			if tlsOn && err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if !tlsOn {
				// Without TLS the SDK refuses an unseekable body with a checksum; send a seekable one.
				out, err = e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj.rdb"),
					Body: strings.NewReader(body), ContentType: aws.String("application/x-rdb"),
					Metadata: map[string]string{"export-id": "e1"}, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
				if err != nil {
					t.Fatalf("PutObject: %v", err)
				}
			}
			if tlsOn && !e.sawPayload("PUT", "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
				t.Errorf("the SDK sent no aws-chunked body with a trailer: %v", e.payloads)
			}
			if aws.ToString(out.ETag) != `"`+md5hex(body)+`"` || aws.ToString(out.ChecksumCRC32) == "" {
				t.Errorf("PutObject ETag %s CRC32 %s", aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32))
			}
			got, gout, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj.rdb"),
				ChecksumMode: types.ChecksumModeEnabled})
			if err != nil || got != body {
				t.Fatalf("GetObject = %d bytes, %v", len(got), err)
			}
			if aws.ToInt64(gout.ContentLength) != int64(len(body)) || aws.ToString(gout.ContentType) != "application/x-rdb" ||
				gout.Metadata["export-id"] != "e1" || !aws.ToTime(gout.LastModified).Equal(testTime) ||
				aws.ToString(gout.ChecksumCRC32) == "" {
				t.Errorf("GetObject headers: length %d type %s meta %v modified %v crc %s", aws.ToInt64(gout.ContentLength),
					aws.ToString(gout.ContentType), gout.Metadata, gout.LastModified, aws.ToString(gout.ChecksumCRC32))
			}
			// Without a checksum of its own the object gets S3's default CRC64NVME, which the
			// SDK validates on the way back.
			e.put(t, "bkt", "plain", "hello")
			if got, gout, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain"),
				ChecksumMode: types.ChecksumModeEnabled}); err != nil || got != "hello" || aws.ToString(gout.ChecksumCRC64NVME) == "" {
				t.Errorf("GetObject plain = %q, %v", got, err)
			}
			head, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain")})
			if err != nil || aws.ToInt64(head.ContentLength) != 5 || aws.ToString(head.ETag) != `"`+md5hex("hello")+`"` {
				t.Errorf("HeadObject = %+v, %v", head, err)
			}
			if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("nope")}); code(err) != "NotFound" {
				t.Errorf("HeadObject missing: %v", err)
			}
			if _, _, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("nope")}); code(err) != "NoSuchKey" {
				t.Errorf("GetObject missing: %v", err)
			}
			if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain")}); err != nil {
				t.Fatal(err)
			}
			if ok, err := e.store.ObjectExists(ctx, "bkt", "plain"); ok || err != nil {
				t.Errorf("ObjectExists after delete = %v, %v", ok, err)
			}
			cp, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"),
				CopySource: aws.String("bkt/dir/obj.rdb")})
			if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != `"`+md5hex(body)+`"` {
				t.Fatalf("CopyObject = %v, %v", cp, err)
			}
			if b, err := e.store.Object("bkt", "copy"); err != nil || string(b) != body {
				t.Errorf("copied object = %d bytes, %v", len(b), err)
			}
			ps, err := s3.NewPresignClient(e.client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy")})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.srv.Client().Get(ps.URL)
			if err != nil {
				t.Fatal(err)
			}
			pgot, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(pgot) != body {
				t.Errorf("presigned GET: %d, %d bytes", resp.StatusCode, len(pgot))
			}
			if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"),
				ExpectedBucketOwner: aws.String("999999999999")}); code(err) != "Forbidden" {
				t.Errorf("HeadObject with another expected owner: %v", err)
			}
			odd := "dir/a b+c%d ü.rdb"
			e.put(t, "bkt", odd, "odd")
			if got, _, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: &odd}); err != nil || got != "odd" {
				t.Errorf("GetObject %q = %q, %v", odd, got, err)
			}
			if l, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("dir/a ")}); err != nil ||
				len(l.Contents) != 1 || aws.ToString(l.Contents[0].Key) != odd {
				t.Errorf("ListObjectsV2 of %q: %+v, %v", odd, l, err)
			}
		})
	}
}

func TestConditionalWrites(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	first := e.put(t, "bkt", "exists", "one")
	tests := []struct {
		name        string
		key         string
		ifNoneMatch string
		ifMatch     string
		want        string
	}{
		{"create new", "new", "*", "", ""},
		{"create existing", "exists", "*", "", "PreconditionFailed"},
		{"update with the current etag", "exists", "", aws.ToString(first.ETag), ""},
		{"update with a stale etag", "exists", "", aws.ToString(first.ETag), "PreconditionFailed"},
		{"update missing", "missing", "", `"abc"`, "NoSuchKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: &tt.key, Body: strings.NewReader("two")}
			if tt.ifNoneMatch != "" {
				in.IfNoneMatch = &tt.ifNoneMatch
			}
			if tt.ifMatch != "" {
				in.IfMatch = &tt.ifMatch
			}
			_, err := e.client.PutObject(ctx, in)
			if got := code(err); got != tt.want {
				t.Fatalf("PutObject: code %q, want %q (%v)", got, tt.want, err)
			}
			var re interface{ HTTPStatusCode() int }
			if tt.want == "PreconditionFailed" && (!errors.As(err, &re) || re.HTTPStatusCode() != 412) {
				t.Errorf("status of %v is not 412", err)
			}
		})
	}
}

func TestConditionalRaces(t *testing.T) {
	e := newEnv(t, envOpt{attempts: 1})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	seed := e.put(t, "bkt", "update", "seed")
	tests := []struct {
		name string
		key  string
		in   func(i int) *s3.PutObjectInput
	}{
		{"create", "create", func(i int) *s3.PutObjectInput {
			return &s3.PutObjectInput{IfNoneMatch: aws.String("*")}
		}},
		{"update", "update", func(i int) *s3.PutObjectInput {
			return &s3.PutObjectInput{IfMatch: seed.ETag}
		}},
	}
	const n = 16
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wg sync.WaitGroup
			codes := make([]string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := tt.in(i)
					in.Bucket, in.Key, in.Body = aws.String("bkt"), aws.String(tt.key), strings.NewReader(fmt.Sprint("writer ", i))
					_, err := e.client.PutObject(ctx, in)
					codes[i] = code(err)
				}()
			}
			wg.Wait()
			won, lost := 0, 0
			for _, c := range codes {
				switch c {
				case "":
					won++
				case "PreconditionFailed":
					lost++
				default:
					t.Errorf("unexpected error %s", c)
				}
			}
			if won != 1 || lost != n-1 {
				t.Fatalf("%d writers won and %d lost; want 1 and %d: %v", won, lost, n-1, codes)
			}
		})
	}
}

func TestRanges(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.mustBucket(t, "bkt")
	e.put(t, "bkt", "k", "0123456789")
	tests := []struct {
		rng, want, wantRange, wantCode string
	}{
		{"bytes=0-3", "0123", "bytes 0-3/10", ""},
		{"bytes=7-", "789", "bytes 7-9/10", ""},
		{"bytes=-2", "89", "bytes 8-9/10", ""},
		{"bytes=8-100", "89", "bytes 8-9/10", ""},
		{"bytes=10-", "", "", "InvalidRange"},
		{"bytes=-0", "", "", "InvalidRange"},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			got, out, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Range: &tt.rng})
			if code(err) != tt.wantCode {
				t.Fatalf("GetObject %s: %v, want %s", tt.rng, err, tt.wantCode)
			}
			if err != nil {
				return
			}
			if got != tt.want || aws.ToString(out.ContentRange) != tt.wantRange || aws.ToInt64(out.ContentLength) != int64(len(tt.want)) {
				t.Fatalf("GetObject %s = %q, range %q, length %d", tt.rng, got, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength))
			}
		})
	}
	t.Run("if-match", func(t *testing.T) {
		_, _, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: aws.String(`"nope"`)})
		if code(err) != "PreconditionFailed" {
			t.Fatalf("GetObject If-Match stale: %v", err)
		}
		if _, _, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
			IfMatch: aws.String(`"` + md5hex("0123456789") + `"`)}); err != nil {
			t.Fatalf("GetObject If-Match current: %v", err)
		}
	})
}

func TestMultipart(t *testing.T) {
	e := newEnv(t, envOpt{tls: true})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	if err := e.store.SetEventBridge("bkt", true); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (11<<20)/16) // 11 MiB: parts of 5, 5 and 1 MiB
	up := manager.NewUploader(e.client, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 3 })
	res, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.rdb"), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if !strings.HasSuffix(aws.ToString(res.ETag), "-3\"") && !strings.HasSuffix(aws.ToString(res.ETag), "-3") {
		t.Errorf("multipart ETag %s, want a -3 suffix", aws.ToString(res.ETag))
	}
	buf := manager.NewWriteAtBuffer(nil)
	dl := manager.NewDownloader(e.client, func(d *manager.Downloader) { d.PartSize = 4 << 20 })
	if n, err := dl.Download(ctx, buf, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.rdb")}); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Download = %d bytes, %v; equal %v", n, err, bytes.Equal(buf.Bytes(), data))
	}
	evs := e.sink.events()
	if len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"reason":"CompleteMultipartUpload"`) {
		t.Errorf("events = %v", evs)
	}
	t.Run("parts", func(t *testing.T) {
		head, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.rdb"), PartNumber: aws.Int32(1)})
		if err != nil || aws.ToInt32(head.PartsCount) != 3 || aws.ToInt64(head.ContentLength) != 5<<20 {
			t.Fatalf("HeadObject part 1 = %+v, %v", head, err)
		}
		for n, want := range map[int32][]byte{2: data[5<<20 : 10<<20], 3: data[10<<20:]} {
			got, out, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.rdb"), PartNumber: aws.Int32(n)})
			if err != nil || got != string(want) || aws.ToInt32(out.PartsCount) != 3 {
				t.Fatalf("GetObject part %d: %d bytes, %v", n, len(got), err)
			}
		}
	})

	small := func(key string) string {
		cu, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(cu.UploadId)
	}
	t.Run("too small", func(t *testing.T) {
		id := small("small")
		var parts []types.CompletedPart
		for i := int32(1); i <= 2; i++ {
			p, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("small"), UploadId: &id,
				PartNumber: aws.Int32(i), Body: strings.NewReader("tiny")})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(i), ETag: p.ETag})
		}
		_, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("small"),
			UploadId: &id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if code(err) != "EntityTooSmall" {
			t.Fatalf("Complete with small parts: %v", err)
		}
	})
	t.Run("list and abort", func(t *testing.T) {
		lu, err := e.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt"), Prefix: aws.String("sm")})
		if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].Key) != "small" {
			t.Fatalf("ListMultipartUploads = %+v, %v", lu, err)
		}
		if _, err := e.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("small"),
			UploadId: lu.Uploads[0].UploadId}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("small"),
			UploadId: lu.Uploads[0].UploadId}); code(err) != "NoSuchUpload" {
			t.Fatalf("second abort: %v", err)
		}
	})
	t.Run("conditional complete", func(t *testing.T) {
		id := small("big.rdb")
		p, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("big.rdb"), UploadId: &id,
			PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("big.rdb"),
			UploadId: &id, IfNoneMatch: aws.String("*"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: p.ETag}}}})
		if code(err) != "PreconditionFailed" {
			t.Fatalf("Complete over an existing key with If-None-Match: %v", err)
		}
	})
}

func TestVersioning(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	if _, err := e.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("bkt"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	gv, err := e.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
	if err != nil || gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("GetBucketVersioning = %v, %v", gv, err)
	}
	v1 := aws.ToString(e.put(t, "bkt", "k", "one").VersionId)
	v2 := aws.ToString(e.put(t, "bkt", "k", "two").VersionId)
	if v1 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q, %q", v1, v2)
	}
	del, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DeleteObject = %+v, %v", del, err)
	}
	marker := aws.ToString(del.VersionId)
	steps := []struct {
		name     string
		key, ver string
		want     string
		wantCode string
	}{
		{name: "latest is a delete marker", key: "k", wantCode: "NoSuchKey"},
		{name: "first version", key: "k", ver: v1, want: "one"},
		{name: "second version", key: "k", ver: v2, want: "two"},
		{name: "no such version", key: "k", ver: "nope", wantCode: "NoSuchVersion"},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: &tt.key}
			if tt.ver != "" {
				in.VersionId = &tt.ver
			}
			got, _, err := e.get(t, in)
			if code(err) != tt.wantCode || got != tt.want {
				t.Fatalf("GetObject = %q, %v; want %q, %q", got, err, tt.want, tt.wantCode)
			}
		})
	}
	vs, _ := e.store.Versions("bkt", "")
	if len(vs) != 3 || !vs[0].DeleteMarker || !vs[0].IsLatest || vs[1].VersionID != v2 || vs[2].VersionID != v1 {
		t.Fatalf("Versions = %+v", vs)
	}
	// Removing the delete marker brings the object back; removing a version deletes it for good.
	if d, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: &marker}); err != nil || !aws.ToBool(d.DeleteMarker) {
		t.Fatalf("delete the marker: %+v, %v", d, err)
	}
	if got, _, err := e.get(t, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); got != "two" || err != nil {
		t.Fatalf("after removing the marker: %q, %v", got, err)
	}
	for _, v := range []string{v2, v1} {
		if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if vs, _ := e.store.Versions("bkt", ""); len(vs) != 0 {
		t.Fatalf("versions left: %+v", vs)
	}
	// Suspended: writes replace the "null" version.
	if err := e.store.SetVersioning("bkt", "Suspended"); err != nil {
		t.Fatal(err)
	}
	e.put(t, "bkt", "s", "a")
	e.put(t, "bkt", "s", "bkt")
	if vs, _ := e.store.Versions("bkt", "s"); len(vs) != 1 || vs[0].VersionID != "null" {
		t.Fatalf("suspended versions: %+v", vs)
	}
}

func TestListObjectVersionsPagination(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	if err := e.store.SetVersioning("bkt", "Enabled"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a/1", "a/2", "b/1", "c"} {
		for i := range 3 {
			e.put(t, "bkt", k, fmt.Sprint(k, i))
		}
	}
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/2")}); err != nil {
		t.Fatal(err)
	}
	all, _ := e.store.Versions("bkt", "")
	tests := []struct {
		name, prefix string
		maxKeys      int32
	}{
		{"pages of 1", "", 1},
		{"pages of 2", "", 2},
		{"pages of 5 under a/", "a/", 5},
		{"one page", "", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			in := &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), MaxKeys: &tt.maxKeys, Prefix: &tt.prefix}
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("too many pages")
				}
				out, err := e.client.ListObjectVersions(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(out.Versions) + len(out.DeleteMarkers); n > int(tt.maxKeys) {
					t.Fatalf("page of %d, max %d", n, tt.maxKeys)
				}
				// The SDK splits versions and markers; the test knows only a/2 has one, newest.
				for _, m := range out.DeleteMarkers {
					got = append(got, aws.ToString(m.Key)+"@"+aws.ToString(m.VersionId))
				}
				for _, v := range out.Versions {
					got = append(got, aws.ToString(v.Key)+"@"+aws.ToString(v.VersionId))
				}
				if !aws.ToBool(out.IsTruncated) {
					break
				}
				in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
			}
			var want []string
			for _, v := range all {
				if strings.HasPrefix(v.Key, tt.prefix) {
					want = append(want, v.Key+"@"+v.VersionID)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("listed %v\nwant %v", got, want)
			}
		})
	}
	t.Run("max-keys 0", func(t *testing.T) {
		out, err := e.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(0)})
		if err != nil || aws.ToBool(out.IsTruncated) || len(out.Versions)+len(out.DeleteMarkers) != 0 {
			t.Fatalf("ListObjectVersions max-keys 0 = %+v, %v", out, err)
		}
		l, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(0)})
		if err != nil || aws.ToBool(l.IsTruncated) || len(l.Contents) != 0 {
			t.Fatalf("ListObjectsV2 max-keys 0 = %+v, %v", l, err)
		}
	})
	t.Run("delimiter", func(t *testing.T) {
		out, err := e.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/")})
		if err != nil || len(out.CommonPrefixes) != 2 || len(out.Versions) != 3 {
			t.Fatalf("ListObjectVersions with delimiter = %d prefixes, %d versions, %v", len(out.CommonPrefixes), len(out.Versions), err)
		}
	})
}

func TestListObjects(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	for _, k := range []string{"x/a", "x/b", "x/y/c", "z", "zz"} {
		e.put(t, "bkt", k, k)
	}
	tests := []struct {
		name                       string
		prefix, delimiter, startAt string
		maxKeys                    int32
		want                       []string // keys, and prefixes ending in the delimiter
	}{
		{name: "all", want: []string{"x/a", "x/b", "x/y/c", "z", "zz"}},
		{name: "prefix", prefix: "x/", want: []string{"x/a", "x/b", "x/y/c"}},
		{name: "delimiter", delimiter: "/", want: []string{"x/", "z", "zz"}},
		{name: "prefix and delimiter", prefix: "x/", delimiter: "/", want: []string{"x/a", "x/b", "x/y/"}},
		{name: "pages of 2", maxKeys: 2, want: []string{"x/a", "x/b", "x/y/c", "z", "zz"}},
		{name: "pages of 1 with delimiter", maxKeys: 1, delimiter: "/", want: []string{"x/", "z", "zz"}},
		{name: "start after", startAt: "x/y/c", want: []string{"z", "zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: &tt.prefix, Delimiter: &tt.delimiter, StartAfter: &tt.startAt}
			if tt.maxKeys > 0 {
				in.MaxKeys = &tt.maxKeys
			}
			var got []string
			p := s3.NewListObjectsV2Paginator(e.client, in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range out.Contents {
					got = append(got, aws.ToString(o.Key))
				}
				for _, cp := range out.CommonPrefixes {
					got = append(got, aws.ToString(cp.Prefix))
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("V2 listed %v, want %v", got, tt.want)
			}
			// ListObjects (v1) with markers lists the same.
			var got1 []string
			in1 := &s3.ListObjectsInput{Bucket: aws.String("bkt"), Prefix: &tt.prefix, Delimiter: &tt.delimiter, Marker: &tt.startAt}
			if tt.maxKeys > 0 {
				in1.MaxKeys = &tt.maxKeys
			}
			for {
				out, err := e.client.ListObjects(ctx, in1)
				if err != nil {
					t.Fatal(err)
				}
				last := ""
				for _, o := range out.Contents {
					got1 = append(got1, aws.ToString(o.Key))
					last = aws.ToString(o.Key)
				}
				for _, cp := range out.CommonPrefixes {
					got1 = append(got1, aws.ToString(cp.Prefix))
					last = max(last, aws.ToString(cp.Prefix))
				}
				if !aws.ToBool(out.IsTruncated) {
					break
				}
				if out.NextMarker != nil {
					last = aws.ToString(out.NextMarker)
				}
				in1.Marker = &last
			}
			slices.Sort(got1)
			if !slices.Equal(got1, tt.want) {
				t.Fatalf("V1 listed %v, want %v", got1, tt.want)
			}
		})
	}
}

func TestACLAndOwnership(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	tests := []struct {
		name, bucket, region, ownership string
		wantErr                         string
		wantID                          string
	}{
		{name: "default ownership refuses ACLs", bucket: "enforced", region: "us-east-1", wantErr: "AccessControlListNotSupported"},
		{name: "bucket owner preferred", bucket: "preferred", region: "us-east-1", ownership: OwnershipPreferred, wantID: grant.DefaultCanonicalUserID},
		{name: "object writer in china", bucket: "china", region: "cn-north-1", ownership: OwnershipWriter, wantID: grant.ChinaCanonicalUserID},
	}
	g := grant.New(e.client)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.CreateBucketInput{Bucket: &tt.bucket}
			if tt.region != "us-east-1" {
				in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(tt.region)}
			}
			if _, err := e.client.CreateBucket(ctx, in); err != nil {
				t.Fatal(err)
			}
			if tt.ownership != "" {
				if _, err := e.client.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: &tt.bucket,
					OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnership(tt.ownership)}}}}); err != nil {
					t.Fatal(err)
				}
			}
			oc, err := e.client.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: &tt.bucket})
			want := tt.ownership
			if want == "" {
				want = OwnershipEnforced
			}
			if err != nil || len(oc.OwnershipControls.Rules) != 1 || string(oc.OwnershipControls.Rules[0].ObjectOwnership) != want {
				t.Fatalf("GetBucketOwnershipControls = %+v, %v", oc, err)
			}
			res, err := g.Ensure(ctx, tt.bucket, tt.region)
			if c := code(err); c != tt.wantErr {
				t.Fatalf("Ensure: %v (code %q), want %q", err, c, tt.wantErr)
			}
			granted, gerr := e.store.ElastiCacheGranted(ctx, tt.bucket)
			if gerr != nil || granted != (tt.wantErr == "") {
				t.Fatalf("ElastiCacheGranted = %v, %v", granted, gerr)
			}
			if tt.wantErr != "" {
				return
			}
			if res.CanonicalUserID != tt.wantID || grant.Names(res.Missing) != "READ,WRITE,READ_ACP" {
				t.Errorf("Ensure = %+v", res)
			}
			acl, err := e.client.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &tt.bucket})
			if err != nil || aws.ToString(acl.Owner.ID) != DefaultOwnerID || len(acl.Grants) != 4 {
				t.Fatalf("GetBucketAcl = %+v, %v", acl, err)
			}
			if m := grant.Missing(acl.Grants, tt.wantID); len(m) != 0 || acl.Grants[0].Grantee.Type != types.TypeCanonicalUser {
				t.Errorf("grants read back miss %v: %+v", m, acl.Grants)
			}
			// Back to BucketOwnerEnforced is refused while the ACL grants others.
			_, err = e.client.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: &tt.bucket,
				OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}})
			if code(err) != "InvalidBucketAclWithObjectOwnership" {
				t.Errorf("enforcing ownership over grants: %v", err)
			}
		})
	}
	t.Run("canned ACL at creation with enforced ownership", func(t *testing.T) {
		_, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("public"), ACL: types.BucketCannedACLPublicRead})
		if code(err) != "InvalidBucketAclWithObjectOwnership" {
			t.Fatalf("CreateBucket public-read: %v", err)
		}
	})
}

func TestSettings(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	pab, err := e.client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("bkt")})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Fatalf("default public access block = %+v, %v", pab, err)
	}
	if _, err := e.client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("bkt"),
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(false),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	pab, err = e.client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("bkt")})
	if err != nil || aws.ToBool(pab.PublicAccessBlockConfiguration.IgnorePublicAcls) || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) {
		t.Fatalf("public access block = %+v, %v", pab.PublicAccessBlockConfiguration, err)
	}
	enc, err := e.client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("bkt")})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("default encryption = %+v, %v", enc, err)
	}
	if _, err := e.client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String("bkt"),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms,
				KMSMasterKeyID: aws.String("alias/cacheport")}, BucketKeyEnabled: aws.Bool(true)}}}}); err != nil {
		t.Fatal(err)
	}
	enc, err = e.client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("bkt")})
	if r := enc.ServerSideEncryptionConfiguration.Rules[0]; err != nil || r.ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAwsKms ||
		aws.ToString(r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "alias/cacheport" || !aws.ToBool(r.BucketKeyEnabled) {
		t.Fatalf("encryption = %+v, %v", r, err)
	}
	if _, err := e.client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("bkt")}); code(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy before any: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"elasticache.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`
	if _, err := e.client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("bkt"), Policy: &policy}); err != nil {
		t.Fatal(err)
	}
	if gp, err := e.client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("bkt")}); err != nil || aws.ToString(gp.Policy) != policy {
		t.Fatalf("GetBucketPolicy = %v, %v", gp, err)
	}
	nc, err := e.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("bkt")})
	if err != nil || nc.EventBridgeConfiguration != nil {
		t.Fatalf("notification before any = %+v, %v", nc, err)
	}
	if _, err := e.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("bkt"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	nc, err = e.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("bkt")})
	if err != nil || nc.EventBridgeConfiguration == nil {
		t.Fatalf("notification = %+v, %v", nc, err)
	}
	if _, err := e.client.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("bkt")}); code(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("GetPublicAccessBlock after delete: %v", err)
	}
}

func TestEvents(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "quiet")
	e.mustBucket(t, "loud")
	if _, err := e.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("loud"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "quiet", "k", "no event")
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("quiet"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sink.events()); n != 0 {
		t.Fatalf("%d events from a bucket without EventBridge", n)
	}
	e.put(t, "loud", "exports/a-0001.rdb", "hello")
	if _, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("loud"), Key: aws.String("copy"), CopySource: aws.String("loud/exports/a-0001.rdb")}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutObject(ctx, "loud", "exports/b-0001.rdb", strings.NewReader("from elasticache"), 16); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("loud"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("copy")}, {Key: aws.String("exports/a-0001.rdb")}}}}); err != nil {
		t.Fatal(err)
	}
	evs := e.sink.events()
	want := []struct{ detailType, key, reason, requester string }{
		{ObjectCreated, "exports/a-0001.rdb", "PutObject", DefaultAccountID},
		{ObjectCreated, "copy", "CopyObject", DefaultAccountID},
		{ObjectCreated, "exports/b-0001.rdb", "PutObject", "elasticache.amazonaws.com"},
		{ObjectDeleted, "copy", "DeleteObject", DefaultAccountID},
		{ObjectDeleted, "exports/a-0001.rdb", "DeleteObject", DefaultAccountID},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		ev := evs[i]
		var d EventDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Bus != "default" || ev.Source != "aws.s3" || ev.DetailType != w.detailType || !ev.Time.Equal(testTime) ||
			!slices.Equal(ev.Resources, []string{"arn:aws:s3:::loud"}) || d.Bucket.Name != "loud" || d.Object.Key != w.key ||
			d.Reason != w.reason || d.Requester != w.requester || d.Version != "0" || d.Object.Sequencer == "" || d.RequestID == "" {
			t.Errorf("event %d = %+v %s", i, ev, ev.Detail)
		}
	}
	// The detail has exactly the fields of AWS's sample event.
	var got, sample map[string]any
	_ = json.Unmarshal(evs[0].Detail, &got)
	_ = json.Unmarshal([]byte(`{"version":"0","bucket":{"name":"bkt"},"object":{"key":"k","size":5,"etag":"e","sequencer":"s"},
		"request-id":"r","requester":"q","source-ip-address":"1.2.3.4","reason":"PutObject"}`), &sample)
	if !sameShape(got, sample) {
		t.Errorf("detail %s is not shaped like AWS's", evs[0].Detail)
	}
	if o := got["object"].(map[string]any); o["etag"] != md5hex("hello") || o["size"] != float64(5) {
		t.Errorf("object %v: want the unquoted etag and the size", o)
	}
	if !strings.Contains(string(evs[3].Detail), `"deletion-type":"Permanently Deleted"`) {
		t.Errorf("delete event %s", evs[3].Detail)
	}
	if d1, d2 := string(evs[0].Detail), string(evs[1].Detail); d1 >= d2 && !strings.Contains(d1, "sequencer") {
		t.Errorf("sequencers do not grow")
	}
	// A versioned bucket's events carry the version id; deletes make delete markers.
	if err := e.store.SetVersioning("loud", "Enabled"); err != nil {
		t.Fatal(err)
	}
	v := e.put(t, "loud", "v", "x")
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("loud"), Key: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	vs, _ := e.store.Versions("loud", "v")
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("loud"), Key: aws.String("v"), VersionId: &vs[0].VersionID}); err != nil {
		t.Fatal(err)
	}
	evs = e.sink.events()[len(want):]
	if len(evs) != 3 || !strings.Contains(string(evs[0].Detail), `"version-id":"`+aws.ToString(v.VersionId)+`"`) ||
		!strings.Contains(string(evs[1].Detail), `"deletion-type":"Delete Marker Created"`) ||
		!strings.Contains(string(evs[2].Detail), `"deletion-type":"Permanently Deleted"`) {
		t.Errorf("versioned events: %v", evs)
	}
}

// sameShape reports whether two decoded JSON objects have the same keys, recursively.
func sameShape(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok {
			return false
		}
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok != bok || (aok && !sameShape(am, bm)) {
			return false
		}
	}
	return true
}

func TestElastiCacheWrites(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	_ = e.store.SetEventBridge("bkt", true)
	big := bytes.Repeat([]byte{7}, 17<<20)
	if err := e.store.PutObject(ctx, "bkt", "big-0001.rdb", bytes.NewReader(big), int64(len(big))); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutObject(ctx, "bkt", "short", strings.NewReader("abc"), 4); err == nil {
		t.Fatal("PutObject with a short body succeeded")
	}
	if err := e.store.PutObject(ctx, "nope", "k", strings.NewReader("abc"), 3); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("PutObject to a missing bucket: %v", err)
	}
	evs := e.sink.events()
	if len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `-3","sequencer"`) || !strings.Contains(string(evs[0].Detail), `"reason":"CompleteMultipartUpload"`) {
		t.Fatalf("events %v", evs)
	}
	if err := e.store.FlipByte("bkt", "big-0001.rdb", 10); err != nil {
		t.Fatal(err)
	}
	got, _ := e.store.Object("bkt", "big-0001.rdb")
	if diff := bytesDiff(got, big); diff != 1 || got[10] != 7^0xff {
		t.Fatalf("FlipByte changed %d bytes", diff)
	}
	if ops := e.log.Operations()[ElastiCacheCaller]; !slices.Equal(ops, []string{"s3:PutObject"}) {
		t.Errorf("elasticache's calls: %v", ops)
	}
}

func bytesDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestCallLog(t *testing.T) {
	e := newEnv(t, envOpt{key: "StartExportFunction"})
	ctx := context.Background()
	e.mustBucket(t, "bkt")
	_ = e.store.SetVersioning("bkt", "Enabled")
	v := e.put(t, "bkt", "k", "x")
	_, _ = e.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt")})
	_, _ = e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	_, _ = e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: v.VersionId})
	_, _ = e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("a"), VersionId: aws.String("v1")}}}})
	other := e.newClient(envOpt{key: "cli"})
	_, _ = other.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("bkt")})
	want := []core.Call{
		{Caller: "StartExportFunction", Service: "s3", Operation: "CreateBucket", Resource: "bkt"},
		{Caller: "StartExportFunction", Service: "s3", Operation: "PutObject", Resource: "bkt/k"},
		{Caller: "StartExportFunction", Service: "s3", Operation: "ListObjectVersions", Resource: "bkt"},
		{Caller: "StartExportFunction", Service: "s3", Operation: "ListObjectsV2", Resource: "bkt"},
		{Caller: "StartExportFunction", Service: "s3", Operation: "DeleteObject", Resource: "bkt/k?versionId=" + aws.ToString(v.VersionId)},
		{Caller: "StartExportFunction", Service: "s3", Operation: "DeleteObjects", Resource: "bkt?versionId=v1"},
		{Caller: "cli", Service: "s3", Operation: "GetBucketAcl", Resource: "bkt"},
	}
	got := e.log.Calls()
	for i := range got {
		got[i].At = time.Time{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("calls:\n%+v\nwant\n%+v", got, want)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		fault string
		call  func(c *s3.Client) error
		want  string
	}{
		{"deny GetObject", "s3:GetObject", func(c *s3.Client) error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			return err
		}, "AccessDenied"},
		{"deny GetObject covers HeadObject", "s3:GetObject", func(c *s3.Client) error {
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			return err
		}, "Forbidden"},
		{"deny GetObject leaves PutObject", "s3:GetObject", func(c *s3.Client) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k2"), Body: strings.NewReader("x")})
			return err
		}, ""},
		{"deny ListBucket", "s3:ListBucket", func(c *s3.Client) error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
			return err
		}, "AccessDenied"},
		{"deny DeleteObjectVersion leaves DeleteObject", "s3:DeleteObjectVersion", func(c *s3.Client) error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			return err
		}, ""},
		{"deny DeleteObjectVersion", "s3:DeleteObjectVersion", func(c *s3.Client) error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String("null")})
			return err
		}, "AccessDenied"},
		{"deny GetBucketAcl", "s3:GetBucketAcl", func(c *s3.Client) error {
			_, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("bkt")})
			return err
		}, "AccessDenied"},
		{"deny in DeleteObjects", "s3:DeleteObject", func(c *s3.Client) error {
			out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("k")}}}})
			if err == nil && len(out.Errors) == 1 {
				return &smithy.GenericAPIError{Code: aws.ToString(out.Errors[0].Code)}
			}
			return err
		}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpt{})
			e.mustBucket(t, "bkt")
			e.put(t, "bkt", "k", "v")
			e.faults.Add("deny", tt.fault)
			if got := code(tt.call(e.client)); got != tt.want {
				t.Fatalf("code %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a cache's throttle leaves S3 alone", func(t *testing.T) {
		e := newEnv(t, envOpt{attempts: 1})
		e.faults.Add("throttle", "my-cache")
		for range 10 {
			if _, err := e.client.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("throttle", func(t *testing.T) {
		e := newEnv(t, envOpt{attempts: 1})
		e.mustBucket(t, "bkt")
		e.faults.Add("throttle", "")
		var codes []string
		for range 10 {
			_, err := e.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")})
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) {
				codes = append(codes, fmt.Sprint(re.HTTPStatusCode()))
			} else {
				codes = append(codes, code(err))
			}
		}
		if want := []string{"", "", "", "", "503", "", "", "", "", "503"}; !slices.Equal(codes, want) {
			t.Fatalf("throttled calls %q, want %q", codes, want)
		}
		_, _ = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("nope")}) // the 11th call
		_, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // the 13th to 15th
			_, err = e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
		}
		if code(err) != "SlowDown" {
			t.Fatalf("15th call: %v, want SlowDown", err)
		}
		// The SDK's retries get through.
		retrying := e.newClient(envOpt{})
		for range 10 {
			if _, err := retrying.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err != nil {
				t.Fatalf("with retries: %v", err)
			}
		}
	})
}

func TestStrictRegion(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.store.opts.StrictRegion = true
	ctx := context.Background()
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("europe"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
	inEurope := func(o *s3.Options) { o.Region = "eu-west-1" }
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"location from anywhere", func() error {
			_, err := e.client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("europe")})
			return err
		}, ""},
		{"put from the wrong region", func() error {
			_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("europe"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}, "PermanentRedirect"},
		{"put from the bucket's region", func() error {
			_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("europe"), Key: aws.String("k"), Body: strings.NewReader("x")}, inEurope)
			return err
		}, ""},
		{"missing bucket", func() error {
			_, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nope")})
			return err
		}, "NoSuchBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(tt.call()); got != tt.want {
				t.Fatalf("code %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.mustBucket(t, "bkt")
	_, err := e.client.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	if code(err) != "NotImplemented" {
		t.Fatalf("GetBucketTagging: %v", err)
	}
	if calls := e.log.Calls(); calls[len(calls)-1].Operation != "Unsupported GET ?tagging" {
		t.Errorf("logged as %+v", calls[len(calls)-1])
	}
}

func TestUnsigned(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.mustBucket(t, "bkt")
	for _, path := range []string{"/", "/bkt", "/bkt/k"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
			t.Errorf("GET %s unsigned: %d %s", path, resp.StatusCode, body)
		}
	}
	if calls := e.log.Calls(); calls[len(calls)-1].Caller != "" || calls[len(calls)-1].Operation != "GetObject" {
		t.Errorf("last call %+v", calls[len(calls)-1])
	}
}

// TestChunkedBodies sends aws-chunked bodies as the SDKs and the CLI do, by hand.
func TestChunkedBodies(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.mustBucket(t, "bkt")
	auth := "AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
	crcHello := "DUoRhQ==" // CRC32 of "hello world"
	tests := []struct {
		name, sha, encoding, body string
		header                    map[string]string
		wantStatus                int
		wantCode                  string
	}{
		{name: "unsigned payload trailer", sha: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", encoding: "aws-chunked",
			body:       "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:" + crcHello + "\r\n\r\n",
			header:     map[string]string{"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": "11"},
			wantStatus: 200},
		{name: "signed chunks", sha: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
			body:       "b;chunk-signature=" + strings.Repeat("a", 64) + "\r\nhello world\r\n0;chunk-signature=" + strings.Repeat("bkt", 64) + "\r\n\r\n",
			header:     map[string]string{"x-amz-decoded-content-length": "11"},
			wantStatus: 200},
		{name: "signed chunks with trailer", sha: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", encoding: "aws-chunked",
			body: "b;chunk-signature=" + strings.Repeat("a", 64) + "\r\nhello world\r\n0;chunk-signature=" + strings.Repeat("bkt", 64) +
				"\r\nx-amz-checksum-crc32:" + crcHello + "\r\nx-amz-trailer-signature:" + strings.Repeat("c", 64) + "\r\n\r\n",
			wantStatus: 200},
		{name: "bad trailing checksum", sha: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", encoding: "aws-chunked",
			body:       "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
			wantStatus: 400, wantCode: "BadDigest"},
		{name: "truncated", sha: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", encoding: "aws-chunked",
			body: "b\r\nhello", wantStatus: 400, wantCode: "IncompleteBody"},
		{name: "wrong decoded length", sha: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", encoding: "aws-chunked",
			body: "b\r\nhello world\r\n0\r\n\r\n", header: map[string]string{"x-amz-decoded-content-length": "12"},
			wantStatus: 400, wantCode: "IncompleteBody"},
		{name: "plain with a bad header checksum", sha: "UNSIGNED-PAYLOAD", body: "hello world",
			header: map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, wantStatus: 400, wantCode: "BadDigest"},
		{name: "plain with a bad sha256", sha: strings.Repeat("0", 64), body: "hello world", wantStatus: 400, wantCode: "XAmzContentSHA256Mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/bkt/chunked", strings.NewReader(tt.body))
			req.Header.Set("Authorization", auth)
			req.Header.Set("x-amz-content-sha256", tt.sha)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantCode) {
				t.Fatalf("status %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus == 200 {
				if got, err := e.store.Object("bkt", "chunked"); err != nil || string(got) != "hello world" {
					t.Fatalf("stored %q, %v", got, err)
				}
				if resp.Header.Get("ETag") != `"`+md5hex("hello world")+`"` {
					t.Errorf("ETag %s", resp.Header.Get("ETag"))
				}
			}
		})
	}
}

// TestRawRequests sends requests the SDK would shape differently: bodies without S3's XML
// namespace, and ACLs given in headers.
func TestRawRequests(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.mustBucket(t, "bkt")
	auth := "AWS4-HMAC-SHA256 Credential=raw/20261124/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantStatus               int
		check                    func(t *testing.T)
	}{
		{name: "versioning without a namespace", method: "PUT", path: "/bkt?versioning",
			body: "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>", wantStatus: 200,
			check: func(t *testing.T) {
				out, err := e.client.GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
				if err != nil || out.Status != types.BucketVersioningStatusSuspended {
					t.Errorf("versioning %v, %v", out, err)
				}
			}},
		{name: "ownership without a namespace", method: "PUT", path: "/bkt?ownershipControls",
			body: "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>", wantStatus: 200},
		{name: "grant headers", method: "PUT", path: "/bkt?acl", wantStatus: 200,
			header: map[string]string{
				"x-amz-grant-full-control": `id="` + DefaultOwnerID + `"`,
				"x-amz-grant-read":         `id="` + grant.DefaultCanonicalUserID + `"`,
				"x-amz-grant-write":        `id="` + grant.DefaultCanonicalUserID + `"`,
				"x-amz-grant-read-acp":     `id="` + grant.DefaultCanonicalUserID + `", uri="http://acs.amazonaws.com/groups/s3/LogDelivery"`},
			check: func(t *testing.T) {
				if ok, err := e.store.ElastiCacheGranted(context.Background(), "bkt"); !ok || err != nil {
					t.Errorf("ElastiCacheGranted = %v, %v", ok, err)
				}
			}},
		{name: "canned private ACL takes the grants away", method: "PUT", path: "/bkt?acl", wantStatus: 200,
			header: map[string]string{"x-amz-acl": "private"},
			check: func(t *testing.T) {
				if ok, err := e.store.ElastiCacheGranted(context.Background(), "bkt"); ok || err != nil {
					t.Errorf("ElastiCacheGranted = %v, %v", ok, err)
				}
			}},
		{name: "malformed versioning", method: "PUT", path: "/bkt?versioning", body: "<VersioningConfiguration>", wantStatus: 400},
		{name: "bad policy", method: "PUT", path: "/bkt?policy", body: "not json", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", auth)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

// BenchmarkPutGet measures a 1 MiB PutObject and GetObject through the SDK and the handler.
func BenchmarkPutGet(b *testing.B) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	if err := s.CreateBucket("bench", ""); err != nil {
		b.Fatal(err)
	}
	client := s3.New(s3.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("bench", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true})
	data := bytes.Repeat([]byte("x"), 1<<20)
	ctx := context.Background()
	b.SetBytes(2 * int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String("k")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, out.Body); err != nil {
			b.Fatal(err)
		}
		out.Body.Close()
	}
}
