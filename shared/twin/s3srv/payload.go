package s3srv

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxObjectSize is S3's limit for one PUT (5 GiB).
const maxObjectSize = 5 << 30

// checksumAlgs are S3's additional checksums, as named in x-amz-checksum-NAME.
var checksumAlgs = []struct {
	name string // lower case, as in the header
	alg  string // as S3 names it in x-amz-checksum-algorithm
	new  func() hash.Hash
}{
	{"crc32", "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
	{"crc32c", "CRC32C", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	// The reflected NVMe polynomial, as crc64.MakeTable wants it (and the SDK uses).
	{"crc64nvme", "CRC64NVME", func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) }},
	{"sha1", "SHA1", sha1.New},
	{"sha256", "SHA256", sha256.New},
}

func checksumOf(alg string, data []byte) string {
	for _, a := range checksumAlgs {
		if a.alg == alg {
			h := a.new()
			h.Write(data)
			return base64.StdEncoding.EncodeToString(h.Sum(nil))
		}
	}
	return ""
}

// payload is a request body, decoded, with the checksum S3 keeps for it.
type payload struct {
	data        []byte
	checksumAlg string // CRC32, ... ; CRC64NVME computed by the twin when the client sent none
	checksum    string // base64
	sent        bool   // the client sent the checksum (so the response echoes it)
}

// readPayload reads the request body: plain, or aws-chunked (STREAMING-UNSIGNED-PAYLOAD-TRAILER,
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) with the chunk signatures skipped (the twin does
// not verify signatures) and trailing checksums read. It checks Content-MD5, a hex
// x-amz-content-sha256 and every x-amz-checksum-* sent in a header or trailer, as S3 does.
func readPayload(r *http.Request) (payload, error) {
	if r.ContentLength > maxObjectSize {
		return payload{}, errf(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	}
	sha := r.Header.Get("X-Amz-Content-Sha256")
	chunked := strings.HasPrefix(sha, "STREAMING-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
	var (
		data     []byte
		trailers map[string]string
		err      error
	)
	if chunked {
		data, trailers, err = decodeChunked(bufio.NewReader(io.LimitReader(r.Body, maxObjectSize+1<<20)))
		if err != nil {
			return payload{}, errf(400, "IncompleteBody", "The request body terminated unexpectedly: %v", err)
		}
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			if n, err := strconv.ParseInt(dl, 10, 64); err != nil || n != int64(len(data)) {
				return payload{}, errf(400, "IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length header")
			}
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r.Body, maxObjectSize))
		if err != nil {
			return payload{}, errf(400, "IncompleteBody", "The request body terminated unexpectedly: %v", err)
		}
		if r.ContentLength >= 0 && int64(len(data)) != r.ContentLength {
			return payload{}, errf(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
		}
		if len(sha) == 64 {
			sum := sha256.Sum256(data)
			if !strings.EqualFold(hex.EncodeToString(sum[:]), sha) {
				return payload{}, errf(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
			}
		}
	}
	if m := r.Header.Get("Content-MD5"); m != "" {
		want, err := base64.StdEncoding.DecodeString(m)
		if err != nil || len(want) != md5.Size {
			return payload{}, errf(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if sum := md5.Sum(data); !bytes.Equal(sum[:], want) {
			return payload{}, errf(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	p := payload{data: data}
	for _, a := range checksumAlgs {
		v := r.Header.Get("x-amz-checksum-" + a.name)
		if v == "" {
			v = trailers["x-amz-checksum-"+a.name]
		}
		if v == "" {
			continue
		}
		if got := checksumOf(a.alg, data); got != v {
			return payload{}, errf(400, "BadDigest", "The %s you specified did not match the calculated checksum.", a.alg)
		}
		p.checksumAlg, p.checksum, p.sent = a.alg, v, true
		break
	}
	if p.checksumAlg == "" {
		// S3 gives every new object a CRC64NVME checksum when the client sends none.
		p.checksumAlg, p.checksum = "CRC64NVME", checksumOf("CRC64NVME", data)
	}
	return p, nil
}

var errChunk = errors.New("malformed aws-chunked body")

// decodeChunked decodes an aws-chunked body: chunks "HEXSIZE[;chunk-signature=SIG]\r\nDATA\r\n",
// a final zero-size chunk, then optional trailer lines "name:value" and an empty line. It
// returns the data and the trailers by lower-case name.
func decodeChunked(br *bufio.Reader) ([]byte, map[string]string, error) {
	var out bytes.Buffer
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, nil, io.ErrUnexpectedEOF
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || n < 0 || int64(out.Len())+n > maxObjectSize {
			return nil, nil, errChunk
		}
		if n == 0 {
			break
		}
		if _, err := io.CopyN(&out, br, n); err != nil {
			return nil, nil, io.ErrUnexpectedEOF
		}
		if end, err := readLine(br); err != nil || end != "" {
			return nil, nil, errChunk
		}
	}
	trailers := map[string]string{}
	for {
		line, err := readLine(br)
		if err == io.EOF || (err == nil && line == "") {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, errChunk
		}
		trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out.Bytes(), trailers, nil
}

// readLine reads one line without its CRLF; io.EOF only when nothing at all was left.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	if err != nil {
		return "", err
	}
	if len(line) > 4096 {
		return "", errChunk
	}
	return strings.TrimRight(line, "\r\n"), nil
}
