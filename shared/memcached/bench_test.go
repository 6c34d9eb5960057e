package memcached

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/mcdump"
)

// countingWriter counts the bytes of a dump without keeping them.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// peakHeap samples HeapInuse until stop is called and returns the highest sample.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// vmHWM returns the process's peak resident set (VmHWM) in bytes, or 0 where /proc is missing.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkDump1M loads 1,000,000 small keys (quiet pipelined meta sets) and dumps them,
// reporting keys/s, the dump's size, the peak Go heap in use during the dump and the
// process's peak RSS.
func BenchmarkDump1M(b *testing.B) {
	const keys = 1_000_000
	p := startMemcached(b)
	c := connect(b, p.Addr, Config{})
	t0 := time.Now()
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Minute))
	bw := bufio.NewWriterSize(c.nc, 1<<20)
	num := make([]byte, 0, 64)
	for i := 0; i < keys; i++ {
		num = append(num[:0], "ms bench:"...)
		num = strconv.AppendInt(num, int64(i), 10)
		_, _ = bw.Write(num)
		_, _ = bw.WriteString(" 16 F7 T3600 q\r\nvalue-0123456789\r\n")
	}
	_ = bw.Flush()
	c.sync()
	b.Logf("loaded %d keys in %v", keys, time.Since(t0).Round(time.Millisecond))

	b.ReportAllocs()
	b.ResetTimer()
	var st DumpStats
	var size int64
	var peak uint64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		stop := peakHeap()
		var cw countingWriter
		w, err := mcdump.NewWriter(&cw, mcdump.Header{Node: "bench", Created: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		st, err = Dump(context.Background(), Node{Addr: p.Addr}, w, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if h := stop(); h > peak {
			peak = h
		}
		size = cw.n
		if st.Dumped != keys {
			b.Fatalf("dumped %d of %d keys (%+v)", st.Dumped, keys, st)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(st.Dumped)/st.Duration.Seconds(), "keys/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(vmHWM())/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(size)/(1<<20), "dump-MiB")
	b.Logf("dumped %d keys in %v: %.0f keys/s, %.1f MiB dump, peak heap in use %.1f MiB, peak RSS %.1f MiB",
		st.Dumped, st.Duration.Round(time.Millisecond), float64(st.Dumped)/st.Duration.Seconds(),
		float64(size)/(1<<20), float64(peak)/(1<<20), float64(vmHWM())/(1<<20))
}

// BenchmarkVerify1M verifies a dump of 1,000,000 small keys made in memory.
func BenchmarkVerify1M(b *testing.B) {
	var buf bytes.Buffer
	w, err := mcdump.NewWriter(&buf, mcdump.Header{Node: "bench", Created: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	v := []byte("value-0123456789")
	for i := 0; i < 1_000_000; i++ {
		if err := w.Add(mcdump.Record{Key: "bench:" + strconv.Itoa(i), Flags: 7, Expiry: 1_800_000_000}, v); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := mcdump.Verify(bytes.NewReader(buf.Bytes()))
		if err != nil || !rep.Valid {
			b.Fatal(rep, err)
		}
	}
}
