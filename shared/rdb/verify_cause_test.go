package rdb

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Callers tell damage kinds apart through Report.Cause, never through the message.
func TestReportCause(t *testing.T) {
	file := newWriter("REDIS0011").aux("redis-ver", "7.2.0").db(0).key(0, "k").str("value").end(true)
	rep, err := Verify(bytes.NewReader(file[:len(file)-20]))
	if err != nil || rep.Valid || !errors.Is(rep.Cause, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %+v %v", rep, err)
	}
	bad := append([]byte(nil), file...)
	bad[len(bad)-1] ^= 1
	rep, err = Verify(bytes.NewReader(bad))
	if err != nil || rep.Valid || !errors.Is(rep.Cause, ErrChecksum) {
		t.Fatalf("bad trailer: %+v %v", rep, err)
	}
	rep, _ = Verify(bytes.NewReader(file))
	if !rep.Valid || rep.Cause != nil {
		t.Fatalf("valid file: %+v", rep)
	}
}
