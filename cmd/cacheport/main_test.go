package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// rdbFile builds a small valid RDB (version 10, db 0 and db 2, one key with an expiry).
func rdbFile() []byte {
	b := []byte("REDIS0010")
	b = append(b, 0xfa, 9)
	b = append(b, "redis-ver"...)
	b = append(b, 6)
	b = append(b, "7.0.15"...)
	b = append(b, 0xfe, 0, 0, 1, 'k', 1, 'v')
	b = append(b, 0xfe, 2, 0xfc)
	b = binary.LittleEndian.AppendUint64(b, 4200000000000)
	b = append(b, 0, 2, 'k', '2', 0xc0, 7)
	b = append(b, 0xff)
	crc := ^crc64.Update(^uint64(0), crc64.MakeTable(0x95AC9329AC4BC9B5), b)
	return binary.LittleEndian.AppendUint64(b, crc)
}

// cli runs the CLI in process and returns its exit code, stdout and stderr.
func cli(t *testing.T, stdin []byte, s3 s3API, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if s3 != nil {
		e.newS3 = func(context.Context, *env) (s3API, error) { return s3, nil }
	}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

// fakeS3 serves objects by key.
type fakeS3 map[string][]byte

func (f fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	b, ok := f[aws.ToString(in.Key)]
	if !ok {
		return nil, fmt.Errorf("NotFound")
	}
	return &s3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(b))), ETag: aws.String(`"e"`)}, nil
}

func (f fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b := f[aws.ToString(in.Key)]
	var from, to int
	fmt.Sscanf(aws.ToString(in.Range), "bytes=%d-%d", &from, &to)
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b[from : to+1])), ContentLength: aws.Int64(int64(to - from + 1))}, nil
}

func TestVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.rdb")
	bad := filepath.Join(dir, "bad.rdb")
	os.WriteFile(good, rdbFile(), 0o644)
	damaged := rdbFile()
	damaged[len(damaged)-1] ^= 1
	os.WriteFile(bad, damaged, 0o644)
	s3 := fakeS3{"dump.rdb": rdbFile()}

	cases := []struct {
		name   string
		args   []string
		stdin  []byte
		code   int
		lines  int               // JSON lines on stdout, when --json
		valid  []bool            // per line
		stdout string            // substring, for human output
		field  map[string]string // JSON fields of the first line, as printed
	}{
		{name: "valid file", args: []string{"verify", "--json", good}, code: 0, lines: 1, valid: []bool{true},
			field: map[string]string{"dialect": `"redis"`, "rdb_version": "10", "checksum": `"ok"`, "keys": "2",
				"expires": "1", "keys_by_db": `{"0":1,"2":1}`, "databases": "[0,2]", "warnings": "[]"}},
		{name: "flags after the sources", args: []string{"verify", good, "--json"}, code: 0, lines: 1, valid: []bool{true}},
		{name: "global flag before the verb", args: []string{"--json", "verify", good}, code: 0, lines: 1, valid: []bool{true}},
		{name: "one invalid of two", args: []string{"verify", "--json", good, bad}, code: 1, lines: 2, valid: []bool{true, false}},
		{name: "stdin", args: []string{"verify", "--json", "-"}, stdin: rdbFile(), code: 0, lines: 1, valid: []bool{true},
			field: map[string]string{"source": `"-"`}},
		{name: "s3", args: []string{"verify", "--json", "--part-size", "7", "s3://bucket/dump.rdb"}, code: 0, lines: 1, valid: []bool{true},
			field: map[string]string{"source": `"s3://bucket/dump.rdb"`, "keys": "2"}},
		{name: "missing file is an I/O error", args: []string{"verify", "--json", good, filepath.Join(dir, "nope")}, code: 2, lines: 2, valid: []bool{true, false}},
		{name: "missing s3 object", args: []string{"verify", "--json", "s3://bucket/nope"}, code: 2, lines: 1, valid: []bool{false}},
		{name: "bad s3 url", args: []string{"verify", "s3://bucket"}, code: 2, stdout: "want s3://bucket/key"},
		{name: "human output", args: []string{"verify", good, bad}, code: 1, stdout: "VALID    " + good},
		{name: "human output names the problem", args: []string{"verify", bad}, code: 1, stdout: "checksum mismatch"},
		{name: "no sources", args: []string{"verify"}, code: 2},
		{name: "bad flag", args: []string{"verify", "--nope", good}, code: 2},
		{name: "bad budget", args: []string{"verify", "--parts", "0", good}, code: 2},
		{name: "unknown verb", args: []string{"frobnicate"}, code: 2},
		{name: "no verb", args: nil, code: 2},
		{name: "version", args: []string{"version"}, code: 0, stdout: "cacheport dev"},
		{name: "version json", args: []string{"version", "--json"}, code: 0, lines: 1},
		{name: "help", args: []string{"help"}, code: 0, stdout: "verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := cli(t, c.stdin, s3, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			if c.stdout != "" && !strings.Contains(out, c.stdout) {
				t.Errorf("stdout %q lacks %q", out, c.stdout)
			}
			if c.lines == 0 {
				return
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != c.lines {
				t.Fatalf("%d lines on stdout, want %d: %q", len(lines), c.lines, out)
			}
			for i, l := range lines {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal([]byte(l), &obj); err != nil {
					t.Fatalf("line %d is not JSON: %v: %s", i, err, l)
				}
				if i < len(c.valid) && string(obj["valid"]) != fmt.Sprint(c.valid[i]) {
					t.Errorf("line %d valid = %s, want %v: %s", i, obj["valid"], c.valid[i], l)
				}
				if i < len(c.valid) && !c.valid[i] && len(obj["error"]) == 0 {
					t.Errorf("line %d is not valid and has no error: %s", i, l)
				}
				if i == 0 {
					for k, v := range c.field {
						if string(obj[k]) != v {
							t.Errorf("%s = %s, want %s", k, obj[k], v)
						}
					}
				}
			}
		})
	}
}
