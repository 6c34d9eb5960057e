package rdb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cacheport/cacheport/internal/testenv"
)

// bigFile is a writer-made file of several read buffers: many small keys around plain strings
// larger than a buffer, so that checkpoints fall before, inside and after refills.
func bigFile() []byte {
	w := newWriter("REDIS0011").aux("redis-ver", "7.2.0").db(0)
	pad := bytes.Repeat([]byte("v"), 90)
	for i := range 30000 {
		if i%10000 == 5000 {
			w.key(0, fmt.Sprintf("huge:%d", i)).blob(bytes.Repeat([]byte{byte(i)}, 3<<20/2))
		}
		if i == 20000 {
			w.db(7)
		}
		if i%3 == 0 {
			w.byte(opExpireTimeMS).u64(uint64(1900000000000 + i))
		}
		w.key(0, fmt.Sprintf("k:%d", i)).lzf(append([]byte(fmt.Sprintf("value:%d", i)), pad...))
	}
	return w.end(true)
}

// checkpointFiles returns the files to resume: the writer's files, a large writer-made file,
// the corpus (when CACHEPORT_SHARED is set) and a real redis-server file (when installed).
func checkpointFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{"big": bigFile()}
	for _, c := range writerCases() {
		files["writer/"+c.name] = c.file
	}
	if d := os.Getenv("CACHEPORT_SHARED"); d != "" || testenv.InCI() {
		dir := filepath.Join(testenv.Shared(t), "testdata", "rdb")
		f, err := os.Open(filepath.Join(dir, "expect.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) != 3 {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, cols[0]))
			if err != nil {
				t.Fatal(err)
			}
			files["corpus/"+cols[0]] = data
		}
		if len(files) < 40 {
			t.Fatalf("only %d files with the corpus", len(files))
		}
	}
	if testenv.InCI() || hasRedis() {
		r := testenv.StartRedis(t)
		populate(t, r)
		data, err := os.ReadFile(r.Save(t))
		if err != nil {
			t.Fatal(err)
		}
		files["redis-server"] = data
	}
	return files
}

// resumed verifies data in steps of every keys, each step starting from the JSON of the
// previous step's checkpoint and a reader over the file from its offset, as another process
// would. It returns the final Report and how many steps it took.
func resumed(t *testing.T, data []byte, every int64) (*Report, int) {
	t.Helper()
	var cp *Checkpoint
	for steps := 1; ; steps++ {
		from, at := int64(0), int64(0)
		if cp != nil {
			from, at = cp.ReadFrom, cp.Offset
		}
		n := int64(0)
		rep, next, err := VerifyFrom(bytes.NewReader(data[from:]), cp, func(int64) bool { n++; return n%every == 0 })
		if err != nil {
			t.Fatalf("step %d from offset %d: %v", steps, from, err)
		}
		if next == nil {
			return rep, steps
		}
		if next.Offset <= at || next.Offset > int64(len(data)) || next.ReadFrom > next.Offset || next.Offset-next.ReadFrom > 2*bufSize {
			t.Fatalf("step %d: checkpoint offset %d (read from %d) after starting at %d (file %d bytes)", steps, next.Offset, next.ReadFrom, at, len(data))
		}
		b, err := json.Marshal(next)
		if err != nil {
			t.Fatal(err)
		}
		cp = new(Checkpoint)
		if err := json.Unmarshal(b, cp); err != nil {
			t.Fatal(err)
		}
	}
}

// sameReport compares every field of two Reports (Cause by its message).
func sameReport(t *testing.T, got, want *Report) {
	t.Helper()
	g, w := *got, *want
	if (g.Cause == nil) != (w.Cause == nil) || (g.Cause != nil && g.Cause.Error() != w.Cause.Error()) {
		t.Errorf("cause %v, one pass %v", g.Cause, w.Cause)
	}
	g.Cause, w.Cause = nil, nil
	gv, wv := reflect.ValueOf(g), reflect.ValueOf(w)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s: resumed %#v, one pass %#v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

// TestResumeMatchesOnePass checkpoints every k-th key, resumes from the checkpoint's JSON with a
// reader from its offset, and wants the one-pass Report, field by field, for every file: valid,
// invalid (the damage lies after some checkpoint), truncated.
func TestResumeMatchesOnePass(t *testing.T) {
	files := checkpointFiles(t)
	resumedSome := false
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			want, err := Verify(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			for _, every := range []int64{1, 2, 7, 997} {
				if want.Keys/every > 300 {
					continue // a step per key of a large file costs a buffer each, and proves no more
				}
				got, steps := resumed(t, data, every)
				sameReport(t, got, want)
				if steps > 1 {
					resumedSome = true
				}
				if want.Valid && int64(steps) != want.Keys/every+1 {
					t.Errorf("every %d keys of %d: %d steps", every, want.Keys, steps)
				}
			}
		})
	}
	if !resumedSome {
		t.Fatal("no file was resumed at all")
	}
}

// TestCorruptionAfterCheckpoint damages a file past a checkpoint: the resumed pass finds it, with
// the one pass's verdict on the damaged file.
func TestCorruptionAfterCheckpoint(t *testing.T) {
	data := bigFile()
	n := 0
	_, cp, err := VerifyFrom(bytes.NewReader(data), nil, func(int64) bool { n++; return n == 12000 })
	if err != nil || cp == nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
		is     error
	}{
		{"value byte (checksum)", func(b []byte) []byte { b[len(b)-5000] ^= 0x20; return b }, ErrChecksum},
		{"type byte (structure)", func(b []byte) []byte { b[cp.Offset+200] = 0xfe; b[cp.Offset+201] = 0xc0; return b }, nil},
		{"truncated", func(b []byte) []byte { return b[:len(b)-3000] }, io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := c.damage(bytes.Clone(data))
			want, err := Verify(bytes.NewReader(bad))
			if err != nil || want.Valid {
				t.Fatalf("one pass over the damaged file: valid=%v %v", want.Valid, err)
			}
			got, next, err := VerifyFrom(bytes.NewReader(bad[cp.ReadFrom:]), cp, nil)
			if err != nil || next != nil {
				t.Fatalf("resume: %v %v", next, err)
			}
			if got.Valid {
				t.Fatal("damage after the checkpoint went unnoticed")
			}
			if c.is != nil && !errors.Is(got.Cause, c.is) {
				t.Errorf("cause %v, want %v", got.Cause, c.is)
			}
			sameReport(t, got, want)
		})
	}
}

// TestCheckpointOnlyBetweenKeys: a checkpoint can be taken only between keys, and a Reader resumed
// from one returns exactly the keys that the one pass returned after it; taking checkpoints does
// not disturb the Reader that takes them.
func TestCheckpointOnlyBetweenKeys(t *testing.T) {
	data := bigFile()
	type key struct {
		off     int64
		db      int
		name    string
		typ     Type
		expires int64
	}
	var all []key
	var cps []Checkpoint
	r := NewReader(bytes.NewReader(data))
	if _, err := r.Checkpoint(); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("checkpoint before the first key: %v, want ErrCheckpoint", err)
	}
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, key{e.Offset, e.DB, string(e.Key), e.Type, e.Expiry})
		if len(all)%1500 == 1 {
			cp, err := r.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			cps = append(cps, cp)
		}
	}
	if _, err := r.Checkpoint(); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("checkpoint after the end: %v, want ErrCheckpoint", err)
	}
	one, err := Verify(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if sum, size := r.Sum(); fmt.Sprintf("%x", sum) != one.SHA256 || size != int64(len(data)) || r.Checksum() != ChecksumOK {
		t.Errorf("a Reader taking checkpoints ends with %x %d %s, one pass %s %d ok", sum, size, r.Checksum(), one.SHA256, len(data))
	}
	rehashed := 0
	for _, cp := range cps {
		if cp.ReadFrom < cp.Offset {
			rehashed++
		}
	}
	if rehashed == 0 {
		t.Errorf("none of %d checkpoints resumes reading before its offset: SHA-256 state kept ahead of the parser is not exercised", len(cps))
	}
	for i, cp := range cps {
		start := i*1500 + 1
		rr, err := NewReaderAt(bytes.NewReader(data[cp.ReadFrom:]), cp)
		if err != nil {
			t.Fatal(err)
		}
		j := start
		for {
			e, err := rr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("resumed at %d: %v", cp.Offset, err)
			}
			if got := (key{e.Offset, e.DB, string(e.Key), e.Type, e.Expiry}); j >= len(all) || got != all[j] {
				t.Fatalf("resumed at %d: key %d is %+v, one pass %+v", cp.Offset, j, got, all[min(j, len(all)-1)])
			}
			j++
		}
		if j != len(all) {
			t.Errorf("resumed at %d: %d keys, want %d", cp.Offset, j-start, len(all)-start)
		}
		if sum, _ := rr.Sum(); fmt.Sprintf("%x", sum) != one.SHA256 || rr.Checksum() != ChecksumOK {
			t.Errorf("resumed at %d: sha %x checksum %s", cp.Offset, sum, rr.Checksum())
		}
	}
	bad := NewReader(bytes.NewReader(data[:5000]))
	for {
		if _, err := bad.Next(); err != nil {
			break
		}
	}
	if _, err := bad.Checkpoint(); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("checkpoint after an error: %v, want ErrCheckpoint", err)
	}
	bad.Close()
}

// TestBadCheckpoint refuses checkpoints no Reader could have made.
func TestBadCheckpoint(t *testing.T) {
	data := bigFile()
	n := 0
	_, good, err := VerifyFrom(bytes.NewReader(data), nil, func(int64) bool { n++; return n == 10 })
	if err != nil || good == nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Checkpoint){
		"dialect":    func(c *Checkpoint) { c.Dialect = "memcached" },
		"version":    func(c *Checkpoint) { c.Version = 99 },
		"offset":     func(c *Checkpoint) { c.Offset = 3 },
		"read from":  func(c *Checkpoint) { c.ReadFrom = c.Offset + 1 },
		"no state":   func(c *Checkpoint) { c.SHA256 = nil },
		"sha state":  func(c *Checkpoint) { c.SHA256 = []byte("not a state") },
		"warnings":   func(c *Checkpoint) { c.Warnings, c.NWarnings = []string{"a"}, 0 },
		"database":   func(c *Checkpoint) { c.Counts.KeysByDB = map[string]int64{"x": 1} },
		"keys count": func(c *Checkpoint) { c.Counts.Keys = -1 },
	} {
		cp := *good
		change(&cp)
		if _, _, err := VerifyFrom(bytes.NewReader(data[good.ReadFrom:]), &cp, nil); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: %v, want ErrCheckpoint", name, err)
		}
	}
	// A checkpoint resumed at the wrong place fails, never passes.
	if rep, _, err := VerifyFrom(bytes.NewReader(data[good.ReadFrom+1:]), good, nil); err != nil || rep.Valid {
		t.Errorf("resumed one byte off: %v %v", rep, err)
	}
}
