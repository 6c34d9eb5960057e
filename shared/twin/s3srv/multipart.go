package s3srv

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// minPartSize is S3's minimum size of every part but the last (5 MiB).
const minPartSize = 5 << 20

func (s *Store) createUpload(c *call) error {
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	u := &upload{id: base64.RawURLEncoding.EncodeToString([]byte(randomID(48))), key: c.key, initiated: s.now(),
		initiator: c.caller, contentType: contentTypeOf(c.r.Header), meta: metaOf(c.r.Header), parts: map[int]*part{}}
	b.uploads[u.id] = u
	s.mu.Unlock()
	type result struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}
	if alg := c.r.Header.Get("x-amz-checksum-algorithm"); alg != "" {
		c.w.Header().Set("x-amz-checksum-algorithm", alg)
		c.w.Header().Set("x-amz-checksum-type", "COMPOSITE")
	}
	writeXML(c.w, 200, result{Bucket: c.bucket, Key: c.key, UploadID: u.id})
	return nil
}

// uploadOf returns the call's upload; the caller holds s.mu.
func (s *Store) uploadOf(c *call) (*bucket, *upload, error) {
	b, err := s.bucketOf(c)
	if err != nil {
		return nil, nil, err
	}
	u := b.uploads[c.q.Get("uploadId")]
	if u == nil || u.key != c.key {
		return nil, nil, errNoSuchUpload()
	}
	return b, u, nil
}

func (s *Store) uploadPart(c *call) error {
	n, err := strconv.Atoi(c.q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return errf(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	p, err := readPayload(c.r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	_, u, err := s.uploadOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	pt := &part{data: p.data, etag: md5Hex(p.data), modified: s.now()}
	u.parts[n] = pt
	s.mu.Unlock()
	c.w.Header().Set("ETag", `"`+pt.etag+`"`)
	if p.sent {
		c.w.Header().Set("x-amz-checksum-"+strings.ToLower(p.checksumAlg), p.checksum)
	}
	c.w.WriteHeader(200)
	return nil
}

func (s *Store) completeUpload(c *call) error {
	var in struct {
		Parts []struct {
			PartNumber int
			ETag       string
		} `xml:"Part"`
	}
	if err := readXML(c, &in); err != nil {
		return err
	}
	if len(in.Parts) == 0 {
		return errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	s.mu.Lock()
	b, u, err := s.uploadOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var data bytes.Buffer
	etags := make([]string, 0, len(in.Parts))
	sizes := make([]int64, 0, len(in.Parts))
	for i, ip := range in.Parts {
		if i > 0 && ip.PartNumber <= in.Parts[i-1].PartNumber {
			s.mu.Unlock()
			return errf(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
		}
		pt := u.parts[ip.PartNumber]
		if pt == nil || unquote(ip.ETag) != pt.etag {
			s.mu.Unlock()
			return errf(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
		}
		if i < len(in.Parts)-1 && len(pt.data) < minPartSize {
			s.mu.Unlock()
			return errf(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
		}
		data.Write(pt.data)
		etags, sizes = append(etags, pt.etag), append(sizes, int64(len(pt.data)))
	}
	if err := writeConditions(c.r.Header, b.current(c.key)); err != nil {
		s.mu.Unlock()
		return err
	}
	v := &version{id: b.newVersionID(), data: data.Bytes(), etag: multipartETag(etags), modified: s.now(),
		contentType: u.contentType, meta: u.meta, parts: sizes}
	b.add(c.key, v)
	delete(b.uploads, u.id)
	ev := s.createdEvent(b, c.key, v, "CompleteMultipartUpload", c.id, "", c.ip)
	versioned := b.versioning != ""
	s.mu.Unlock()
	s.raise(c.r.Context(), ev)
	if versioned {
		c.w.Header().Set("x-amz-version-id", v.id)
	}
	type result struct {
		XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}
	loc := "http://" + c.r.Host + "/" + c.bucket + "/" + c.key
	writeXML(c.w, 200, result{Location: loc, Bucket: c.bucket, Key: c.key, ETag: `"` + v.etag + `"`})
	return nil
}

func (s *Store) abortUpload(c *call) error {
	s.mu.Lock()
	b, u, err := s.uploadOf(c)
	if err == nil {
		delete(b.uploads, u.id)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type initiatorXML struct {
	ID          string
	DisplayName string `xml:",omitempty"`
}

func (s *Store) listUploads(c *call) error {
	p, err := s.params(c, "max-uploads")
	if err != nil {
		return err
	}
	keyMarker, idMarker := c.q.Get("key-marker"), c.q.Get("upload-id-marker")
	type entry struct {
		Key          string
		UploadID     string `xml:"UploadId"`
		Initiator    initiatorXML
		Owner        ownerXML
		StorageClass string
		Initiated    string
	}
	type result struct {
		XMLName            xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
		Bucket             string
		KeyMarker          string
		UploadIDMarker     string `xml:"UploadIdMarker"`
		NextKeyMarker      string `xml:",omitempty"`
		NextUploadIDMarker string `xml:"NextUploadIdMarker,omitempty"`
		Prefix             string
		Delimiter          string `xml:",omitempty"`
		MaxUploads         int
		EncodingType       string `xml:",omitempty"`
		IsTruncated        bool
		Uploads            []entry `xml:"Upload"`
		CommonPrefixes     []commonPrefix
	}
	res := result{Bucket: c.bucket, KeyMarker: p.enc(keyMarker), UploadIDMarker: idMarker, Prefix: p.enc(p.prefix),
		Delimiter: p.enc(p.delimiter), MaxUploads: p.maxKeys}
	if p.encode {
		res.EncodingType = "url"
	}
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var us []*upload
	for _, u := range b.uploads {
		if strings.HasPrefix(u.key, p.prefix) {
			us = append(us, u)
		}
	}
	sort.Slice(us, func(i, j int) bool {
		if us[i].key != us[j].key {
			return us[i].key < us[j].key
		}
		return us[i].initiated.Before(us[j].initiated) || (us[i].initiated.Equal(us[j].initiated) && us[i].id < us[j].id)
	})
	seen := map[string]bool{}
	skipping := keyMarker != ""
	for _, u := range us {
		if skipping {
			if u.key < keyMarker || (u.key == keyMarker && (idMarker == "" || u.id != idMarker)) {
				continue
			}
			skipping = false
			if u.key == keyMarker {
				continue // the marker upload itself
			}
		}
		g := p.group(u.key)
		if g != "" && seen[g] {
			continue
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == p.maxKeys {
			res.IsTruncated = p.maxKeys > 0
			break
		}
		if g != "" {
			seen[g] = true
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: p.enc(g)})
			continue
		}
		res.Uploads = append(res.Uploads, entry{Key: p.enc(u.key), UploadID: u.id, Initiator: initiatorXML{ID: u.initiator},
			Owner: s.owner(), StorageClass: "STANDARD", Initiated: xmlTime(u.initiated)})
		res.NextKeyMarker, res.NextUploadIDMarker = p.enc(u.key), u.id
	}
	s.mu.Unlock()
	writeXML(c.w, 200, res)
	return nil
}

func (s *Store) listParts(c *call) error {
	type entry struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
	}
	type result struct {
		XMLName     xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
		Bucket      string
		Key         string
		UploadID    string `xml:"UploadId"`
		Initiator   initiatorXML
		Owner       ownerXML
		IsTruncated bool
		Parts       []entry `xml:"Part"`
	}
	s.mu.Lock()
	_, u, err := s.uploadOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	res := result{Bucket: c.bucket, Key: c.key, UploadID: u.id, Initiator: initiatorXML{ID: u.initiator}, Owner: s.owner()}
	for n, pt := range u.parts {
		res.Parts = append(res.Parts, entry{PartNumber: n, LastModified: xmlTime(pt.modified), ETag: `"` + pt.etag + `"`, Size: int64(len(pt.data))})
	}
	s.mu.Unlock()
	sort.Slice(res.Parts, func(i, j int) bool { return res.Parts[i].PartNumber < res.Parts[j].PartNumber })
	writeXML(c.w, 200, res)
	return nil
}
