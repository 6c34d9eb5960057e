package s3srv

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/cacheport/cacheport/shared/grant"
)

const (
	xsiNS          = "http://www.w3.org/2001/XMLSchema-instance"
	allUsers       = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsers      = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	logDeliveryURI = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// granteeOut is a grantee as S3 writes it, with its xsi:type attribute.
type granteeOut struct {
	XMLNSXSI     string `xml:"xmlns:xsi,attr"`
	Type         string `xml:"xsi:type,attr"`
	ID           string `xml:"ID,omitempty"`
	DisplayName  string `xml:"DisplayName,omitempty"`
	EmailAddress string `xml:"EmailAddress,omitempty"`
	URI          string `xml:"URI,omitempty"`
}

type grantOut struct {
	Grantee    granteeOut
	Permission string
}

type aclOut struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   ownerXML
	Grants  []grantOut `xml:"AccessControlList>Grant"`
}

// aclIn is an AccessControlPolicy as clients send it; the grantee's xsi:type is matched by
// its local name, whatever prefix the client bound the namespace to.
type aclIn struct {
	Owner  *ownerXML
	Grants []struct {
		Grantee struct {
			Type         string `xml:"type,attr"`
			ID           string
			EmailAddress string
			URI          string
		}
		Permission string
	} `xml:"AccessControlList>Grant"`
}

var permissions = map[string]bool{"FULL_CONTROL": true, "READ": true, "WRITE": true, "READ_ACP": true, "WRITE_ACP": true}

func (s *Store) writeACL(c *call, acl []aclGrant) {
	out := aclOut{Owner: s.owner()}
	for _, g := range acl {
		out.Grants = append(out.Grants, grantOut{Grantee: granteeOut{XMLNSXSI: xsiNS, Type: g.Type, ID: g.ID,
			EmailAddress: g.Email, URI: g.URI}, Permission: g.Permission})
	}
	writeXML(c.w, 200, out)
}

func (s *Store) getBucketACL(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	var acl []aclGrant
	if err == nil {
		acl = append(acl, b.acl...)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.writeACL(c, acl)
	return nil
}

// getObjectACL reports the owner's full control: objects carry no ACLs of their own here.
func (s *Store) getObjectACL(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	found := false
	if err == nil {
		if c.versionID != "" {
			v, _ := b.find(c.key, c.versionID)
			found = v != nil
		} else {
			found = b.current(c.key) != nil
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if !found {
		return errNoSuchKey()
	}
	s.writeACL(c, s.defaultACL())
	return nil
}

func (s *Store) putBucketACL(c *call) error {
	acl, set, err := s.aclFromHeaders(c.r)
	if err != nil {
		return err
	}
	if !set {
		var in aclIn
		if err := readXML(c, &in); err != nil {
			return err
		}
		if in.Owner == nil || in.Owner.ID == "" {
			return errMalformedACL()
		}
		if in.Owner.ID != s.opts.OwnerID {
			return errAccessDenied()
		}
		for _, g := range in.Grants {
			ge := g.Grantee
			if !permissions[g.Permission] {
				return errMalformedACL()
			}
			switch ge.Type {
			case "CanonicalUser":
				if ge.ID == "" {
					return errf(400, "InvalidArgument", "Invalid id")
				}
			case "Group":
				if ge.URI == "" {
					return errf(400, "InvalidArgument", "Invalid group uri")
				}
			case "AmazonCustomerByEmail":
				return errf(400, "UnresolvableGrantByEmailAddress", "The email address you provided does not match any account on record.")
			default:
				return errMalformedACL()
			}
			acl = append(acl, aclGrant{Type: ge.Type, ID: ge.ID, URI: ge.URI, Permission: g.Permission})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	if b.ownership == OwnershipEnforced && !s.ownerOnly(acl) {
		return errf(400, "AccessControlListNotSupported", "The bucket does not allow ACLs")
	}
	b.acl = acl
	c.w.WriteHeader(200)
	return nil
}

func errMalformedACL() *s3Error {
	return errf(400, "MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema")
}

// ownerOnly reports whether acl grants nothing but the owner's full control: the one ACL a
// bucket with BucketOwnerEnforced accepts.
func (s *Store) ownerOnly(acl []aclGrant) bool {
	for _, g := range acl {
		if g.Type != "CanonicalUser" || !strings.EqualFold(g.ID, s.opts.OwnerID) || g.Permission != "FULL_CONTROL" {
			return false
		}
	}
	return true
}

var grantHeaderRe = regexp.MustCompile(`(id|uri|emailAddress)\s*=\s*"?([^",]+)"?`)

// aclFromHeaders reads a canned ACL (x-amz-acl) or x-amz-grant-* headers; set is false when
// the request has neither.
func (s *Store) aclFromHeaders(r *http.Request) (acl []aclGrant, set bool, err error) {
	owner := aclGrant{Type: "CanonicalUser", ID: s.opts.OwnerID, Permission: "FULL_CONTROL"}
	if canned := r.Header.Get("x-amz-acl"); canned != "" {
		acl = []aclGrant{owner}
		switch canned {
		case "private", "bucket-owner-full-control":
		case "public-read":
			acl = append(acl, aclGrant{Type: "Group", URI: allUsers, Permission: "READ"})
		case "public-read-write":
			acl = append(acl, aclGrant{Type: "Group", URI: allUsers, Permission: "READ"},
				aclGrant{Type: "Group", URI: allUsers, Permission: "WRITE"})
		case "authenticated-read":
			acl = append(acl, aclGrant{Type: "Group", URI: authUsers, Permission: "READ"})
		case "log-delivery-write":
			acl = append(acl, aclGrant{Type: "Group", URI: logDeliveryURI, Permission: "WRITE"},
				aclGrant{Type: "Group", URI: logDeliveryURI, Permission: "READ_ACP"})
		default:
			return nil, false, errf(400, "InvalidArgument", "Invalid canned ACL %s", canned)
		}
		return acl, true, nil
	}
	for _, h := range []struct{ header, perm string }{
		{"x-amz-grant-full-control", "FULL_CONTROL"}, {"x-amz-grant-read", "READ"}, {"x-amz-grant-write", "WRITE"},
		{"x-amz-grant-read-acp", "READ_ACP"}, {"x-amz-grant-write-acp", "WRITE_ACP"},
	} {
		v := r.Header.Get(h.header)
		if v == "" {
			continue
		}
		set = true
		for _, m := range grantHeaderRe.FindAllStringSubmatch(v, -1) {
			g := aclGrant{Permission: h.perm}
			switch m[1] {
			case "id":
				g.Type, g.ID = "CanonicalUser", m[2]
			case "uri":
				g.Type, g.URI = "Group", m[2]
			default:
				return nil, false, errf(400, "UnresolvableGrantByEmailAddress", "The email address you provided does not match any account on record.")
			}
			acl = append(acl, g)
		}
	}
	return acl, set, nil
}

// GrantElastiCache adds whichever of READ, WRITE and READ_ACP for canonicalID bucket's ACL
// lacks, directly, as
// `cacheport doctor --fix` would with PutBucketAcl, refusing (like S3) when the bucket's Object
// Ownership is BucketOwnerEnforced. The error wraps ErrNoSuchBucket or reports the refusal.
func (s *Store) GrantElastiCache(bucket, canonicalID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return err
	}
	if b.ownership == OwnershipEnforced {
		return errf(400, "AccessControlListNotSupported", "The bucket does not allow ACLs")
	}
	for _, p := range grant.Missing(sdkGrants(b.acl), canonicalID) {
		b.acl = append(b.acl, aclGrant{Type: "CanonicalUser", ID: canonicalID, Permission: string(p)})
	}
	return nil
}

// SetOwnership sets bucket's Object Ownership (OwnershipEnforced, OwnershipPreferred,
// OwnershipWriter) directly. The error wraps ErrNoSuchBucket.
func (s *Store) SetOwnership(bucket, ownership string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return err
	}
	b.ownership = ownership
	return nil
}

func jsonValid(b []byte) bool {
	t := strings.TrimSpace(string(b))
	return strings.HasPrefix(t, "{") && json.Valid(b)
}

func sortBy[T any](s []T, key func(T) string) {
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}
