package core

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestIdentityOf(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=StartExportFunction/20261124/us-east-1/elasticache/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	id, ok := IdentityOf(r)
	if !ok || id.AccessKey != "StartExportFunction" || id.Service != "elasticache" || id.Region != "us-east-1" {
		t.Fatalf("%+v %v", id, ok)
	}
	r = httptest.NewRequest("GET", "/b/k?X-Amz-Credential=AKID%2F20261124%2Feu-west-1%2Fs3%2Faws4_request", nil)
	if id, ok := IdentityOf(r); !ok || id.Service != "s3" || id.AccessKey != "AKID" {
		t.Fatalf("presigned: %+v %v", id, ok)
	}
	if _, ok := IdentityOf(httptest.NewRequest("GET", "/", nil)); ok {
		t.Fatal("an unsigned request has an identity")
	}
}

func TestFaults(t *testing.T) {
	f, err := ParseFaults([]string{"snapshot-fails=orders", "throttle", "deny=elasticache:CopySnapshot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Active("snapshot-fails", "orders"); !ok {
		t.Error("snapshot-fails=orders inactive for orders")
	}
	if _, ok := f.Active("snapshot-fails", "carts"); ok {
		t.Error("snapshot-fails=orders active for carts")
	}
	if _, ok := f.Active("throttle", "anything"); !ok {
		t.Error("throttle without a parameter must apply to everything")
	}
	if p, ok := f.Active("deny", "elasticache:CopySnapshot"); !ok || p != "elasticache:CopySnapshot" {
		t.Error("deny")
	}
	if _, err := ParseFaults([]string{"meteor-strike"}); err == nil {
		t.Error("unknown fault accepted")
	}
	var none *Faults
	if _, ok := none.Active("throttle", ""); ok {
		t.Error("nil faults active")
	}
}

func TestCallLogAndClock(t *testing.T) {
	var l CallLog
	l.Record(Call{Caller: "A", Service: "s3", Operation: "PutObject"})
	l.Record(Call{Caller: "A", Service: "s3", Operation: "PutObject"})
	l.Record(Call{Caller: "A", Service: "events", Operation: "PutEvents"})
	if ops := l.Operations()["A"]; len(ops) != 2 || ops[0] != "events:PutEvents" {
		t.Fatalf("%v", ops)
	}
	start := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	c := NewScaledClock(start, 1000)
	time.Sleep(10 * time.Millisecond)
	if d := c.Now().Sub(start); d < 9*time.Second {
		t.Fatalf("a 1000x clock moved %s in 10ms", d)
	}
	c.Advance(time.Hour)
	if c.Now().Sub(start) < time.Hour {
		t.Fatal("Advance did not move the clock")
	}
}
