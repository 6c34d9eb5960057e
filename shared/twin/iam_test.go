package twin

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/iam"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

// notObservable are actions a function holds that none of its own calls in the twin exercises,
// with the reason (CONTRACTS.md: "less an allow-list, with a reason for each entry").
var notObservable = map[string]map[string]string{
	iam.StartExport: {
		"elasticache:AddTagsToResource": "AWS authorises the Tags of CreateSnapshot/CreateServerlessCacheSnapshot with it; cacheport tags at creation and never calls it",
	},
	iam.MemcachedExport: {
		"s3:ListBucket":           "never called: S3 needs it to answer a GetObject of a missing record with NoSuchKey rather than AccessDenied",
		"s3:AbortMultipartUpload": "called only when a node's dump fails after its multipart upload began; no twin scenario stops a memcached node mid-dump",
	},
}

// Least privilege, proved: the demo and fault scenarios run in the twin, every call each function
// makes is mapped to its IAM action, and that set must equal what the template grants it (the
// iam package's test holds the template to the same table), less the allow-lists.
func TestIAMMatchesWhatFunctionsCall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several twins; not in -short")
	}
	seen := map[string]map[string]bool{}
	run := func(o Options) {
		tw, _ := startTwin(t, o)
		if err := tw.Advance(context.Background(), 4*time.Hour, time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, c := range tw.Calls.Calls() {
			if seen[c.Caller] == nil {
				seen[c.Caller] = map[string]bool{}
			}
			a := iam.Call{Service: c.Service, Operation: c.Operation, VersionID: strings.Contains(c.Resource, "versionId=")}.Action()
			seen[c.Caller][a] = true
		}
	}
	caches := append(ecsrv.DefaultCaches(),
		ecsrv.Cache{ID: "payments", Kind: ecsrv.KindReplicationGroup, Engine: "valkey", Replicas: 1},
		ecsrv.Cache{ID: "ledger", Kind: ecsrv.KindReplicationGroup, Engine: "valkey"},
		ecsrv.Cache{ID: "baskets", Kind: ecsrv.KindServerless, Engine: "valkey"})
	run(Options{Caches: caches, Data: ecsrv.DataGenerated,
		Faults: []string{"snapshot-fails=payments", "export-fails-midway=ledger", "late-object=baskets"}})
	run(Options{Caches: ecsrv.DefaultCaches(), Data: ecsrv.DataGenerated, Params: map[string]string{"TargetTag": "team=shop"}})
	checked := []string{iam.StartExport, iam.VerifyExport, iam.CleanupExport, iam.GrantBucketAccess, iam.Audit, iam.MemcachedExport}
	if ecsrv.MemcachedAvailable("") {
		// memo's nodes are real memcached processes: memcached-export dumps them.
		run(Options{Caches: ecsrv.DefaultCaches()})
	} else if testenv.InCI() {
		t.Fatal("memcached is missing and CI=true: apt-get install memcached (.ci/run installs it)")
	} else {
		t.Log("memcached is not on PATH (apt-get install memcached): memcached-export's calls are not checked")
		checked = checked[:len(checked)-1]
	}

	for _, fn := range checked {
		granted := iam.Actions(fn)
		for a := range seen[fn] {
			if !slices.Contains(granted, a) {
				t.Errorf("%s calls %s, which the template does not grant", fn, a)
			}
		}
		for _, a := range granted {
			if seen[fn][a] {
				continue
			}
			if why := iam.CheckedByAWS[fn][a] + notObservable[fn][a]; why == "" {
				t.Errorf("%s is granted %s but never calls it (drop it, or allow-list it with a reason)", fn, a)
			}
		}
	}
	if len(seen[iam.StartExport]) == 0 || len(seen[iam.CleanupExport]) == 0 {
		t.Fatalf("no calls logged: %v", seen)
	}
}
