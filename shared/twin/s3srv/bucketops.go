package s3srv

import (
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"time"
)

// timeFormat is how S3 writes times in XML.
const timeFormat = "2006-01-02T15:04:05.000Z"

func xmlTime(t time.Time) string { return t.UTC().Format(timeFormat) }

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func (s *Store) owner() ownerXML { return ownerXML{ID: s.opts.OwnerID} }

// bucketOf returns the call's bucket; the caller holds s.mu.
func (s *Store) bucketOf(c *call) (*bucket, error) {
	b := s.buckets[c.bucket]
	if b == nil {
		return nil, errNoSuchBucket()
	}
	return b, nil
}

func (s *Store) listBuckets(c *call) error {
	type entry struct {
		Name         string
		CreationDate string
		BucketRegion string
	}
	type result struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		Owner   ownerXML
		Buckets []entry `xml:"Buckets>Bucket"`
	}
	s.mu.Lock()
	res := result{Owner: s.owner()}
	prefix, region := c.q.Get("prefix"), c.q.Get("bucket-region")
	for _, b := range s.buckets {
		if !strings.HasPrefix(b.name, prefix) || (region != "" && b.region != region) {
			continue
		}
		res.Buckets = append(res.Buckets, entry{Name: b.name, CreationDate: xmlTime(b.created), BucketRegion: b.region})
	}
	s.mu.Unlock()
	sortBy(res.Buckets, func(e entry) string { return e.Name })
	writeXML(c.w, 200, res)
	return nil
}

var bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func validBucketName(n string) bool {
	return bucketNameRe.MatchString(n) && !strings.Contains(n, "..") &&
		!regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`).MatchString(n)
}

func (s *Store) createBucketOp(c *call) error {
	if !validBucketName(c.bucket) {
		return errf(400, "InvalidBucketName", "The specified bucket is not valid.")
	}
	var cfg struct {
		LocationConstraint string
	}
	p, err := readPayload(c.r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(p.data))) > 0 {
		if err := xml.Unmarshal(p.data, &cfg); err != nil {
			return errMalformedXML()
		}
	}
	if cfg.LocationConstraint == DefaultRegion {
		return errf(400, "InvalidLocationConstraint", "The specified location-constraint is not valid")
	}
	ownership := c.r.Header.Get("x-amz-object-ownership")
	switch ownership {
	case "", OwnershipEnforced, OwnershipPreferred, OwnershipWriter:
	default:
		return errf(400, "InvalidArgument", "Invalid x-amz-object-ownership header: %s", ownership)
	}
	acl, aclSet, err := s.aclFromHeaders(c.r)
	if err != nil {
		return err
	}
	if aclSet && (ownership == "" || ownership == OwnershipEnforced) && !s.ownerOnly(acl) {
		return errf(400, "InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[c.bucket] != nil {
		return errf(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	}
	b := s.createBucket(c.bucket, cfg.LocationConstraint, ownership)
	if aclSet {
		b.acl = acl
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.w.WriteHeader(200)
	return nil
}

func (s *Store) headBucket(c *call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-bucket-region", b.region)
	c.w.WriteHeader(200)
	return nil
}

func (s *Store) deleteBucket(c *call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	if len(b.objects) > 0 {
		return errf(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	delete(s.buckets, b.name)
	c.w.WriteHeader(204)
	return nil
}

func (s *Store) getBucketLocation(c *call) error {
	type result struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		Region  string   `xml:",chardata"`
	}
	s.mu.Lock()
	b, err := s.bucketOf(c)
	var region string
	if err == nil {
		region = b.region
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if region == DefaultRegion {
		region = "" // S3 reports us-east-1 as the empty constraint
	}
	writeXML(c.w, 200, result{Region: region})
	return nil
}

type versioningXML struct {
	XMLName   xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

func (s *Store) getBucketVersioning(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	var st string
	if err == nil {
		st = b.versioning
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	writeXML(c.w, 200, versioningXML{Status: st})
	return nil
}

func (s *Store) putBucketVersioning(c *call) error {
	var in struct{ Status string } // whatever namespace the client used, or none
	if err := readXML(c, &in); err != nil {
		return err
	}
	if in.Status != "Enabled" && in.Status != "Suspended" {
		return errMalformedXML()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	b.versioning = in.Status
	c.w.WriteHeader(200)
	return nil
}

// Ownership controls.

type ownershipXML struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ OwnershipControls"`
	Rules   []struct {
		ObjectOwnership string
	} `xml:"Rule"`
}

func (s *Store) getOwnership(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	var o string
	if err == nil {
		o = b.ownership
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if o == "" {
		return errf(404, "OwnershipControlsNotFoundError", "The bucket ownership controls were not found")
	}
	var out ownershipXML
	out.Rules = append(out.Rules, struct{ ObjectOwnership string }{o})
	writeXML(c.w, 200, out)
	return nil
}

func (s *Store) putOwnership(c *call) error {
	var in struct {
		Rules []struct{ ObjectOwnership string } `xml:"Rule"`
	}
	if err := readXML(c, &in); err != nil {
		return err
	}
	if len(in.Rules) != 1 {
		return errMalformedXML()
	}
	o := in.Rules[0].ObjectOwnership
	switch o {
	case OwnershipEnforced, OwnershipPreferred, OwnershipWriter:
	default:
		return errMalformedXML()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	if o == OwnershipEnforced && !s.ownerOnly(b.acl) {
		return errf(400, "InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	b.ownership = o
	c.w.WriteHeader(200)
	return nil
}

func (s *Store) deleteOwnership(c *call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	b.ownership = ""
	c.w.WriteHeader(204)
	return nil
}

// Settings S3 stores and returns: public access block, default encryption, policy,
// notification configuration.

type setting struct {
	root     string // the XML root element; "" for the JSON policy
	def      string // inner XML of a new bucket's setting; "" when a new bucket has none
	notFound func() *s3Error
}

var settings = map[string]setting{
	"PublicAccessBlock": {root: "PublicAccessBlockConfiguration",
		// Blocked by default on buckets created since April 2023.
		def: "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>" +
			"<BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>",
		notFound: func() *s3Error {
			return errf(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
		}},
	"BucketEncryption": {root: "ServerSideEncryptionConfiguration",
		// SSE-S3 by default since January 2023.
		def: "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>" +
			"<BucketKeyEnabled>false</BucketKeyEnabled></Rule>",
		notFound: func() *s3Error {
			return errf(404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
		}},
	"BucketPolicy": {notFound: func() *s3Error {
		return errf(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
	}},
	"BucketNotificationConfiguration": {root: "NotificationConfiguration"},
}

// settingName is the call's setting: its operation without Get, Put or Delete.
func settingName(op string) string {
	for _, p := range []string{"Get", "Put", "Delete"} {
		if strings.HasPrefix(op, p) {
			return op[len(p):]
		}
	}
	return op
}

func (s *Store) getSetting(c *call) error {
	name := settingName(c.op)
	st := settings[name]
	s.mu.Lock()
	b, err := s.bucketOf(c)
	var val string
	var ok bool
	if err == nil {
		val, ok = b.settings[name]
		if _, deleted := b.settings["-"+name]; !ok && !deleted && st.def != "" {
			val, ok = st.def, true
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if st.root == "" { // the policy: JSON as it was put
		if !ok {
			return st.notFound()
		}
		c.w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(c.w, val)
		return nil
	}
	if !ok && st.notFound != nil {
		return st.notFound()
	}
	c.w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(c.w, xml.Header+"<"+st.root+` xmlns="`+s3NS+`">`+val+"</"+st.root+">")
	return nil
}

// rawXML captures a setting's root element and inner XML.
type rawXML struct {
	XMLName xml.Name
	Inner   string `xml:",innerxml"`
}

func (s *Store) putSetting(c *call) error {
	name := settingName(c.op)
	st := settings[name]
	p, err := readPayload(c.r)
	if err != nil {
		return err
	}
	val := string(p.data)
	eventBridge := false
	if st.root == "" {
		if !jsonValid(p.data) {
			return errf(400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
		}
	} else {
		var raw rawXML
		if err := xml.Unmarshal(p.data, &raw); err != nil || raw.XMLName.Local != st.root {
			return errMalformedXML()
		}
		val = strings.TrimSpace(raw.Inner)
		if name == "BucketNotificationConfiguration" {
			var n struct {
				EventBridge *struct{} `xml:"EventBridgeConfiguration"`
			}
			_ = xml.Unmarshal(p.data, &n)
			eventBridge = n.EventBridge != nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	b.settings[name] = val
	delete(b.settings, "-"+name)
	if name == "BucketNotificationConfiguration" {
		b.eventBridge = eventBridge
	}
	if name == "BucketPolicy" {
		c.w.WriteHeader(204)
	} else {
		c.w.WriteHeader(200)
	}
	return nil
}

func (s *Store) deleteSetting(c *call) error {
	name := settingName(c.op)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketOf(c)
	if err != nil {
		return err
	}
	delete(b.settings, name)
	if name == "PublicAccessBlock" {
		// Deleted, the block is gone; deleted default encryption is SSE-S3 again.
		b.settings["-"+name] = "deleted"
	}
	c.w.WriteHeader(204)
	return nil
}

// SetEventBridge turns S3's EventBridge notifications of bucket on or off directly, as
// PutBucketNotificationConfiguration with (or without) an EventBridgeConfiguration would. The
// error wraps ErrNoSuchBucket.
func (s *Store) SetEventBridge(bucket string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return err
	}
	b.eventBridge = on
	if on {
		b.settings["BucketNotificationConfiguration"] = "<EventBridgeConfiguration></EventBridgeConfiguration>"
	} else {
		delete(b.settings, "BucketNotificationConfiguration")
	}
	return nil
}

// SetVersioning sets bucket's versioning status ("Enabled" or "Suspended") directly. The error
// wraps ErrNoSuchBucket.
func (s *Store) SetVersioning(bucket, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucketLocked(bucket)
	if err != nil {
		return err
	}
	b.versioning = status
	return nil
}
