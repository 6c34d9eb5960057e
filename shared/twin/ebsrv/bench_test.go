package ebsrv

import (
	"context"
	"testing"
)

// BenchmarkPut routes S3 Object Created events through the real template's rules to two
// subscribers: the path every exported object takes in make bench.
func BenchmarkPut(b *testing.B) {
	tmpl, err := LoadTemplate(templatePath, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := NewRouter(tmpl, Options{})
	defer r.Close()
	subscribe(r, verifyExport, cleanupExport)
	ctx := context.Background()
	detail := s3Detail(defaultBucket, "cacheport/orders/orders-20261124-0300/a1/orders-20261124-0300-0001.rdb")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := r.Put(ctx, coreS3Event(detail)); err != nil {
			b.Fatal(err)
		}
		// Keep the queue under MaxQueue, as the functions' pace would.
		if n++; n%1000 == 0 {
			if err := r.Drain(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Drain(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPatternMatch matches the template's S3 rule against an event.
func BenchmarkPatternMatch(b *testing.B) {
	p := MustCompilePattern(`{"source":["aws.s3"],"detail-type":["Object Created"],
		"detail":{"bucket":{"name":["b"]},"object":{"key":[{"prefix":"cacheport/"},{"prefix":"cacheport-"}]}}}`)
	ev := []byte(s3Event("b", "cacheport/orders/x/a1/x-0001.rdb"))
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if !p.Match(ev) {
			b.Fatal("no match")
		}
	}
}
