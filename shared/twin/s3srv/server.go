package s3srv

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/cacheport/cacheport/shared/twin/core"
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// call is one request being served.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	q         url.Values
	id        string // x-amz-request-id
	caller    string // access key id
	ip        string
	bucket    string
	key       string
	op        string // the SDK's operation name
	versionID string // the request's versionId, if any
	logged    bool   // recorded in the call log
}

// s3Error is an error S3 reports in its XML error shape.
type s3Error struct {
	status  int
	code    string
	message string
	header  map[string]string // extra response headers (x-amz-delete-marker, Content-Range)
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *s3Error {
	return &s3Error{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

var (
	errAccessDenied = func() *s3Error { return errf(403, "AccessDenied", "Access Denied") }
	errNoSuchBucket = func() *s3Error { return errf(404, "NoSuchBucket", "The specified bucket does not exist") }
	errNoSuchKey    = func() *s3Error { return errf(404, "NoSuchKey", "The specified key does not exist.") }
	errNoSuchUpload = func() *s3Error {
		return errf(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	errPrecondition = func() *s3Error {
		return errf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	errMalformedXML = func() *s3Error {
		return errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
)

// ServeHTTP serves S3's REST-XML API with path-style addressing. Every request is recorded in
// the call log; one without a SigV4 signature is refused with AccessDenied.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, q: r.URL.Query(), id: randomRequestID()}
	c.ip, _, _ = net.SplitHostPort(r.RemoteAddr)
	path := strings.TrimPrefix(r.URL.Path, "/")
	c.bucket, c.key, _ = strings.Cut(path, "/")
	c.versionID = c.q.Get("versionId")
	if c.op = c.operation(); c.op == "" {
		c.op = "Unsupported " + r.Method + " " + unsupportedName(c)
	}
	id, signed := core.IdentityOf(r)
	c.caller = id.AccessKey
	if c.op != "DeleteObjects" || !signed {
		s.record(c) // DeleteObjects records once it has read which versions it deletes
	}

	w.Header().Set("x-amz-request-id", c.id)
	w.Header().Set("x-amz-id-2", c.id+"/twin")
	w.Header().Set("Server", "AmazonS3")
	var err error
	switch {
	case !signed:
		err = errAccessDenied()
	case s.throttle():
		err = errf(503, "SlowDown", "Please reduce your request rate.")
	case r.Header.Get("x-amz-expected-bucket-owner") != "" && r.Header.Get("x-amz-expected-bucket-owner") != s.opts.AccountID:
		err = errAccessDenied()
	case s.wrongRegion(c, id.Region):
		err = &s3Error{status: 301, code: "PermanentRedirect",
			message: "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
			header:  map[string]string{"x-amz-bucket-region": s.regionOf(c.bucket)}}
	case strings.HasPrefix(c.op, "Unsupported"):
		err = errf(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented")
	default:
		err = s.deny(c, c.action())
		if err == nil {
			err = s.serve(c)
		}
	}
	if !c.logged {
		s.record(c)
	}
	if err != nil {
		s.writeError(c, err)
	}
}

// record adds the call to the call log, once.
func (s *Store) record(c *call) {
	if c.logged {
		return
	}
	c.logged = true
	s.opts.Log.Record(core.Call{Caller: c.caller, Service: "s3", Operation: c.op, Resource: c.resource()})
}

// wrongRegion reports whether StrictRegion refuses the call: signed for another region than
// its (existing) bucket's.
func (s *Store) wrongRegion(c *call, region string) bool {
	if !s.opts.StrictRegion || c.bucket == "" {
		return false
	}
	switch c.op {
	case "CreateBucket", "GetBucketLocation":
		return false
	}
	b := s.regionOf(c.bucket)
	return b != "" && region != b
}

func (s *Store) regionOf(bucket string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[bucket]; b != nil {
		return b.region
	}
	return ""
}

// throttle reports whether this call is refused by the throttle fault: every 5th call while it
// is active, so tests are repeatable and an SDK retrying three times always gets through.
func (s *Store) throttle() bool {
	// "s3" matches throttle without a parameter and throttle=s3, not throttle=CACHE_ID.
	if _, ok := s.opts.Faults.Active("throttle", "s3"); !ok {
		return false
	}
	return s.throttled.Add(1)%5 == 0
}

// deny refuses the call when a deny fault names its IAM action.
func (s *Store) deny(c *call, action string) error {
	if action == "" {
		return nil
	}
	if _, ok := s.opts.Faults.Active("deny", action); ok {
		return errAccessDenied()
	}
	return nil
}

// resource is what the call acted on: "bucket", "bucket/key", with "?versionId=ID" when it
// names a version (for DeleteObjects: the first version it names), so that the IAM mapper can
// tell DeleteObject from DeleteObjectVersion.
func (c *call) resource() string {
	res := c.bucket
	if c.key != "" {
		res += "/" + c.key
	}
	if c.versionID != "" {
		res += "?versionId=" + c.versionID
	}
	return res
}

// operation names the request's API operation as the SDK does; "" when the twin does not
// serve it.
func (c *call) operation() string {
	q, m := c.q, c.r.Method
	has := func(k string) bool { _, ok := q[k]; return ok }
	if c.bucket == "" {
		if m == http.MethodGet {
			return "ListBuckets"
		}
		return ""
	}
	if c.key == "" {
		for _, sub := range []struct{ q, name string }{
			{"versioning", "BucketVersioning"}, {"acl", "BucketAcl"},
			{"ownershipControls", "BucketOwnershipControls"}, {"publicAccessBlock", "PublicAccessBlock"},
			{"encryption", "BucketEncryption"}, {"policy", "BucketPolicy"},
			{"notification", "BucketNotificationConfiguration"},
		} {
			if !has(sub.q) {
				continue
			}
			switch m {
			case http.MethodGet:
				return "Get" + sub.name
			case http.MethodPut:
				return "Put" + sub.name
			case http.MethodDelete:
				if sub.name != "BucketVersioning" && sub.name != "BucketAcl" && sub.name != "BucketNotificationConfiguration" {
					return "Delete" + sub.name
				}
			}
			return ""
		}
		switch m {
		case http.MethodGet:
			switch {
			case has("location"):
				return "GetBucketLocation"
			case has("versions"):
				return "ListObjectVersions"
			case has("uploads"):
				return "ListMultipartUploads"
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			case unsupportedSub(q):
				return ""
			}
			return "ListObjects"
		case http.MethodPut:
			if unsupportedSub(q) {
				return ""
			}
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			if unsupportedSub(q) {
				return ""
			}
			return "DeleteBucket"
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects"
			}
		}
		return ""
	}
	switch m {
	case http.MethodGet:
		switch {
		case has("acl"):
			return "GetObjectAcl"
		case has("uploadId"):
			return "ListParts"
		case unsupportedSub(q):
			return ""
		}
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		switch {
		case has("uploadId") && c.r.Header.Get("x-amz-copy-source") == "":
			return "UploadPart"
		case has("acl"), has("uploadId"), unsupportedSub(q):
			return ""
		case c.r.Header.Get("x-amz-copy-source") != "":
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodDelete:
		if has("uploadId") {
			return "AbortMultipartUpload"
		}
		if unsupportedSub(q) {
			return ""
		}
		return "DeleteObject"
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload"
		case has("uploadId"):
			return "CompleteMultipartUpload"
		}
	}
	return ""
}

// unsupportedName describes an unsupported request for the call log: its subresources.
func unsupportedName(c *call) string {
	var subs []string
	for k := range c.q {
		if unsupportedSub(url.Values{k: nil}) {
			subs = append(subs, k)
		}
	}
	sort.Strings(subs)
	return "?" + strings.Join(subs, "&")
}

// unsupportedSub reports a subresource query the twin does not serve (tagging, lifecycle, ...),
// so that such a request is refused rather than taken for a plain GET or PUT.
func unsupportedSub(q url.Values) bool {
	for k := range q {
		switch k {
		case "x-id", "prefix", "delimiter", "marker", "max-keys", "encoding-type", "list-type",
			"continuation-token", "start-after", "fetch-owner", "versionId", "partNumber",
			"response-content-type", "response-content-disposition", "response-content-encoding",
			"response-cache-control", "response-content-language", "response-expires",
			"max-buckets", "bucket-region", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
			"X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
			"x-amz-checksum-mode":
		default:
			return true
		}
	}
	return false
}

// action is the IAM action S3 authorises the call by.
func (c *call) action() string {
	versioned := c.versionID != ""
	switch c.op {
	case "ListBuckets":
		return "s3:ListAllMyBuckets"
	case "HeadBucket", "ListObjects", "ListObjectsV2":
		return "s3:ListBucket"
	case "ListObjectVersions":
		return "s3:ListBucketVersions"
	case "ListMultipartUploads":
		return "s3:ListBucketMultipartUploads"
	case "ListParts":
		return "s3:ListMultipartUploadParts"
	case "GetObject", "HeadObject":
		if versioned {
			return "s3:GetObjectVersion"
		}
		return "s3:GetObject"
	case "GetObjectAcl":
		if versioned {
			return "s3:GetObjectVersionAcl"
		}
		return "s3:GetObjectAcl"
	case "PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload":
		return "s3:PutObject"
	case "AbortMultipartUpload":
		return "s3:AbortMultipartUpload"
	case "DeleteObject":
		if versioned {
			return "s3:DeleteObjectVersion"
		}
		return "s3:DeleteObject"
	case "DeleteObjects":
		return "" // authorised per object
	case "GetBucketEncryption":
		return "s3:GetEncryptionConfiguration"
	case "PutBucketEncryption", "DeleteBucketEncryption":
		return "s3:PutEncryptionConfiguration"
	case "GetPublicAccessBlock":
		return "s3:GetBucketPublicAccessBlock"
	case "PutPublicAccessBlock", "DeletePublicAccessBlock":
		return "s3:PutBucketPublicAccessBlock"
	case "GetBucketNotificationConfiguration":
		return "s3:GetBucketNotification"
	case "PutBucketNotificationConfiguration":
		return "s3:PutBucketNotification"
	case "DeleteBucketOwnershipControls":
		return "s3:PutBucketOwnershipControls"
	}
	return "s3:" + c.op // CreateBucket, GetBucketAcl, PutBucketVersioning, GetBucketPolicy, ...
}

// serve dispatches to the operation.
func (s *Store) serve(c *call) error {
	switch c.op {
	case "ListBuckets":
		return s.listBuckets(c)
	case "CreateBucket":
		return s.createBucketOp(c)
	case "HeadBucket":
		return s.headBucket(c)
	case "DeleteBucket":
		return s.deleteBucket(c)
	case "GetBucketLocation":
		return s.getBucketLocation(c)
	case "GetBucketVersioning":
		return s.getBucketVersioning(c)
	case "PutBucketVersioning":
		return s.putBucketVersioning(c)
	case "GetBucketAcl":
		return s.getBucketACL(c)
	case "PutBucketAcl":
		return s.putBucketACL(c)
	case "GetBucketOwnershipControls":
		return s.getOwnership(c)
	case "PutBucketOwnershipControls":
		return s.putOwnership(c)
	case "DeleteBucketOwnershipControls":
		return s.deleteOwnership(c)
	case "GetPublicAccessBlock", "GetBucketEncryption", "GetBucketPolicy", "GetBucketNotificationConfiguration":
		return s.getSetting(c)
	case "PutPublicAccessBlock", "PutBucketEncryption", "PutBucketPolicy", "PutBucketNotificationConfiguration":
		return s.putSetting(c)
	case "DeletePublicAccessBlock", "DeleteBucketEncryption", "DeleteBucketPolicy":
		return s.deleteSetting(c)
	case "ListObjects", "ListObjectsV2":
		return s.listObjects(c)
	case "ListObjectVersions":
		return s.listObjectVersions(c)
	case "ListMultipartUploads":
		return s.listUploads(c)
	case "PutObject":
		return s.putObject(c)
	case "CopyObject":
		return s.copyObject(c)
	case "GetObject", "HeadObject":
		return s.getObject(c)
	case "GetObjectAcl":
		return s.getObjectACL(c)
	case "DeleteObject":
		return s.deleteObject(c)
	case "DeleteObjects":
		return s.deleteObjects(c)
	case "CreateMultipartUpload":
		return s.createUpload(c)
	case "UploadPart":
		return s.uploadPart(c)
	case "CompleteMultipartUpload":
		return s.completeUpload(c)
	case "AbortMultipartUpload":
		return s.abortUpload(c)
	case "ListParts":
		return s.listParts(c)
	}
	return errf(501, "NotImplemented", "not implemented")
}

type errorBody struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	BucketName string `xml:",omitempty"`
	Key        string `xml:",omitempty"`
	Resource   string
	RequestID  string `xml:"RequestId"`
	HostID     string `xml:"HostId"`
}

func (s *Store) writeError(c *call, err error) {
	var e *s3Error
	if !errors.As(err, &e) {
		e = errf(500, "InternalError", "We encountered an internal error. Please try again. (%v)", err)
	}
	for k, v := range e.header {
		c.w.Header().Set(k, v)
	}
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(e.status)
		return
	}
	body := errorBody{Code: e.code, Message: e.message, Resource: c.r.URL.Path, RequestID: c.id, HostID: c.id + "/twin"}
	switch e.code {
	case "NoSuchBucket", "BucketAlreadyOwnedByYou", "BucketNotEmpty", "NoSuchBucketPolicy":
		body.BucketName = c.bucket
	case "NoSuchKey":
		body.Key = c.key
	}
	writeXML(c.w, e.status, body)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

// readXML decodes a request body (aws-chunked or plain) into v.
func readXML(c *call, v any) error {
	p, err := readPayload(c.r)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(p.data, v); err != nil {
		return errMalformedXML()
	}
	return nil
}

func randomRequestID() string {
	const hexUpper = "0123456789ABCDEF"
	b := []byte(randomID(16))
	for i := range b {
		b[i] = hexUpper[int(b[i])%16]
	}
	return string(b)
}
