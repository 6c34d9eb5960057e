package grantaccess

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cacheport/cacheport/shared/grant"
)

const ownerID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"

// fakeS3 is one bucket's ACL; calls counts every S3 call.
type fakeS3 struct {
	bucket string
	owner  *types.Owner
	grants []types.Grant
	calls  int
	puts   int
}

func newFake() *fakeS3 {
	owner := &types.Owner{ID: aws.String(ownerID)}
	return &fakeS3{bucket: "exports", owner: owner, grants: []types.Grant{{
		Grantee:    &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(ownerID)},
		Permission: types.PermissionFullControl,
	}}}
}

func (f *fakeS3) GetBucketAcl(_ context.Context, in *s3.GetBucketAclInput, _ ...func(*s3.Options)) (*s3.GetBucketAclOutput, error) {
	f.calls++
	if aws.ToString(in.Bucket) != f.bucket {
		return nil, errors.New("fake: NoSuchBucket")
	}
	return &s3.GetBucketAclOutput{Owner: f.owner, Grants: slices.Clone(f.grants)}, nil
}

func (f *fakeS3) PutBucketAcl(_ context.Context, in *s3.PutBucketAclInput, _ ...func(*s3.Options)) (*s3.PutBucketAclOutput, error) {
	f.calls++
	f.puts++
	f.grants = slices.Clone(in.AccessControlPolicy.Grants)
	return &s3.PutBucketAclOutput{}, nil
}

// grantsOf lists the permissions the fake bucket grants to the canonical user id, in order.
func (f *fakeS3) grantsOf(id string) []types.Permission {
	var ps []types.Permission
	for _, g := range f.grants {
		if aws.ToString(g.Grantee.ID) == id {
			ps = append(ps, g.Permission)
		}
	}
	return ps
}

func event(rt cfn.RequestType, physicalID string, props map[string]any) cfn.Event {
	return cfn.Event{
		RequestType: rt, RequestID: "req-1", LogicalResourceID: "ElastiCacheBucketGrant",
		ResourceType: "Custom::ElastiCacheBucketGrant", PhysicalResourceID: physicalID,
		StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/cacheport/1", ResourceProperties: props,
	}
}

func TestHandle(t *testing.T) {
	ec := grant.DefaultCanonicalUserID
	full := []types.Permission{types.PermissionRead, types.PermissionWrite, types.PermissionReadAcp}
	tests := []struct {
		name       string
		events     []cfn.Event // handled in order against one bucket
		wantID     string      // physical id of the last event
		wantErr    any         // pointer to the error type wanted from the last event
		wantGrants map[string][]types.Permission
		wantPuts   int
		wantAdded  string // data Added of the last event
	}{
		{
			name:       "create adds the three grants and keeps the owner",
			events:     []cfn.Event{event(cfn.RequestCreate, "", map[string]any{"ServiceToken": "arn", "BucketName": "exports", "Region": "us-east-1"})},
			wantID:     PhysicalIDPrefix + "exports",
			wantGrants: map[string][]types.Permission{ownerID: {types.PermissionFullControl}, ec: full},
			wantPuts:   1, wantAdded: "READ,WRITE,READ_ACP",
		},
		{
			name: "update after create is idempotent and keeps the id",
			events: []cfn.Event{
				event(cfn.RequestCreate, "", map[string]any{"BucketName": "exports"}),
				event(cfn.RequestUpdate, PhysicalIDPrefix+"exports", map[string]any{"BucketName": "exports"}),
			},
			wantID:     PhysicalIDPrefix + "exports",
			wantGrants: map[string][]types.Permission{ownerID: {types.PermissionFullControl}, ec: full},
			wantPuts:   1, wantAdded: "",
		},
		{
			name: "delete after create leaves every grant and calls nothing",
			events: []cfn.Event{
				event(cfn.RequestCreate, "", map[string]any{"BucketName": "exports"}),
				event(cfn.RequestDelete, PhysicalIDPrefix+"exports", map[string]any{"BucketName": "exports"}),
			},
			wantID:     PhysicalIDPrefix + "exports",
			wantGrants: map[string][]types.Permission{ownerID: {types.PermissionFullControl}, ec: full},
			wantPuts:   1,
		},
		{
			name:       "region property picks the china user",
			events:     []cfn.Event{event(cfn.RequestCreate, "", map[string]any{"BucketName": "exports", "Region": "cn-north-1"})},
			wantID:     PhysicalIDPrefix + "exports",
			wantGrants: map[string][]types.Permission{ownerID: {types.PermissionFullControl}, grant.ChinaCanonicalUserID: full},
			wantPuts:   1, wantAdded: "READ,WRITE,READ_ACP",
		},
		{
			name:       "missing bucket name",
			events:     []cfn.Event{event(cfn.RequestCreate, "", map[string]any{"Region": "us-east-1"})},
			wantErr:    new(*PropertyError),
			wantGrants: map[string][]types.Permission{ownerID: {types.PermissionFullControl}},
		},
		{
			name:       "region not a string",
			events:     []cfn.Event{event(cfn.RequestCreate, "", map[string]any{"BucketName": "exports", "Region": 7})},
			wantErr:    new(*PropertyError),
			wantGrants: map[string][]types.Permission{ownerID: {types.PermissionFullControl}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			h := New(grant.New(f), "us-east-1", nil)
			var (
				id   string
				data map[string]any
				err  error
			)
			for _, ev := range tt.events {
				callsBefore := f.calls
				id, data, err = h.Handle(context.Background(), ev)
				if ev.RequestType == cfn.RequestDelete && f.calls != callsBefore {
					t.Errorf("delete made %d S3 calls, want none", f.calls-callsBefore)
				}
			}
			if tt.wantErr != nil {
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("Handle error = %v, want %T", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if tt.wantErr == nil && id != tt.wantID {
				t.Errorf("physical id = %q, want %q", id, tt.wantID)
			}
			for who, want := range tt.wantGrants {
				if got := f.grantsOf(who); !slices.Equal(got, want) {
					t.Errorf("grants of %.8s = %v, want %v", who, got, want)
				}
			}
			want := 0
			for _, ps := range tt.wantGrants {
				want += len(ps)
			}
			if len(f.grants) != want {
				t.Errorf("bucket has %d grants, want exactly %d", len(f.grants), want)
			}
			if f.puts != tt.wantPuts {
				t.Errorf("PutBucketAcl calls = %d, want %d", f.puts, tt.wantPuts)
			}
			if last := tt.events[len(tt.events)-1]; err == nil && last.RequestType != cfn.RequestDelete && data["Added"] != tt.wantAdded {
				t.Errorf("data Added = %v, want %q", data["Added"], tt.wantAdded)
			}
		})
	}
}

// TestLambdaWrap runs the handler the way main wires it and reads the response CloudFormation
// would receive.
func TestLambdaWrap(t *testing.T) {
	tests := []struct {
		name       string
		props      map[string]any
		wantStatus cfn.StatusType
		wantID     string
	}{
		{name: "success", props: map[string]any{"BucketName": "exports"}, wantStatus: cfn.StatusSuccess, wantID: PhysicalIDPrefix + "exports"},
		{name: "failure falls back to the request id", props: map[string]any{}, wantStatus: cfn.StatusFailed, wantID: "req-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got cfn.Response
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := json.Unmarshal(body, &got); err != nil {
					t.Errorf("response body %q: %v", body, err)
				}
			}))
			defer srv.Close()
			ev := event(cfn.RequestCreate, "", tt.props)
			ev.ResponseURL = srv.URL
			fn := cfn.LambdaWrap(New(grant.New(newFake()), "us-east-1", nil).Handle)
			if _, err := fn(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || got.PhysicalResourceID != tt.wantID {
				t.Errorf("response = %s %q (reason %q), want %s %q", got.Status, got.PhysicalResourceID, got.Reason, tt.wantStatus, tt.wantID)
			}
		})
	}
}
