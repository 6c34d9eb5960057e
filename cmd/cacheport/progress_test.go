package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestProgressOnlyOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	r, stop := withProgress(strings.NewReader("abc"), &buf, "x", 3)
	b, _ := io.ReadAll(r)
	stop()
	if string(b) != "abc" || buf.Len() != 0 {
		t.Fatalf("read %q, drew %q into a non-terminal", b, buf.String())
	}
	if got := progressLine("verify f.rdb", 3<<20, 12<<20, 2*time.Second); got != "verify f.rdb  3.0 / 12.0 MiB   25%  2 MiB/s" {
		t.Fatalf("line %q", got)
	}
	if got := progressLine("stdin", 1<<20, 0, time.Second); got != "stdin  1.0 MiB  1 MiB/s" {
		t.Fatalf("line %q", got)
	}
}
