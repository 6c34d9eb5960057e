package ecsrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os/exec"
	"sync"

	"github.com/cacheport/cacheport/shared/twin/rdbgen"
)

// DataSource yields one shard's data as an RDB file, read at snapshot time. Implementations
// must be safe for concurrent use.
type DataSource interface {
	RDB(ctx context.Context) ([]byte, error)
}

// DataFunc adapts a function to DataSource.
type DataFunc func(ctx context.Context) ([]byte, error)

// RDB calls f.
func (f DataFunc) RDB(ctx context.Context) ([]byte, error) { return f(ctx) }

// Generated is a DataSource writing files with rdbgen: the same Options give the same bytes.
type Generated struct {
	Options rdbgen.Options
}

// RDB generates the file.
func (g Generated) RDB(context.Context) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := rdbgen.Generate(&buf, g.Options); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// capture reads every shard's data of c.
func (s *Server) capture(ctx context.Context, c *cache) ([][]byte, error) {
	s.mu.Lock()
	srcs := make([]DataSource, len(c.sources))
	for i := range srcs {
		if c.sources[i] == nil {
			c.sources[i] = s.defaultSource(c, i+1)
		}
		srcs[i] = c.sources[i]
	}
	s.mu.Unlock()
	out := make([][]byte, len(srcs))
	for i, src := range srcs {
		b, err := src.RDB(ctx)
		if err != nil {
			return nil, fmt.Errorf("shard %d of %s: %w", i+1, c.spec.ID, err)
		}
		out[i] = b
	}
	return out, nil
}

// defaultSource picks a shard's source by Options.Data; s.mu is held.
func (s *Server) defaultSource(c *cache, shard int) DataSource {
	useRedis := false
	switch s.o.Data {
	case DataRedis:
		useRedis = true
	case DataAuto:
		_, err := exec.LookPath(s.redisBin())
		useRedis = err == nil
	}
	if useRedis && c.spec.Engine != "memcached" {
		return &redisSource{s: s, cache: c.spec, shard: shard}
	}
	return Generated{Options: s.genOptions(c.spec, shard)}
}

// genOptions are the rdbgen options for a shard: seeded by cache and shard, database 0 alone for
// cluster-mode caches (as they require), two databases otherwise; version 10 for Redis OSS 7.0
// and older, 11 otherwise.
func (s *Server) genOptions(c Cache, shard int) rdbgen.Options {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", c.ID, shard)
	o := rdbgen.Options{Seed: h.Sum64(), Keys: s.o.GenKeys, ValueSize: s.o.GenValueSize, DBs: 2, ExpireEvery: 10,
		Prefix: fmt.Sprintf("%s:%d:", c.ID, shard)}
	if c.ClusterMode || c.Kind == KindServerless {
		o.DBs = 1
	}
	if c.Engine == "redis" && versionBelow(c.EngineVersion, 7, 2) {
		o.Version = rdbgen.Version10
	}
	return o
}

// versionBelow reports whether version v (major.minor...) is below major.minor.
func versionBelow(v string, major, minor int) bool {
	var a, b int
	if n, _ := fmt.Sscanf(v, "%d.%d", &a, &b); n == 0 {
		return false
	}
	return a < major || (a == major && b < minor)
}

func (s *Server) redisBin() string {
	if s.o.RedisServer != "" {
		return s.o.RedisServer
	}
	return "redis-server"
}

// redisSource is a shard backed by a real redis-server, started and filled on first use.
type redisSource struct {
	s     *Server
	cache Cache
	shard int

	mu   sync.Mutex
	proc *redisProc
}

// RDB runs SAVE and returns the file the server wrote.
func (r *redisSource) RDB(ctx context.Context) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		p, err := startRedis(ctx, r.s.redisBin())
		if err != nil {
			return nil, err
		}
		r.s.mu.Lock()
		closed := r.s.closed
		if !closed {
			r.s.procs = append(r.s.procs, p)
		}
		r.s.mu.Unlock()
		if closed {
			p.stop()
			return nil, errors.New("ecsrv: server closed")
		}
		keys := r.s.o.RedisKeys
		if keys <= 0 {
			keys = 300
		}
		if err := p.populate(ctx, fmt.Sprintf("%s:%d:", r.cache.ID, r.shard), keys, !r.cache.ClusterMode && r.cache.Kind != KindServerless); err != nil {
			return nil, fmt.Errorf("fill redis-server for %s shard %d: %w", r.cache.ID, r.shard, err)
		}
		r.proc = p
	}
	return r.proc.save(ctx)
}

// addr returns the loopback address of the shard's redis-server ("" before the first snapshot).
func (r *redisSource) addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return ""
	}
	return r.proc.addr
}

// RedisAddrs returns, per shard of cache id, the loopback address of the redis-server holding
// its data: "" for shards not backed by one, or whose server starts with the first snapshot and
// has not yet.
func (s *Server) RedisAddrs(id string) []string {
	s.mu.Lock()
	c, ok := s.caches[id]
	var srcs []DataSource
	if ok {
		srcs = append(srcs, c.sources...)
	}
	s.mu.Unlock()
	out := make([]string, len(srcs))
	for i, src := range srcs {
		if r, ok := src.(*redisSource); ok {
			out[i] = r.addr()
		}
	}
	return out
}

// Close stops the redis-server processes the server started. The server keeps serving (new
// snapshots of redis-backed shards then fail).
func (s *Server) Close() error {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if err := p.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
