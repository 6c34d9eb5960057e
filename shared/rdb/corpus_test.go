package rdb

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cacheport/cacheport/internal/testenv"
)

// TestCorpus holds the verifier to expect.tsv: every public test file gets the verdict and key
// count given there; "either" files may be valid with warnings naming the empty keys, or invalid.
func TestCorpus(t *testing.T) {
	dir := filepath.Join(testenv.Shared(t), "testdata", "rdb")
	f, err := os.Open(filepath.Join(dir, "expect.tsv"))
	if err != nil {
		testenv.Missing(t, "the RDB corpus", "see ../shared/testdata/rdb/README.md")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 3 {
			continue
		}
		name, verdict, keys := cols[0], cols[1], cols[2]
		n++
		t.Run(name, func(t *testing.T) {
			fh, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			rep, err := Verify(fh)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			st, _ := fh.Stat()
			t.Logf("valid=%v keys=%d checksum=%s warnings=%q error=%s", rep.Valid, rep.Keys, rep.Checksum, rep.Warnings, rep.Error)
			switch verdict {
			case "1":
				if !rep.Valid {
					t.Fatalf("want valid, got error %s", rep.Error)
				}
				if rep.Bytes != st.Size() {
					t.Errorf("bytes = %d, want %d", rep.Bytes, st.Size())
				}
			case "0":
				if rep.Valid {
					t.Fatalf("want invalid, got valid")
				}
				if rep.Offset == nil {
					t.Errorf("invalid without an offset")
				}
			case "either":
				if rep.Valid && len(rep.Warnings) == 0 {
					t.Fatalf("valid without warnings naming the empty keys")
				}
			}
			if keys != "-" {
				want, _ := strconv.ParseInt(keys, 10, 64)
				if rep.Keys != want {
					t.Errorf("keys = %d, want %d", rep.Keys, want)
				}
			}
		})
	}
	if n < 40 {
		t.Fatalf("expect.tsv listed %d files, want at least 40", n)
	}
}
