// Package twin is the local AWS twin: one loopback listener serving ElastiCache, EventBridge and
// S3 to the real AWS clients (routed by the service in each request's SigV4 credential scope),
// with simulated caches holding real data, the template's rules and schedules, and cacheport's
// functions running in process on the events and schedules they subscribe to. It is for tests,
// `cacheport sandbox` and `make demo`: no function or domain package imports it.
package twin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/grant"
	"github.com/cacheport/cacheport/shared/twin/core"
	"github.com/cacheport/cacheport/shared/twin/ebsrv"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
	"github.com/cacheport/cacheport/shared/twin/s3srv"
)

// Defaults of Options.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "111122223333"
	// OperatorKey is the access key of callers that are not cacheport's functions (the CLI,
	// the AWS CLI, tests).
	OperatorKey = "operator"
	// GrantFunction is the custom resource's logical id: the twin sets the bucket's grant up
	// with its code and under its name, as a deploy does.
	GrantFunction = "GrantBucketAccessFunction"
	secretKey     = "twin-secret-key"
)

// Options configure a twin. The zero value is not usable: Template is required.
type Options struct {
	Template string            // path to template.yaml
	Params   map[string]string // template parameter overrides (e.g. "MaxAttempts")
	Listen   string            // "127.0.0.1:0" by default
	Region   string
	Account  string
	Start    time.Time // the clock's start (default: now)
	Speed    float64   // how much faster than real time the clock runs (default 1)
	Faults   []string  // --fault values: KIND[=PARAM]
	Caches   []ecsrv.Cache
	// Data picks where shard data comes from (ecsrv.DataAuto: a real redis-server when one is on
	// PATH, else the twin's own RDB writer). Unless it is ecsrv.DataGenerated, Memcached
	// clusters' nodes are real memcached processes when memcached is on PATH, and the Engines
	// parameter defaults to redis,valkey,memcached so that memcached-export dumps them.
	Data ecsrv.DataMode
	// SnapshotDelay and ExportDelay pace the simulated lifecycles (ecsrv defaults when zero).
	SnapshotDelay, ExportDelay time.Duration
	// APILatency is added to every ElastiCache call; ThrottleEvery makes every n-th call the
	// throttle fault covers fail (the scale benchmark's knobs).
	APILatency    time.Duration
	ThrottleEvery int
	// S3Endpoint, with S3AccessKey and S3SecretKey, points exports and every S3 client at a real
	// S3-compatible server instead of the in-process one (no S3 call log then).
	S3Endpoint, S3AccessKey, S3SecretKey string
	// Log receives the functions' logs (discarded when nil).
	Log *slog.Logger
	// Version is written into manifests.
	Version string
	// NoFunctions starts the services without running the functions in process.
	NoFunctions bool
}

// Twin is a running twin. Close stops it.
type Twin struct {
	URL      string // the edge endpoint, http://127.0.0.1:PORT
	Region   string
	Bucket   string // the export bucket
	Clock    *core.ScaledClock
	Calls    *core.CallLog
	Faults   *core.Faults
	S3       *s3srv.Store // nil when a real S3-compatible server is used
	EC       *ecsrv.Server
	Router   *ebsrv.Router
	Template *ebsrv.Template

	opts   Options
	bucket core.Bucket
	ln     net.Listener
	srv    *http.Server
	funcs  []string
}

// Start starts a twin: the services on one listener, the export bucket set up as the template
// sets it up, the caches, and (unless NoFunctions) the template's functions in process.
func Start(ctx context.Context, o Options) (*Twin, error) {
	if o.Template == "" {
		return nil, errors.New("twin: no template")
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Start.IsZero() {
		o.Start = time.Now().UTC()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Caches == nil {
		o.Caches = ecsrv.DefaultCaches()
	}
	faults, err := core.ParseFaults(o.Faults)
	if err != nil {
		return nil, err
	}
	// Memcached clusters get real nodes when memcached can be run (not with generated data,
	// which starts no processes), and then are exported like the others unless the parameters
	// say which engines to export.
	memcachedNodes := o.Data != ecsrv.DataGenerated && ecsrv.MemcachedAvailable("")
	values := map[string]string{"AWS::Region": o.Region, "AWS::AccountId": o.Account}
	if memcachedNodes {
		values["Engines"] = "redis,valkey,memcached"
	}
	for k, v := range o.Params {
		values[k] = v
	}
	tmpl, err := ebsrv.LoadTemplate(o.Template, values)
	if err != nil {
		return nil, err
	}
	t := &Twin{Region: o.Region, Clock: core.NewScaledClock(o.Start, o.Speed), Calls: &core.CallLog{}, Faults: faults, Template: tmpl, opts: o}
	t.Bucket = tmpl.Env["StartExportFunction"]["CACHEPORT_BUCKET"]
	if t.Bucket == "" {
		return nil, errors.New("twin: the template gives start-export no CACHEPORT_BUCKET")
	}
	t.Router = ebsrv.NewRouter(tmpl, ebsrv.Options{Clock: t.Clock, Faults: faults, Start: o.Start})

	if o.S3Endpoint == "" {
		t.S3 = s3srv.New(s3srv.Options{Clock: t.Clock, Log: t.Calls, Faults: faults, Events: t.Router, AccountID: o.Account})
		t.bucket = t.S3
	}
	t.ln, err = net.Listen("tcp", o.Listen)
	if err != nil {
		t.Router.Close()
		return nil, err
	}
	t.URL = "http://" + t.ln.Addr().String()
	if o.S3Endpoint != "" {
		_, noGrant := faults.Active("no-grant", "")
		t.bucket = &remoteBucket{s3: t.s3Client(OperatorKey), events: t.Router, clock: t.Clock, granted: !noGrant}
	}
	t.EC = ecsrv.New(ecsrv.Options{Region: o.Region, Account: o.Account, Clock: t.Clock, CallLog: t.Calls, Faults: faults,
		Events: t.Router, Bucket: t.bucket, Data: o.Data, SnapshotDelay: o.SnapshotDelay, ExportDelay: o.ExportDelay,
		Latency: o.APILatency, ThrottleEvery: o.ThrottleEvery, MemcachedNodes: memcachedNodes})
	for _, c := range o.Caches {
		if err := t.EC.AddCache(c); err != nil {
			t.Close()
			return nil, fmt.Errorf("twin: cache %s: %w", c.ID, err)
		}
	}
	eb := ebsrv.NewServer(t.Router, t.Calls)
	t.srv = &http.Server{Handler: t.edge(eb), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(t.ln) }()

	if err := t.setUpBucket(ctx); err != nil {
		t.Close()
		return nil, fmt.Errorf("twin: set up bucket %s: %w", t.Bucket, err)
	}
	if !o.NoFunctions {
		if err := t.startFunctions(); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// edge routes each request by the service of its SigV4 credential scope.
func (t *Twin) edge(eb http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := core.IdentityOf(r)
		switch {
		case !ok:
			http.Error(w, "request is not signed with AWS Signature Version 4", http.StatusForbidden)
		case id.Service == "s3" && t.S3 != nil:
			t.S3.ServeHTTP(w, r)
		case id.Service == "elasticache":
			t.EC.ServeHTTP(w, r)
		case id.Service == "events":
			eb.ServeHTTP(w, r)
		default:
			http.Error(w, "the twin does not serve "+id.Service, http.StatusNotImplemented)
		}
	})
}

// Config returns an AWS config for a caller (its access key names it in the call log) pointed
// at the twin.
func (t *Twin) Config(accessKey string) aws.Config {
	return aws.Config{
		Region:       t.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String(t.URL),
		// The SDK's standard retryer, with back-off scaled down: the twin's throttling is
		// deterministic, and a test must not sleep for the seconds AWS would warrant.
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 5
				o.MaxBackoff = 20 * time.Millisecond
			})
		},
	}
}

// Clients returns the three clients for a caller, pointed at the twin (S3 at the real server
// when one is configured).
func (t *Twin) Clients(accessKey string) *awsconf.Clients {
	c := awsconf.FromConfig(t.Config(accessKey), awsconf.Settings{Endpoint: t.URL})
	c.S3 = t.s3Client(accessKey)
	return c
}

func (t *Twin) s3Client(accessKey string) *s3.Client {
	if t.opts.S3Endpoint == "" {
		return s3.NewFromConfig(t.Config(accessKey), func(o *s3.Options) { o.UsePathStyle = true })
	}
	cfg := t.Config(accessKey)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(t.opts.S3AccessKey, t.opts.S3SecretKey, "")
	cfg.BaseEndpoint = aws.String(t.opts.S3Endpoint)
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// Env is the environment that points the AWS CLI, boto3 and cacheport's CLI at the twin.
func (t *Twin) Env() map[string]string {
	env := map[string]string{
		"AWS_ENDPOINT_URL":      t.URL,
		"AWS_ACCESS_KEY_ID":     OperatorKey,
		"AWS_SECRET_ACCESS_KEY": secretKey,
		"AWS_DEFAULT_REGION":    t.Region,
		"AWS_REGION":            t.Region,
	}
	if t.opts.S3Endpoint != "" {
		env["AWS_ENDPOINT_URL_S3"] = t.opts.S3Endpoint
	}
	return env
}

// setUpBucket creates the export bucket the way the template does: in the region, with
// ownership controls that allow ACLs, ElastiCache's grant (through grant-bucket-access's own
// code), versioning, EventBridge notifications, public access blocked and default encryption.
func (t *Twin) setUpBucket(ctx context.Context) error {
	c := t.s3Client(OperatorKey)
	in := &s3.CreateBucketInput{Bucket: aws.String(t.Bucket), ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred}
	if t.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(t.Region)}
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("create: %w", err)
		}
	}
	steps := []func() error{
		func() error {
			_, err := c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(t.Bucket),
				OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred}}}})
			return err
		},
		func() error {
			if _, ok := t.Faults.Active("no-grant", ""); ok {
				return nil
			}
			if t.S3 == nil {
				// A real S3-compatible server has no ElastiCache canonical user to grant to
				// (versitygw refuses unknown grantees): remoteBucket keeps the grant itself.
				return nil
			}
			// The grant-bucket-access custom resource's own code, under its own identity.
			_, err := grant.New(t.s3Client(GrantFunction)).Ensure(ctx, t.Bucket, t.Region)
			return err
		},
		func() error {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(t.Bucket),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			return err
		},
		func() error {
			_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(t.Bucket),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true),
					IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		},
		func() error {
			if t.S3 == nil {
				return nil // a real server's notifications are not the twin's to raise
			}
			_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(t.Bucket),
				NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}})
			return err
		},
	}
	for _, step := range steps {
		err := step()
		var ae smithy.APIError
		if err != nil && t.S3 == nil && errors.As(err, &ae) && ae.ErrorCode() == "NotImplemented" {
			continue // a real S3-compatible server may lack a setting AWS has (public access block)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Functions lists the functions running in process (template logical ids).
func (t *Twin) Functions() []string { return append([]string(nil), t.funcs...) }

// Step moves the twin on once at the clock's present reading: due snapshot and export
// transitions, due schedules, then every event that is due until the functions are idle
// (events delayed by the delay-events fault wait for the clock).
func (t *Twin) Step(ctx context.Context) error {
	if err := t.EC.Tick(ctx); err != nil {
		return err
	}
	if _, err := t.Router.Fire(ctx, t.Clock.Now()); err != nil {
		return err
	}
	return t.Router.Settle(ctx)
}

// Advance moves the clock by d in steps of at most step, stepping the twin after each.
func (t *Twin) Advance(ctx context.Context, d, step time.Duration) error {
	for d > 0 {
		s := min(step, d)
		t.Clock.Advance(s)
		d -= s
		if err := t.Step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the listener, the router and the caches' servers.
func (t *Twin) Close() error {
	var errs []error
	if t.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if err := t.srv.Shutdown(ctx); err != nil {
			errs = append(errs, t.srv.Close())
		}
		cancel()
	} else if t.ln != nil {
		errs = append(errs, t.ln.Close())
	}
	if t.Router != nil {
		t.Router.Close()
	}
	if t.EC != nil {
		errs = append(errs, t.EC.Close())
	}
	return errors.Join(errs...)
}

// remoteBucket is core.Bucket over a real S3-compatible server: ElastiCache's writes go there,
// and since such a server raises no EventBridge events, the twin raises Object Created itself.
// Such a server knows no ElastiCache canonical user, so the grant is the twin's to keep.
type remoteBucket struct {
	s3      *s3.Client
	events  core.EventSink
	clock   core.Clock
	granted bool
}

func (b *remoteBucket) BucketRegion(ctx context.Context, bucket string) (string, bool, error) {
	out, err := b.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil {
		var nb *s3types.NoSuchBucket
		if errors.As(err, &nb) || strings.Contains(err.Error(), "NoSuchBucket") {
			return "", false, nil
		}
		return "", false, err
	}
	r := string(out.LocationConstraint)
	if r == "" {
		r = "us-east-1"
	}
	return r, true, nil
}

func (b *remoteBucket) ElastiCacheGranted(context.Context, string) (bool, error) {
	return b.granted, nil
}

func (b *remoteBucket) ObjectExists(ctx context.Context, bucket, key string) (bool, error) {
	_, err := b.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nf *s3types.NotFound
		if errors.As(err, &nf) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (b *remoteBucket) PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	out, err := b.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(data)), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf(`{"version":"0","bucket":{"name":%q},"object":{"key":%q,"size":%d,"etag":%q,"sequencer":"%016X"},"request-id":"twin","requester":"elasticache.amazonaws.com","source-ip-address":"127.0.0.1","reason":"PutObject"}`,
		bucket, key, len(data), strings.Trim(aws.ToString(out.ETag), `"`), b.clock.Now().UnixNano())
	return b.events.Put(ctx, core.Event{Bus: "default", Source: "aws.s3", DetailType: "Object Created",
		Resources: []string{"arn:aws:s3:::" + bucket}, Detail: []byte(detail), Time: b.clock.Now()})
}

// envOf is a getenv over a function's template environment.
func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
