// Package grant gives Amazon ElastiCache the bucket access it needs to export snapshots to S3:
// the documented ACL grant of READ, WRITE and READ_ACP to ElastiCache's regional canonical user
// (AWS-FACTS.md, "What the bucket must allow").
//
// Missing is the pure check (used by the grant-bucket-access custom resource and by
// `cacheport doctor`); Granter reads and writes a bucket's ACL through a small S3 interface.
package grant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ElastiCache's canonical user ids, by partition (ElastiCache user guide, "Exporting a backup").
const (
	// DefaultCanonicalUserID is ElastiCache's canonical user in the commercial regions.
	DefaultCanonicalUserID = "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353"
	// ChinaCanonicalUserID is ElastiCache's canonical user in China (Beijing, Ningxia).
	ChinaCanonicalUserID = "b14d6a125bdf69854ed8ef2e71d8a20b7c490f252229b806e514966e490b8d83"
	// GovCloudWestCanonicalUserID is ElastiCache's canonical user in AWS GovCloud (US-West).
	GovCloudWestCanonicalUserID = "40fa568277ad703bd160f66ae4f83fc9dfdfd06c2f1b5060ca22442ac3ef8be6"
)

// Permissions are the three grants ElastiCache needs on the bucket, in the order Missing and
// Add report them: READ (list objects), WRITE (write objects), READ_ACP (read bucket
// permissions).
var Permissions = []types.Permission{types.PermissionRead, types.PermissionWrite, types.PermissionReadAcp}

// ErrUnknownRegion is returned by CanonicalUserID for a region whose ElastiCache canonical user
// AWS does not document (other GovCloud regions, the isolated partitions).
var ErrUnknownRegion = errors.New("no documented ElastiCache canonical user for this region")

// CanonicalUserID returns ElastiCache's canonical user id in region. China regions (cn-*) and
// GovCloud US-West have their own; every other commercial region uses DefaultCanonicalUserID
// (opt-in regions authorise ElastiCache by bucket policy instead, where the grant is harmless).
// The error wraps ErrUnknownRegion for an empty region, another GovCloud region or an isolated
// partition, where guessing would grant access to the wrong identity.
func CanonicalUserID(region string) (string, error) {
	switch {
	case region == "us-gov-west-1":
		return GovCloudWestCanonicalUserID, nil
	case strings.HasPrefix(region, "cn-"):
		return ChinaCanonicalUserID, nil
	case region == "", strings.HasPrefix(region, "us-gov-"), strings.HasPrefix(region, "us-iso"),
		strings.HasPrefix(region, "eu-isoe-"):
		return "", fmt.Errorf("region %q: %w", region, ErrUnknownRegion)
	default:
		return DefaultCanonicalUserID, nil
	}
}

// Missing reports which of Permissions grants lacks for the canonical user id, in the order of
// Permissions; it is empty when all three are there. Only the exact permissions count:
// FULL_CONTROL is not taken to stand in for them, because AWS documents the three (and its error
// names them), not FULL_CONTROL. Missing does not modify grants.
func Missing(grants []types.Grant, canonicalID string) []types.Permission {
	var missing []types.Permission
	for _, p := range Permissions {
		if !has(grants, canonicalID, p) {
			missing = append(missing, p)
		}
	}
	return missing
}

// Add returns a new slice holding grants, unchanged and in order (the owner's and everyone
// else's), followed by one grant to canonicalID for each permission Missing reports, and the
// permissions it added. Applied to its own result it adds nothing, so an update never
// duplicates a grant.
func Add(grants []types.Grant, canonicalID string) (out []types.Grant, added []types.Permission) {
	added = Missing(grants, canonicalID)
	out = make([]types.Grant, 0, len(grants)+len(added))
	out = append(out, grants...)
	for _, p := range added {
		out = append(out, types.Grant{
			Grantee:    &types.Grantee{Type: types.TypeCanonicalUser, ID: &canonicalID},
			Permission: p,
		})
	}
	return out, added
}

func has(grants []types.Grant, canonicalID string, p types.Permission) bool {
	for _, g := range grants {
		if g.Permission == p && g.Grantee != nil && g.Grantee.Type == types.TypeCanonicalUser &&
			g.Grantee.ID != nil && strings.EqualFold(*g.Grantee.ID, canonicalID) {
			return true
		}
	}
	return false
}

// aclAPI is the part of the S3 client a Granter calls.
type aclAPI interface {
	GetBucketAcl(ctx context.Context, in *s3.GetBucketAclInput, optFns ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
	PutBucketAcl(ctx context.Context, in *s3.PutBucketAclInput, optFns ...func(*s3.Options)) (*s3.PutBucketAclOutput, error)
}

var _ aclAPI = (*s3.Client)(nil)

// Granter checks and sets ElastiCache's grant on a bucket's ACL. Build it with New; it is safe
// for concurrent use when its client is, but two Ensure calls on one bucket race like any
// read-modify-write of an ACL (S3 offers no conditional ACL write).
type Granter struct {
	api aclAPI
}

// New returns a Granter that reads and writes ACLs through api (an *s3.Client in production).
func New(api aclAPI) *Granter { return &Granter{api: api} }

// Result is what Check or Ensure found: the canonical user for the region and the permissions
// that were missing (and, for Ensure, have been added). Missing is empty when the bucket already
// had all three.
type Result struct {
	CanonicalUserID string
	Missing         []types.Permission
}

// Check reads bucket's ACL and reports which of ElastiCache's grants for region are missing. It
// changes nothing. Errors wrap ErrUnknownRegion or the S3 error of GetBucketAcl.
func (g *Granter) Check(ctx context.Context, bucket, region string) (Result, error) {
	id, acl, err := g.read(ctx, bucket, region)
	if err != nil {
		return Result{}, err
	}
	return Result{CanonicalUserID: id, Missing: Missing(acl.Grants, id)}, nil
}

// Ensure reads bucket's ACL and, when any of ElastiCache's three grants for region is missing,
// writes the ACL back with them added: the owner and every other grant are kept, nothing is
// removed, and nothing is written when all three are there. Errors wrap ErrUnknownRegion or the
// S3 error of GetBucketAcl or PutBucketAcl (a bucket whose Object Ownership is "bucket owner
// enforced" refuses ACLs: AccessControlListNotSupported).
func (g *Granter) Ensure(ctx context.Context, bucket, region string) (Result, error) {
	id, acl, err := g.read(ctx, bucket, region)
	if err != nil {
		return Result{}, err
	}
	grants, added := Add(acl.Grants, id)
	res := Result{CanonicalUserID: id, Missing: added}
	if len(added) == 0 {
		return res, nil
	}
	_, err = g.api.PutBucketAcl(ctx, &s3.PutBucketAclInput{
		Bucket:              &bucket,
		AccessControlPolicy: &types.AccessControlPolicy{Owner: acl.Owner, Grants: grants},
	})
	if err != nil {
		return Result{}, fmt.Errorf("put acl of bucket %s (adding %s for ElastiCache): %w", bucket, Names(added), err)
	}
	return res, nil
}

// read returns the region's canonical user and the bucket's ACL.
func (g *Granter) read(ctx context.Context, bucket, region string) (string, *s3.GetBucketAclOutput, error) {
	id, err := CanonicalUserID(region)
	if err != nil {
		return "", nil, err
	}
	acl, err := g.api.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &bucket})
	if err != nil {
		return "", nil, fmt.Errorf("get acl of bucket %s: %w", bucket, err)
	}
	return id, acl, nil
}

// Names joins permissions with commas, e.g. "READ,WRITE"; it returns "" for none.
func Names(ps []types.Permission) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}
