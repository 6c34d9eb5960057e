package s3srv

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// metaOf reads the x-amz-meta-* headers.
func metaOf(h http.Header) map[string]string {
	var m map[string]string
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-meta-") && len(v) > 0 {
			if m == nil {
				m = map[string]string{}
			}
			m[strings.TrimPrefix(lk, "x-amz-meta-")] = v[0]
		}
	}
	return m
}

func contentTypeOf(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "binary/octet-stream"
}

// unquote strips an ETag's quotes (and a weak prefix) for comparison.
func unquote(etag string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
}

// writeConditions checks a write's If-None-Match: * and If-Match: ETAG against the key's
// current object; the caller holds s.mu, so conditional writes to one bucket are serialised.
func writeConditions(h http.Header, cur *version) error {
	if inm := h.Get("If-None-Match"); inm != "" {
		if inm != "*" {
			return errf(501, "NotImplemented", "A header you provided implies functionality that is not implemented")
		}
		if cur != nil {
			return errPrecondition()
		}
	}
	if im := h.Get("If-Match"); im != "" {
		if cur == nil {
			return errNoSuchKey()
		}
		if im != "*" && unquote(im) != cur.etag {
			return errPrecondition()
		}
	}
	return nil
}

func (s *Store) putObject(c *call) error {
	p, err := readPayload(c.r)
	if err != nil {
		return err
	}
	if hasACLHeaders(c.r.Header) {
		if err := s.objectACLAllowed(c); err != nil {
			return err
		}
	}
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if err := writeConditions(c.r.Header, b.current(c.key)); err != nil {
		s.mu.Unlock()
		return err
	}
	v := &version{id: b.newVersionID(), data: p.data, etag: md5Hex(p.data), modified: s.now(),
		contentType: contentTypeOf(c.r.Header), meta: metaOf(c.r.Header), checksumAlg: p.checksumAlg, checksum: p.checksum}
	b.add(c.key, v)
	ev := s.createdEvent(b, c.key, v, "PutObject", c.id, "", c.ip)
	versioned := b.versioning != ""
	s.mu.Unlock()
	s.raise(c.r.Context(), ev)
	h := c.w.Header()
	h.Set("ETag", `"`+v.etag+`"`)
	if versioned {
		h.Set("x-amz-version-id", v.id)
	}
	if p.sent {
		h.Set("x-amz-checksum-"+strings.ToLower(p.checksumAlg), p.checksum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	h.Set("x-amz-server-side-encryption", "AES256")
	c.w.WriteHeader(200)
	return nil
}

func hasACLHeaders(h http.Header) bool {
	for k := range h {
		if lk := strings.ToLower(k); lk == "x-amz-acl" || strings.HasPrefix(lk, "x-amz-grant-") {
			return true
		}
	}
	return false
}

// objectACLAllowed refuses an object ACL other than the owner's on a bucket with ACLs disabled.
func (s *Store) objectACLAllowed(c *call) error {
	acl, _, err := s.aclFromHeaders(c.r)
	if err != nil {
		return err
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
	return nil
}

func (s *Store) copyObject(c *call) error {
	src := c.r.Header.Get("x-amz-copy-source")
	if u, err := url.PathUnescape(src); err == nil {
		src = u
	}
	srcPath, srcQuery, _ := strings.Cut(strings.TrimPrefix(src, "/"), "?")
	srcBucket, srcKey, ok := strings.Cut(srcPath, "/")
	if !ok || srcKey == "" {
		return errf(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	srcVersion := ""
	if q, err := url.ParseQuery(srcQuery); err == nil {
		srcVersion = q.Get("versionId")
	}
	action := "s3:GetObject"
	if srcVersion != "" {
		action = "s3:GetObjectVersion"
	}
	if err := s.deny(c, action); err != nil {
		return err
	}
	s.mu.Lock()
	sb := s.buckets[srcBucket]
	if sb == nil {
		s.mu.Unlock()
		return errNoSuchBucket()
	}
	var sv *version
	if srcVersion != "" {
		sv, _ = sb.find(srcKey, srcVersion)
		if sv == nil {
			s.mu.Unlock()
			return errf(404, "NoSuchVersion", "The specified version does not exist.")
		}
	} else if sv = sb.current(srcKey); sv == nil {
		s.mu.Unlock()
		return errNoSuchKey()
	}
	if sv.deleteMarker {
		s.mu.Unlock()
		return errf(400, "InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	if im := c.r.Header.Get("x-amz-copy-source-if-match"); im != "" && unquote(im) != sv.etag {
		s.mu.Unlock()
		return errPrecondition()
	}
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if err := writeConditions(c.r.Header, b.current(c.key)); err != nil {
		s.mu.Unlock()
		return err
	}
	replace := c.r.Header.Get("x-amz-metadata-directive") == "REPLACE"
	if srcBucket == c.bucket && srcKey == c.key && srcVersion == "" && !replace {
		s.mu.Unlock()
		return errf(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	v := &version{id: b.newVersionID(), data: sv.data, etag: sv.etag, modified: s.now(), contentType: sv.contentType,
		meta: sv.meta, checksumAlg: sv.checksumAlg, checksum: sv.checksum, parts: sv.parts}
	if len(sv.parts) > 0 {
		// A copy is stored in one piece: it gets a plain MD5 ETag and a fresh checksum.
		v.etag, v.parts, v.checksumAlg, v.checksum = md5Hex(v.data), nil, "CRC64NVME", checksumOf("CRC64NVME", v.data)
	}
	if replace {
		v.contentType, v.meta = contentTypeOf(c.r.Header), metaOf(c.r.Header)
	}
	b.add(c.key, v)
	ev := s.createdEvent(b, c.key, v, "CopyObject", c.id, "", c.ip)
	versioned, srcVersioned := b.versioning != "", sb.versioning != ""
	s.mu.Unlock()
	s.raise(c.r.Context(), ev)
	if versioned {
		c.w.Header().Set("x-amz-version-id", v.id)
	}
	if srcVersioned {
		c.w.Header().Set("x-amz-copy-source-version-id", sv.id)
	}
	type result struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
		ETag         string
		LastModified string
	}
	writeXML(c.w, 200, result{ETag: `"` + v.etag + `"`, LastModified: xmlTime(v.modified)})
	return nil
}

// byteRange parses a single-range "bytes=..." header against size; ok is false for no range.
func byteRange(h string, size int64) (start, end int64, ok bool, err error) {
	if h == "" {
		return 0, 0, false, nil
	}
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil // S3 ignores what it does not understand
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, nil
	}
	unsat := &s3Error{status: 416, code: "InvalidRange", message: "The requested range is not satisfiable",
		header: map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", size)}}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, unsat
		}
		return max(size-n, 0), size - 1, true, nil
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end = size - 1
	var err2 error
	if b != "" {
		end, err2 = strconv.ParseInt(b, 10, 64)
	}
	if err1 != nil || err2 != nil {
		return 0, 0, false, nil
	}
	if start >= size {
		return 0, 0, false, unsat
	}
	if end < start {
		return 0, 0, false, nil
	}
	return start, min(end, size-1), true, nil
}

func (s *Store) getObject(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var v *version
	if c.versionID != "" {
		v, _ = b.find(c.key, c.versionID)
		if v == nil {
			s.mu.Unlock()
			if b.versioning == "" && c.versionID != "null" {
				return errf(400, "InvalidArgument", "Invalid version id specified")
			}
			return errf(404, "NoSuchVersion", "The specified version does not exist.")
		}
		if v.deleteMarker {
			s.mu.Unlock()
			return &s3Error{status: 405, code: "MethodNotAllowed", message: "The specified method is not allowed against this resource.",
				header: map[string]string{"x-amz-delete-marker": "true", "x-amz-version-id": v.id,
					"Last-Modified": v.modified.Format(http.TimeFormat)}}
		}
	} else {
		v = b.latest(c.key)
		if v == nil {
			s.mu.Unlock()
			return errNoSuchKey()
		}
		if v.deleteMarker {
			s.mu.Unlock()
			e := errNoSuchKey()
			e.header = map[string]string{"x-amz-delete-marker": "true", "x-amz-version-id": v.id}
			return e
		}
	}
	versioned := b.versioning != ""
	s.mu.Unlock()

	h := c.w.Header()
	etag := `"` + v.etag + `"`
	lastMod := v.modified.Truncate(time.Second)
	size := int64(len(v.data))
	h.Set("ETag", etag)
	h.Set("Last-Modified", lastMod.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", v.contentType)
	h.Set("x-amz-server-side-encryption", "AES256")
	if versioned {
		h.Set("x-amz-version-id", v.id)
	}
	if len(v.parts) > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(len(v.parts)))
	}
	for k, val := range v.meta {
		h.Set("x-amz-meta-"+k, val)
	}
	for k, hk := range map[string]string{"response-content-type": "Content-Type", "response-content-disposition": "Content-Disposition",
		"response-content-encoding": "Content-Encoding", "response-cache-control": "Cache-Control"} {
		if val := c.q.Get(k); val != "" {
			h.Set(hk, val)
		}
	}

	// Conditional reads, in RFC 7232's order as S3 applies them.
	if im := c.r.Header.Get("If-Match"); im != "" {
		if im != "*" && unquote(im) != v.etag {
			return errPrecondition()
		}
	} else if ius := c.r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && lastMod.After(t) {
			return errPrecondition()
		}
	}
	if inm := c.r.Header.Get("If-None-Match"); inm != "" {
		if inm == "*" || unquote(inm) == v.etag {
			c.w.WriteHeader(http.StatusNotModified)
			return nil
		}
	} else if ims := c.r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !lastMod.After(t) {
			c.w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}

	start, end, ranged, err := byteRange(c.r.Header.Get("Range"), size)
	if err != nil {
		return err
	}
	if pn := c.q.Get("partNumber"); pn != "" && !ranged {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || (len(v.parts) == 0 && n != 1) || (len(v.parts) > 0 && n > len(v.parts)) {
			return errf(416, "InvalidPartNumber", "The requested partnumber is not satisfiable")
		}
		if len(v.parts) > 0 {
			for _, ps := range v.parts[:n-1] {
				start += ps
			}
			end, ranged = start+v.parts[n-1]-1, true
		}
	}
	body := v.data
	status := 200
	if ranged {
		body = v.data[start : end+1]
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
		status = http.StatusPartialContent
	} else if v.checksumAlg != "" && len(v.parts) == 0 && strings.EqualFold(c.r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		h.Set("x-amz-checksum-"+strings.ToLower(v.checksumAlg), v.checksum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(body)
	}
	return nil
}

// deleteOne deletes key (or one version of it) in b; the caller holds s.mu. It returns the
// version removed or the delete marker added (with versionID "", a delete marker is always
// added), or nil when there was nothing to delete.
func (s *Store) deleteOne(b *bucket, key, versionID string) (v *version, err error) {
	if versionID != "" {
		v, i := b.find(key, versionID)
		if v == nil {
			if b.versioning == "" && versionID != "null" {
				return nil, errf(400, "InvalidArgument", "Invalid version id specified")
			}
			return nil, nil // S3 answers 204 for a version that is not there
		}
		b.remove(key, i)
		return v, nil
	}
	if b.versioning == "" {
		cur := b.latest(key)
		if cur == nil {
			return nil, nil
		}
		b.remove(key, len(b.objects[key])-1)
		return cur, nil
	}
	dm := &version{id: b.newVersionID(), deleteMarker: true, modified: s.now()}
	b.add(key, dm)
	return dm, nil
}

func (s *Store) deleteObject(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if im := c.r.Header.Get("If-Match"); im != "" {
		cur := b.current(c.key)
		if cur == nil {
			s.mu.Unlock()
			return errNoSuchKey()
		}
		if unquote(im) != cur.etag {
			s.mu.Unlock()
			return errPrecondition()
		}
	}
	v, err := s.deleteOne(b, c.key, c.versionID)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var ev *pending
	if v != nil {
		ev = s.deletedEvent(b, c.key, v, c.versionID == "" && v.deleteMarker, c.id, "", c.ip)
	}
	versioned := b.versioning != ""
	s.mu.Unlock()
	s.raise(c.r.Context(), ev)
	if v != nil && (versioned || c.versionID != "") {
		c.w.Header().Set("x-amz-version-id", v.id)
		if v.deleteMarker {
			c.w.Header().Set("x-amz-delete-marker", "true")
		}
	}
	c.w.WriteHeader(204)
	return nil
}

func (s *Store) deleteObjects(c *call) error {
	var in struct {
		Quiet   bool
		Objects []struct {
			Key       string
			VersionID string `xml:"VersionId"`
		} `xml:"Object"`
	}
	err := readXML(c, &in)
	for _, o := range in.Objects {
		if o.VersionID != "" {
			c.versionID = o.VersionID
			break
		}
	}
	s.record(c)
	if err != nil {
		return err
	}
	if len(in.Objects) > 1000 {
		return errMalformedXML()
	}
	type deleted struct {
		Key                   string
		VersionID             string `xml:"VersionId,omitempty"`
		DeleteMarker          bool   `xml:",omitempty"`
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
	}
	type failed struct {
		Key       string
		VersionID string `xml:"VersionId,omitempty"`
		Code      string
		Message   string
	}
	type result struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
		Deleted []deleted
		Errors  []failed `xml:"Error"`
	}
	var res result
	var evs []*pending
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	for _, o := range in.Objects {
		action := "s3:DeleteObject"
		if o.VersionID != "" {
			action = "s3:DeleteObjectVersion"
		}
		if err := s.deny(c, action); err != nil {
			res.Errors = append(res.Errors, failed{Key: o.Key, VersionID: o.VersionID, Code: "AccessDenied", Message: "Access Denied"})
			continue
		}
		v, err := s.deleteOne(b, o.Key, o.VersionID)
		if e, ok := err.(*s3Error); ok {
			res.Errors = append(res.Errors, failed{Key: o.Key, VersionID: o.VersionID, Code: e.code, Message: e.message})
			continue
		}
		if v != nil {
			evs = append(evs, s.deletedEvent(b, o.Key, v, o.VersionID == "" && v.deleteMarker, c.id, "", c.ip))
		}
		if in.Quiet {
			continue
		}
		d := deleted{Key: o.Key, VersionID: o.VersionID}
		if v != nil && v.deleteMarker {
			d.DeleteMarker = true
			d.DeleteMarkerVersionID = v.id
		}
		res.Deleted = append(res.Deleted, d)
	}
	s.mu.Unlock()
	s.raise(c.r.Context(), evs...)
	writeXML(c.w, 200, res)
	return nil
}
