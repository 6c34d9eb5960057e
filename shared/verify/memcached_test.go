package verify

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/mcdump"
)

// mcDump returns a cacheport-memcached/1 dump of node with n keys, one in three with an expiry;
// complete false leaves it without its trailer (a dump cut short).
func mcDump(t *testing.T, node string, n int, complete bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := mcdump.NewWriter(&buf, mcdump.Header{Node: node, Created: time.Date(2026, 11, 24, 3, 1, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		rec := mcdump.Record{Key: fmt.Sprintf("%s-key-%d", node, i), Flags: uint32(i)}
		if i%3 == 0 {
			rec.Expiry = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Unix()
		}
		if err := w.Add(rec, []byte(strings.Repeat("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	if complete {
		err = w.Close()
	} else {
		err = w.Abort()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memcachedExporting makes a Memcached export of nodes nodes in exporting, as memcached-export
// leaves it: no snapshot, the attempt's directory as its target.
func (r *rig) memcachedExporting(t *testing.T, nodes int) *export.Export {
	t.Helper()
	ctx := context.Background()
	e, err := r.m.Begin(ctx, export.NewExport{ExportID: "memo-20261124-0300", Window: "20261124-0300", MaxAttempts: 3,
		Cache: export.Cache{ID: "memo", Kind: export.KindMemcached, Engine: "memcached", Shards: nodes}})
	if err != nil {
		t.Fatal(err)
	}
	dir := e.Layout().AttemptDir(1)
	if err := r.m.Exporting(ctx, e, export.Source{}, dir, export.Expect{Target: dir, Shards: nodes, KeyPrefix: dir}, "memcached dump started"); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMemcachedDumpsVerifiedWithManifest(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	e := r.memcachedExporting(t, 2)
	dir := e.Layout().AttemptDir(1)
	bodies := map[string][]byte{dir + "node-0001.mcd": mcDump(t, "0001", 30, true), dir + "node-0002.mcd": mcDump(t, "0002", 3000, true)}
	r.put(t, dir+"node-0001.mcd", bodies[dir+"node-0001.mcd"])
	if s, err := r.v.ObjectCreated(ctx, "exports", dir+"node-0001.mcd"); err != nil || s.Results[0].Outcome != OutcomeWaiting {
		t.Fatalf("one of two nodes: %+v %v", s, err)
	}
	if len(r.ec.Calls) != 0 {
		t.Errorf("a Memcached export has no snapshot to describe; calls %v", r.ec.Calls)
	}
	r.put(t, dir+"node-0002.mcd", bodies[dir+"node-0002.mcd"])
	s, err := r.v.ObjectCreated(ctx, "exports", dir+"node-0002.mcd")
	if err != nil || s.Results[0].Outcome != OutcomeVerified {
		t.Fatalf("both nodes: %+v %v", s, err)
	}
	var man Manifest
	if err := json.Unmarshal(r.s3.Objects[e.Layout().ManifestKey()].Body, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Objects) != 2 || man.Source.Shards != 2 || man.Source.Snapshot != "" || man.Cache.Kind != export.KindMemcached {
		t.Fatalf("manifest %+v", man)
	}
	for i, o := range man.Objects {
		want := []int64{30, 3000}[i]
		sum := sha256.Sum256(bodies[o.Key])
		if o.Format != FormatMemcached || o.Checksum != "ok" || o.Keys != want || o.Expires != (want+2)/3 ||
			o.SHA256 != hex.EncodeToString(sum[:]) || o.Size != int64(len(bodies[o.Key])) || o.Warnings == nil || o.RDBVersion != 0 {
			t.Errorf("object %d: %+v", i, o)
		}
	}
	if !man.Restore.ClusterModeEnabledOK || len(man.Restore.Notes) != 2 {
		t.Errorf("restore %+v", man.Restore)
	}
}

func TestMemcachedDumpDamage(t *testing.T) {
	good := func(t *testing.T) []byte { return mcDump(t, "0001", 50, true) }
	flipped := func(t *testing.T) []byte {
		// The same dump with one value byte changed, compressed again: gzip's own CRC holds,
		// the dump's CRC-64 does not.
		zr, err := gzip.NewReader(bytes.NewReader(good(t)))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.LastIndex(plain, []byte("vvvv"))
		plain[i] = 'w'
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(plain)
		zw.Close()
		return out.Bytes()
	}
	for _, tt := range []struct {
		name  string
		nodes int
		objs  map[string][]byte
		want  string
	}{
		{"checksum mismatch", 1, map[string][]byte{"node-0001.mcd": flipped(t)}, CodeChecksumMismatch},
		{"cut short", 1, map[string][]byte{"node-0001.mcd": mcDump(t, "0001", 50, false)}, CodeTruncatedObject},
		{"not a dump", 1, map[string][]byte{"node-0001.mcd": []byte("not gzip at all")}, CodeCorruptObject},
		{"truncated object", 1, map[string][]byte{"node-0001.mcd": good(t)[:200]}, CodeCorruptObject},
		{"more dumps than nodes", 1, map[string][]byte{"node-0001.mcd": good(t), "node-0002.mcd": good(t)}, CodeUnexpectedObject},
		{"a stranger in the attempt", 1, map[string][]byte{"node-0001.mcd": good(t), "other.rdb": good(t)}, CodeUnexpectedObject},
		{"empty dump", 1, map[string][]byte{"node-0001.mcd": {}}, CodeEmptyObject},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			e := r.memcachedExporting(t, tt.nodes)
			dir := e.Layout().AttemptDir(1)
			for k, b := range tt.objs {
				r.put(t, dir+k, b)
			}
			s, err := r.v.Reconcile(context.Background(), r.clock)
			if err != nil || len(s.Results) != 1 || s.Results[0].Outcome != OutcomeFailed || s.Results[0].Reason != tt.want {
				t.Fatalf("%+v %v, want failed %s", s, err, tt.want)
			}
			if got := r.record(t, e); got.Stage != export.StageFailed || got.Error.Code != tt.want {
				t.Errorf("record %s %+v", got.Stage, got.Error)
			}
		})
	}
}

func TestMissingMemcachedDumpFailsAfterGrace(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	e := r.memcachedExporting(t, 3)
	dir := e.Layout().AttemptDir(1)
	r.put(t, dir+"node-0001.mcd", mcDump(t, "0001", 5, true))
	if s, _ := r.v.Reconcile(ctx, r.clock); s.Results[0].Outcome != OutcomeWaiting {
		t.Fatalf("inside the grace: %+v", s.Results)
	}
	r.clock = r.clock.Add(time.Hour)
	s, _ := r.v.Reconcile(ctx, r.clock)
	if s.Results[0].Outcome != OutcomeFailed || s.Results[0].Reason != CodeMissingObject || !strings.Contains(r.record(t, e).Error.Message, "2 of 3 nodes") {
		t.Fatalf("after the grace: %+v %+v", s.Results, r.record(t, e).Error)
	}
}
