package rdb

import (
	"bytes"
	"testing"
	"testing/iotest"
)

// FuzzVerify feeds arbitrary bytes to the verifier. It must never panic or allocate without
// bound, the verdict must not depend on how the bytes arrive, and what it reports must be
// consistent with the input. Seeds are the test writer's files, valid and damaged.
func FuzzVerify(f *testing.F) {
	for _, c := range writerCases() {
		f.Add(c.file)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		small := func(o *Options) { o.MaxBlob = 1 << 20 }
		rep, err := Verify(bytes.NewReader(data), small)
		if err != nil {
			t.Fatalf("Verify on a bytes.Reader returned an I/O error: %v", err)
		}
		if rep.Bytes != int64(len(data)) || rep.SHA256 != sha256Hex(data) {
			t.Fatalf("bytes %d sha %s do not cover the %d-byte input", rep.Bytes, rep.SHA256, len(data))
		}
		if rep.Valid {
			if rep.Error != "" || rep.Offset != nil {
				t.Fatalf("valid with an error: %s", rep.Error)
			}
			var sum int64
			for _, n := range rep.KeysByDB {
				sum += n
			}
			if sum != rep.Keys || rep.Expires > rep.Keys {
				t.Fatalf("counts do not add up: %+v", rep)
			}
			switch rep.Checksum {
			case ChecksumOK, ChecksumDisabled, ChecksumNone:
			default:
				t.Fatalf("valid with checksum %q", rep.Checksum)
			}
		} else if rep.Offset == nil || *rep.Offset < 0 || *rep.Offset > int64(len(data)) {
			t.Fatalf("invalid without an offset inside the input: %+v", rep)
		}
		again, err := Verify(iotest.HalfReader(bytes.NewReader(data)), small)
		if err != nil || again.Valid != rep.Valid || again.Keys != rep.Keys || again.Error != rep.Error {
			t.Fatalf("verdict depends on how the bytes arrive: %+v vs %+v (%v)", rep, again, err)
		}
	})
}
