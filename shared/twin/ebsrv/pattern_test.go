package ebsrv

import (
	"strings"
	"testing"
)

// s3Event is an S3 Object Created envelope with the given bucket and key.
func s3Event(bucket, key string) string {
	return `{"version":"0","id":"x","detail-type":"Object Created","source":"aws.s3","account":"111122223333",
	"time":"2026-11-24T03:07:12Z","region":"us-east-1","resources":["arn:aws:s3:::` + bucket + `"],
	"detail":{"version":"0","bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `","size":52428800},"reason":"PutObject"}}`
}

func TestPatternMatch(t *testing.T) {
	objectCreated := `{"source":["aws.s3"],"detail-type":["Object Created"],
		"detail":{"bucket":{"name":["b"]},"object":{"key":[{"prefix":"cacheport/"},{"prefix":"cacheport-"}]}}}`
	requested := `{"source":["cacheport"],"detail-type":["Export Requested"],"detail":{"kind":[{"anything-but":"memcached"}]}}`
	ev := func(detail string) string {
		return `{"source":"cacheport","detail-type":"Export Requested","resources":["arn:a","arn:b"],"detail":` + detail + `}`
	}
	tests := []struct {
		name, pattern, event string
		want                 bool
	}{
		// The template's S3 rule: bucket and either prefix.
		{"s3 under prefix", objectCreated, s3Event("b", "cacheport/orders/x/a1/x-0001.rdb"), true},
		{"s3 serverless key", objectCreated, s3Event("b", "cacheport-orders-x-a1-0001.rdb"), true},
		{"s3 other bucket", objectCreated, s3Event("c", "cacheport/orders/x"), false},
		{"s3 outside prefix", objectCreated, s3Event("b", "other/cacheport/x"), false},
		{"s3 prefix is case-sensitive", objectCreated, s3Event("b", "Cacheport/x"), false},
		{"s3 prefix without slash", objectCreated, s3Event("b", "cacheportx/y"), false},

		// anything-but.
		{"anything-but other value", requested, ev(`{"kind":"replication-group"}`), true},
		{"anything-but the value", requested, ev(`{"kind":"memcached"}`), false},
		{"anything-but missing field", requested, ev(`{"cache":"orders"}`), false},
		{"anything-but of a string, number given", requested, ev(`{"kind":5}`), false},
		{"anything-but list", `{"detail":{"kind":[{"anything-but":["a","b"]}]}}`, ev(`{"kind":"c"}`), true},
		{"anything-but list hit", `{"detail":{"kind":[{"anything-but":["a","b"]}]}}`, ev(`{"kind":"b"}`), false},
		{"anything-but prefix", `{"detail":{"kind":[{"anything-but":{"prefix":"mem"}}]}}`, ev(`{"kind":"memcached"}`), false},
		{"anything-but prefix miss", `{"detail":{"kind":[{"anything-but":{"prefix":"mem"}}]}}`, ev(`{"kind":"redis"}`), true},
		{"anything-but number", `{"detail":{"n":[{"anything-but":0}]}}`, ev(`{"n":1}`), true},
		{"anything-but number hit", `{"detail":{"n":[{"anything-but":0}]}}`, ev(`{"n":0}`), false},

		// Exact values and lists as OR.
		{"detail-type in list", `{"detail-type":["Export Failed","Export Requested"]}`, ev(`{}`), true},
		{"detail-type not in list", `{"detail-type":["Export Failed","Export Verified"]}`, ev(`{}`), false},
		{"source differs", `{"source":["aws.s3"]}`, ev(`{}`), false},
		{"exact is case-sensitive", `{"source":["Cacheport"]}`, ev(`{}`), false},
		{"number equals number", `{"detail":{"attempt":[2]}}`, ev(`{"attempt":2.0}`), true},
		{"number is not string", `{"detail":{"attempt":["2"]}}`, ev(`{"attempt":2}`), false},
		{"bool", `{"detail":{"ok":[true]}}`, ev(`{"ok":true}`), true},
		{"bool differs", `{"detail":{"ok":[true]}}`, ev(`{"ok":false}`), false},
		{"null", `{"detail":{"reason":[null]}}`, ev(`{"reason":null}`), true},
		{"null is not missing", `{"detail":{"reason":[null]}}`, ev(`{}`), false},
		{"array value: any element", `{"resources":["arn:b"]}`, ev(`{}`), true},
		{"array value: none", `{"resources":["arn:c"]}`, ev(`{}`), false},
		{"missing nested object", `{"detail":{"bucket":{"name":["b"]}}}`, ev(`{}`), false},
		{"leaf against object", `{"detail":{"bucket":["b"]}}`, ev(`{"bucket":{"name":"b"}}`), false},
		{"array of objects", `{"detail":{"items":{"id":["2"]}}}`, ev(`{"items":[{"id":"1"},{"id":"2"}]}`), true},

		// exists.
		{"exists true", `{"detail":{"reason":[{"exists":true}]}}`, ev(`{"reason":"x"}`), true},
		{"exists true missing", `{"detail":{"reason":[{"exists":true}]}}`, ev(`{}`), false},
		{"exists false missing", `{"detail":{"reason":[{"exists":false}]}}`, ev(`{}`), true},
		{"exists false present", `{"detail":{"reason":[{"exists":false}]}}`, ev(`{"reason":"x"}`), false},
		{"exists false, parent missing", `{"detail":{"expect":{"target":[{"exists":false}]}}}`, ev(`{}`), true},

		// suffix, equals-ignore-case, wildcard, numeric, $or.
		{"suffix", `{"detail":{"key":[{"suffix":".rdb"}]}}`, ev(`{"key":"a/b-0001.rdb"}`), true},
		{"suffix miss", `{"detail":{"key":[{"suffix":".rdb"}]}}`, ev(`{"key":"a/b.json"}`), false},
		{"equals-ignore-case", `{"detail":{"engine":[{"equals-ignore-case":"VALKEY"}]}}`, ev(`{"engine":"Valkey"}`), true},
		{"equals-ignore-case miss", `{"detail":{"engine":[{"equals-ignore-case":"VALKEY"}]}}`, ev(`{"engine":"redis"}`), false},
		{"prefix ignore case", `{"detail":{"k":[{"prefix":{"equals-ignore-case":"CACHE"}}]}}`, ev(`{"k":"cachePort"}`), true},
		{"wildcard", `{"detail":{"key":[{"wildcard":"cacheport/*/a1/*.rdb"}]}}`, ev(`{"key":"cacheport/orders/a1/x-0001.rdb"}`), true},
		{"wildcard miss", `{"detail":{"key":[{"wildcard":"cacheport/*/a1/*.rdb"}]}}`, ev(`{"key":"cacheport/orders/a2/x-0001.rdb"}`), false},
		{"wildcard escaped star", `{"detail":{"key":[{"wildcard":"a\\*b"}]}}`, ev(`{"key":"a*b"}`), true},
		{"wildcard escaped star miss", `{"detail":{"key":[{"wildcard":"a\\*b"}]}}`, ev(`{"key":"axb"}`), false},
		{"numeric range", `{"detail":{"attempt":[{"numeric":[">",1,"<=",3]}]}}`, ev(`{"attempt":3}`), true},
		{"numeric range miss", `{"detail":{"attempt":[{"numeric":[">",1,"<=",3]}]}}`, ev(`{"attempt":1}`), false},
		{"numeric on string", `{"detail":{"attempt":[{"numeric":[">",1]}]}}`, ev(`{"attempt":"3"}`), false},
		{"$or first", `{"$or":[{"source":["aws.s3"]},{"detail":{"kind":["serverless"]}}]}`, ev(`{"kind":"serverless"}`), true},
		{"$or none", `{"$or":[{"source":["aws.s3"]},{"detail":{"kind":["serverless"]}}]}`, ev(`{"kind":"replication-group"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := CompilePattern([]byte(tt.pattern))
			if err != nil {
				t.Fatalf("compile %s: %v", tt.pattern, err)
			}
			if got := p.Match([]byte(tt.event)); got != tt.want {
				t.Errorf("pattern %s on %s = %v, want %v", tt.pattern, tt.event, got, tt.want)
			}
		})
	}
}

func TestPatternInvalid(t *testing.T) {
	tests := []struct{ pattern, wantErr string }{
		{`[]`, "non-empty JSON object"},
		{`{}`, "non-empty JSON object"},
		{`{"source":"cacheport"}`, "must be a list or an object"},
		{`{"source":[]}`, "empty list"},
		{`{"source":[{"prefx":"a"}]}`, `unknown operator "prefx"`},
		{`{"source":[{"prefix":1}]}`, "invalid argument for prefix"},
		{`{"detail":{"n":[{"numeric":["!",1]}]}}`, "unknown numeric operator"},
		{`{"detail":{"n":[{"numeric":[">"]}]}}`, "numeric takes"},
		{`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`, "cidr"},
		{`{"detail":{"k":[{"anything-but":{"exists":true}}]}}`, "anything-but takes"},
		{`{"$or":[{"source":["a"]}]}`, "at least two"},
		{`{"source":["a"]`, "event pattern"},
	}
	for _, tt := range tests {
		_, err := CompilePattern([]byte(tt.pattern))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CompilePattern(%s) = %v, want an error containing %q", tt.pattern, err, tt.wantErr)
		}
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "ac", true}, {"a*c", "abcbc", true}, {"a*b*c", "abc", true}, {"a*b*c", "acb", false},
		{"abc", "abc", true}, {"abc", "abcd", false}, {"a*a", "a", false}, {"*.rdb", "x.rdb.json", false},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pat, tt.s); got != tt.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}
