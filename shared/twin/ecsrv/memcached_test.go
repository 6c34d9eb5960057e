package ecsrv

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/mcdump"
	"github.com/cacheport/cacheport/shared/memcached"
)

// TestMemcachedNodesAreRealProcesses: with MemcachedNodes, DescribeCacheClusters reports each
// node of a Memcached cluster at the address of a real, filled memcached, which dumps.
func TestMemcachedNodesAreRealProcesses(t *testing.T) {
	testenv.Tool(t, "memcached", "apt-get install memcached")
	r := newRig(t, func(o *Options) { o.MemcachedNodes, o.MemcachedKeys = true, 40 })
	r.add(Cache{ID: "memo", Kind: KindMemcached, Nodes: 2})
	ctx := context.Background()
	out, err := r.ec.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{CacheClusterId: aws.String("memo"), ShowCacheNodeInfo: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	nodes := out.CacheClusters[0].CacheNodes
	if len(nodes) != 2 {
		t.Fatalf("nodes %+v", nodes)
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		addr := net.JoinHostPort(aws.ToString(n.Endpoint.Address), strconv.Itoa(int(aws.ToInt32(n.Endpoint.Port))))
		if aws.ToString(n.Endpoint.Address) != "127.0.0.1" || seen[addr] {
			t.Fatalf("endpoint %s", addr)
		}
		seen[addr] = true
		w, err := mcdump.NewWriter(io.Discard, mcdump.Header{Node: aws.ToString(n.CacheNodeId), Created: r.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		st, err := memcached.Dump(ctx, memcached.Node{Name: aws.ToString(n.CacheNodeId), Addr: addr}, w, memcached.Options{SpoolDir: t.TempDir()})
		if err != nil || st.Dumped != 40 {
			t.Errorf("dump %s: %+v %v", addr, st, err)
		}
	}
	// The same processes answer the next describe.
	again, err := r.ec.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{ShowCacheNodeInfo: aws.Bool(true)})
	if err != nil || aws.ToInt32(again.CacheClusters[0].CacheNodes[0].Endpoint.Port) != aws.ToInt32(nodes[0].Endpoint.Port) {
		t.Errorf("second describe: %+v %v", again, err)
	}
}
