package s3srv

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
)

// listParams are the common parameters of the List operations.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	encode            bool // encoding-type=url
}

func (s *Store) params(c *call, maxName string) (listParams, error) {
	p := listParams{prefix: c.q.Get("prefix"), delimiter: c.q.Get("delimiter"), maxKeys: 1000}
	if mk := c.q.Get(maxName); mk != "" {
		n, err := strconv.Atoi(mk)
		if err != nil || n < 0 {
			return p, errf(400, "InvalidArgument", "Provided %s not an integer or within integer range", maxName)
		}
		p.maxKeys = min(n, 1000)
	}
	switch et := c.q.Get("encoding-type"); et {
	case "":
	case "url":
		p.encode = true
	default:
		return p, errf(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	return p, nil
}

// enc url-encodes a name when the client asked for encoding-type=url.
func (p listParams) enc(s string) string {
	if !p.encode {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// group returns the common prefix key falls under, or "" when it is listed itself.
func (p listParams) group(key string) string {
	if p.delimiter == "" {
		return ""
	}
	rest := key[len(p.prefix):]
	if i := strings.Index(rest, p.delimiter); i >= 0 {
		return p.prefix + rest[:i+len(p.delimiter)]
	}
	return ""
}

type commonPrefix struct {
	Prefix string
}

type objectEntry struct {
	Key          string
	LastModified string
	ETag         string
	ChecksumAlg  string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType string `xml:"ChecksumType,omitempty"`
	Size         int64
	Owner        *ownerXML `xml:"Owner,omitempty"`
	StorageClass string
}

// listItem is one entry of a listing: an object, or a common prefix.
type listItem struct {
	key    string // the key, or the common prefix
	prefix bool
	v      *version
}

// listCurrent walks the bucket's current objects after marker (a key or common prefix),
// collecting up to max items; truncated says more remained. The caller holds s.mu.
func listCurrent(b *bucket, p listParams, after string, max int) (items []listItem, truncated bool) {
	if max == 0 {
		return nil, false // S3 lists nothing and says nothing more is there
	}
	lastPrefix := ""
	for _, k := range b.sortedKeys() {
		if !strings.HasPrefix(k, p.prefix) || k <= after {
			continue
		}
		v := b.current(k)
		if v == nil {
			continue
		}
		it := listItem{key: k, v: v}
		if g := p.group(k); g != "" {
			if g == lastPrefix || g <= after {
				continue
			}
			lastPrefix = g
			it = listItem{key: g, prefix: true}
		}
		if len(items) == max {
			return items, true
		}
		items = append(items, it)
	}
	return items, false
}

func (s *Store) entry(p listParams, it listItem, owner bool) objectEntry {
	e := objectEntry{Key: p.enc(it.key), LastModified: xmlTime(it.v.modified), ETag: `"` + it.v.etag + `"`,
		Size: int64(len(it.v.data)), StorageClass: "STANDARD"}
	if it.v.checksumAlg != "" && len(it.v.parts) == 0 {
		e.ChecksumAlg, e.ChecksumType = it.v.checksumAlg, "FULL_OBJECT"
	}
	if owner {
		o := s.owner()
		e.Owner = &o
	}
	return e
}

func (s *Store) listObjects(c *call) error {
	v2 := c.op == "ListObjectsV2"
	p, err := s.params(c, "max-keys")
	if err != nil {
		return err
	}
	type result struct {
		XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name                  string
		Prefix                string
		Marker                *string `xml:"Marker,omitempty"`
		ContinuationToken     string  `xml:",omitempty"`
		StartAfter            string  `xml:",omitempty"`
		KeyCount              *int    `xml:"KeyCount,omitempty"`
		MaxKeys               int
		Delimiter             string `xml:",omitempty"`
		EncodingType          string `xml:",omitempty"`
		IsTruncated           bool
		NextMarker            string `xml:",omitempty"`
		NextContinuationToken string `xml:",omitempty"`
		Contents              []objectEntry
		CommonPrefixes        []commonPrefix
	}
	res := result{Name: c.bucket, Prefix: p.enc(p.prefix), MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter)}
	if p.encode {
		res.EncodingType = "url"
	}
	after := ""
	if v2 {
		res.StartAfter = p.enc(c.q.Get("start-after"))
		after = c.q.Get("start-after")
		if tok := c.q.Get("continuation-token"); tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return errf(400, "InvalidArgument", "The continuation token provided is incorrect")
			}
			res.ContinuationToken = tok
			after = string(raw)
		}
	} else {
		marker := c.q.Get("marker")
		res.Marker = &marker
		after = marker
	}
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	items, truncated := listCurrent(b, p, after, p.maxKeys)
	owner := !v2 || c.q.Get("fetch-owner") == "true"
	for _, it := range items {
		if it.prefix {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: p.enc(it.key)})
		} else {
			res.Contents = append(res.Contents, s.entry(p, it, owner))
		}
	}
	s.mu.Unlock()
	res.IsTruncated = truncated
	if v2 {
		n := len(items)
		res.KeyCount = &n
		if truncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(items[len(items)-1].key))
		}
	} else if truncated && p.delimiter != "" {
		res.NextMarker = p.enc(items[len(items)-1].key)
	}
	writeXML(c.w, 200, res)
	return nil
}

func (s *Store) listObjectVersions(c *call) error {
	p, err := s.params(c, "max-keys")
	if err != nil {
		return err
	}
	keyMarker, idMarker := c.q.Get("key-marker"), c.q.Get("version-id-marker")
	if idMarker != "" && keyMarker == "" {
		return errf(400, "InvalidArgument", "A version-id marker cannot be specified without a key marker.")
	}
	type versionEntry struct {
		XMLName      xml.Name
		Key          string
		VersionID    string `xml:"VersionId"`
		IsLatest     bool
		LastModified string
		ETag         string `xml:",omitempty"`
		Size         *int64 `xml:"Size,omitempty"`
		StorageClass string `xml:",omitempty"`
		Owner        ownerXML
	}
	type result struct {
		XMLName             xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
		Name                string
		Prefix              string
		KeyMarker           string
		VersionIDMarker     string `xml:"VersionIdMarker"`
		NextKeyMarker       string `xml:",omitempty"`
		NextVersionIDMarker string `xml:"NextVersionIdMarker,omitempty"`
		MaxKeys             int
		Delimiter           string `xml:",omitempty"`
		EncodingType        string `xml:",omitempty"`
		IsTruncated         bool
		Entries             []versionEntry
		CommonPrefixes      []commonPrefix
	}
	res := result{Name: c.bucket, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker), VersionIDMarker: idMarker,
		MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter)}
	if p.encode {
		res.EncodingType = "url"
	}
	s.mu.Lock()
	b, err := s.bucketOf(c)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	count := 0
	lastKey, lastID := "", ""
	lastPrefix := ""
	full := func() bool {
		if count < p.maxKeys {
			return false
		}
		if count > 0 {
			res.IsTruncated = true
			res.NextKeyMarker, res.NextVersionIDMarker = p.enc(lastKey), lastID
		}
		return true
	}
keys:
	for _, k := range b.sortedKeys() {
		if !strings.HasPrefix(k, p.prefix) || k < keyMarker {
			continue
		}
		if g := p.group(k); g != "" {
			if g == lastPrefix || g <= keyMarker {
				continue
			}
			if full() {
				break
			}
			lastPrefix, lastKey, lastID = g, g, ""
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: p.enc(g)})
			count++
			continue
		}
		vs := b.objects[k]
		i := len(vs) - 1
		if k == keyMarker {
			if idMarker == "" {
				continue
			}
			// Resume after the marker version (versions run newest first).
			for i >= 0 && vs[i].id != idMarker {
				i--
			}
			if i < 0 {
				continue
			}
			i--
		}
		for ; i >= 0; i-- {
			if full() {
				break keys
			}
			v := vs[i]
			e := versionEntry{XMLName: xml.Name{Local: "Version"}, Key: p.enc(k), VersionID: v.id,
				IsLatest: i == len(vs)-1, LastModified: xmlTime(v.modified), Owner: s.owner()}
			if v.deleteMarker {
				e.XMLName.Local = "DeleteMarker"
			} else {
				size := int64(len(v.data))
				e.ETag, e.Size, e.StorageClass = `"`+v.etag+`"`, &size, "STANDARD"
			}
			res.Entries = append(res.Entries, e)
			lastKey, lastID = k, v.id
			count++
		}
	}
	s.mu.Unlock()
	writeXML(c.w, 200, res)
	return nil
}
