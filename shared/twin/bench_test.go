package twin

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/iam"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

// BenchmarkWindowTick runs one window tick of start-export over many caches (metadata only, the
// twin's own RDB writer, no server processes), with API latency and throttling, and reports the
// tick's wall time, API calls per export and throttling retries. Tune it with
// CACHEPORT_BENCH_CACHES (default 1000), CACHEPORT_BENCH_LATENCY (default 2ms) and
// CACHEPORT_BENCH_THROTTLE_EVERY (default 10: every 10th ElastiCache call is throttled).
func BenchmarkWindowTick(b *testing.B) {
	n := envInt("CACHEPORT_BENCH_CACHES", 1000)
	every := envInt("CACHEPORT_BENCH_THROTTLE_EVERY", 10)
	latency, err := time.ParseDuration(envOr("CACHEPORT_BENCH_LATENCY", "2ms"))
	if err != nil {
		b.Fatal(err)
	}
	caches := make([]ecsrv.Cache, n)
	for i := range caches {
		caches[i] = ecsrv.Cache{ID: fmt.Sprintf("cache-%04d", i), Kind: ecsrv.KindReplicationGroup, Engine: "valkey", Replicas: 1}
	}
	for i := 0; i < b.N; i++ {
		tw, err := Start(context.Background(), Options{Template: "../../template.yaml", Start: t0, Caches: caches, Data: ecsrv.DataGenerated,
			Faults: []string{"throttle"}, APILatency: latency, ThrottleEvery: every})
		if err != nil {
			b.Fatal(err)
		}
		before := len(tw.Calls.Calls())
		t1 := time.Now()
		if err := tw.Router.FireNow(context.Background(), iam.StartExport, "window"); err != nil {
			b.Fatal(err)
		}
		if err := tw.Router.Settle(context.Background()); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(t1)
		calls := 0
		for _, c := range tw.Calls.Calls()[before:] {
			if c.Caller == iam.StartExport {
				calls++
			}
		}
		b.ReportMetric(wall.Seconds(), "tick-s")
		b.ReportMetric(float64(calls)/float64(n), "calls/export")
		b.ReportMetric(float64(tw.EC.ThrottledCalls()), "throttle-retries")
		_ = tw.Close()
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	n, err := strconv.Atoi(envOr(k, strconv.Itoa(def)))
	if err != nil {
		return def
	}
	return n
}
