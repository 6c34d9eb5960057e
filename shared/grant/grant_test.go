package grant

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const ownerID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"

func user(id string, p types.Permission) types.Grant {
	return types.Grant{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(id)}, Permission: p}
}

func group(uri string, p types.Permission) types.Grant {
	return types.Grant{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(uri)}, Permission: p}
}

const logDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"

var (
	ownerFull = user(ownerID, types.PermissionFullControl)
	ecRead    = user(DefaultCanonicalUserID, types.PermissionRead)
	ecWrite   = user(DefaultCanonicalUserID, types.PermissionWrite)
	ecReadACP = user(DefaultCanonicalUserID, types.PermissionReadAcp)
)

func TestCanonicalUserID(t *testing.T) {
	tests := []struct {
		region, want string
		wantErr      bool
	}{
		{region: "us-east-1", want: DefaultCanonicalUserID},
		{region: "eu-west-1", want: DefaultCanonicalUserID},
		{region: "ap-east-1", want: DefaultCanonicalUserID},
		{region: "cn-north-1", want: ChinaCanonicalUserID},
		{region: "cn-northwest-1", want: ChinaCanonicalUserID},
		{region: "us-gov-west-1", want: GovCloudWestCanonicalUserID},
		{region: "us-gov-east-1", wantErr: true},
		{region: "us-iso-east-1", wantErr: true},
		{region: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			got, err := CanonicalUserID(tt.region)
			if tt.wantErr {
				if !errors.Is(err, ErrUnknownRegion) {
					t.Fatalf("CanonicalUserID(%q) = %q, %v; want ErrUnknownRegion", tt.region, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CanonicalUserID(%q) = %q, %v; want %q", tt.region, got, err, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	all := []types.Permission{types.PermissionRead, types.PermissionWrite, types.PermissionReadAcp}
	tests := []struct {
		name   string
		grants []types.Grant
		want   []types.Permission
	}{
		{name: "empty ACL", want: all},
		{name: "owner only", grants: []types.Grant{ownerFull}, want: all},
		{name: "all three", grants: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP}},
		{name: "all three in another order", grants: []types.Grant{ecReadACP, ecWrite, ecRead}},
		{name: "WRITE missing", grants: []types.Grant{ownerFull, ecRead, ecReadACP}, want: []types.Permission{types.PermissionWrite}},
		{name: "upper-case id still matches", grants: []types.Grant{
			user("540804C33A284A299D2547575CE1010F2312EF3DA9B3A053C8BC45BF233E4353", types.PermissionRead),
			ecWrite, ecReadACP}},
		{name: "FULL_CONTROL does not stand in", grants: []types.Grant{user(DefaultCanonicalUserID, types.PermissionFullControl)}, want: all},
		{name: "another user's grants do not count", grants: []types.Grant{
			user(ChinaCanonicalUserID, types.PermissionRead), user(ChinaCanonicalUserID, types.PermissionWrite),
			user(ChinaCanonicalUserID, types.PermissionReadAcp)}, want: all},
		{name: "WRITE_ACP is not READ_ACP", grants: []types.Grant{ecRead, ecWrite, user(DefaultCanonicalUserID, types.PermissionWriteAcp)},
			want: []types.Permission{types.PermissionReadAcp}},
		{name: "group grant is not the user", grants: []types.Grant{group(logDelivery, types.PermissionWrite), ecRead, ecReadACP},
			want: []types.Permission{types.PermissionWrite}},
		{name: "nil grantee is ignored", grants: []types.Grant{{Permission: types.PermissionRead}, ecWrite, ecReadACP},
			want: []types.Permission{types.PermissionRead}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Missing(tt.grants, DefaultCanonicalUserID); !slices.Equal(got, tt.want) {
				t.Fatalf("Missing = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name      string
		grants    []types.Grant
		want      []types.Grant
		wantAdded string
	}{
		{name: "owner only", grants: []types.Grant{ownerFull},
			want: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP}, wantAdded: "READ,WRITE,READ_ACP"},
		{name: "keeps other grants in order", grants: []types.Grant{ownerFull, group(logDelivery, types.PermissionWrite), ecWrite},
			want:      []types.Grant{ownerFull, group(logDelivery, types.PermissionWrite), ecWrite, ecRead, ecReadACP},
			wantAdded: "READ,READ_ACP"},
		{name: "complete ACL unchanged", grants: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP},
			want: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.grants)
			got, added := Add(tt.grants, DefaultCanonicalUserID)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Add = %s, want %s", show(got), show(tt.want))
			}
			if Names(added) != tt.wantAdded {
				t.Errorf("added = %q, want %q", Names(added), tt.wantAdded)
			}
			if !reflect.DeepEqual(tt.grants, before) {
				t.Errorf("Add modified its input: %s", show(tt.grants))
			}
			again, addedAgain := Add(got, DefaultCanonicalUserID)
			if len(addedAgain) != 0 || !reflect.DeepEqual(again, got) {
				t.Errorf("Add is not idempotent: second pass added %v: %s", addedAgain, show(again))
			}
		})
	}
}

func show(gs []types.Grant) string {
	s := ""
	for _, g := range gs {
		who := "<nil>"
		if g.Grantee != nil {
			who = aws.ToString(g.Grantee.ID) + aws.ToString(g.Grantee.URI)
		}
		s += "[" + who[:min(8, len(who))] + " " + string(g.Permission) + "]"
	}
	return s
}

// fakeS3 is an in-memory bucket ACL.
type fakeS3 struct {
	owner  *types.Owner
	grants []types.Grant
	getErr error
	putErr error
	puts   int
}

func (f *fakeS3) GetBucketAcl(_ context.Context, in *s3.GetBucketAclInput, _ ...func(*s3.Options)) (*s3.GetBucketAclOutput, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	return &s3.GetBucketAclOutput{Owner: f.owner, Grants: slices.Clone(f.grants)}, nil
}

func (f *fakeS3) PutBucketAcl(_ context.Context, in *s3.PutBucketAclInput, _ ...func(*s3.Options)) (*s3.PutBucketAclOutput, error) {
	if f.putErr != nil {
		return nil, f.putErr
	}
	if in.AccessControlPolicy == nil || in.AccessControlPolicy.Owner != f.owner {
		return nil, errors.New("fake: PutBucketAcl without the bucket's owner")
	}
	f.puts++
	f.grants = slices.Clone(in.AccessControlPolicy.Grants)
	return &s3.PutBucketAclOutput{}, nil
}

func TestGranterEnsure(t *testing.T) {
	owner := &types.Owner{ID: aws.String(ownerID)}
	boom := errors.New("boom")
	tests := []struct {
		name       string
		region     string
		grants     []types.Grant
		getErr     error
		putErr     error
		wantErr    error
		wantPuts   int
		wantGrants []types.Grant
		wantAdded  string
	}{
		{name: "new bucket", region: "us-east-1", grants: []types.Grant{ownerFull}, wantPuts: 1,
			wantGrants: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP}, wantAdded: "READ,WRITE,READ_ACP"},
		{name: "already granted: no write", region: "eu-west-1", grants: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP},
			wantGrants: []types.Grant{ownerFull, ecRead, ecWrite, ecReadACP}},
		{name: "china", region: "cn-north-1", grants: []types.Grant{ownerFull}, wantPuts: 1,
			wantGrants: []types.Grant{ownerFull, user(ChinaCanonicalUserID, types.PermissionRead),
				user(ChinaCanonicalUserID, types.PermissionWrite), user(ChinaCanonicalUserID, types.PermissionReadAcp)},
			wantAdded: "READ,WRITE,READ_ACP"},
		{name: "unknown region: nothing read", region: "us-gov-east-1", getErr: boom, wantErr: ErrUnknownRegion},
		{name: "get fails", region: "us-east-1", getErr: boom, wantErr: boom},
		{name: "put fails", region: "us-east-1", grants: []types.Grant{ownerFull}, putErr: boom, wantErr: boom,
			wantGrants: []types.Grant{ownerFull}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeS3{owner: owner, grants: tt.grants, getErr: tt.getErr, putErr: tt.putErr}
			g := New(f)
			res, err := g.Ensure(context.Background(), "bucket", tt.region)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Ensure error = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if f.puts != tt.wantPuts {
				t.Errorf("PutBucketAcl calls = %d, want %d", f.puts, tt.wantPuts)
			}
			if !reflect.DeepEqual(f.grants, tt.wantGrants) {
				t.Errorf("bucket grants = %s, want %s", show(f.grants), show(tt.wantGrants))
			}
			if tt.wantErr == nil && Names(res.Missing) != tt.wantAdded {
				t.Errorf("Result.Missing = %q, want %q", Names(res.Missing), tt.wantAdded)
			}
			if tt.wantErr != nil {
				return
			}
			// A second run (CloudFormation Update) finds everything and writes nothing.
			puts := f.puts
			res, err = g.Ensure(context.Background(), "bucket", tt.region)
			if err != nil || len(res.Missing) != 0 || f.puts != puts {
				t.Errorf("second Ensure = %+v, %v, %d more puts; want nothing to do", res, err, f.puts-puts)
			}
			check, err := g.Check(context.Background(), "bucket", tt.region)
			if err != nil || len(check.Missing) != 0 {
				t.Errorf("Check after Ensure = %+v, %v; want nothing missing", check, err)
			}
		})
	}
}

func TestGranterCheck(t *testing.T) {
	f := &fakeS3{owner: &types.Owner{ID: aws.String(ownerID)}, grants: []types.Grant{ownerFull, ecRead}}
	res, err := New(f).Check(context.Background(), "bucket", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if Names(res.Missing) != "WRITE,READ_ACP" || res.CanonicalUserID != DefaultCanonicalUserID {
		t.Errorf("Check = %+v, want WRITE,READ_ACP missing for the default user", res)
	}
	if f.puts != 0 {
		t.Errorf("Check wrote the ACL %d times", f.puts)
	}
}
