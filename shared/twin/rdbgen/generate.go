package rdbgen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Kind is a kind of key Generate writes.
type Kind string

// The kinds of key Generate writes, in the order it cycles through them.
const (
	KindString Kind = "string" // a random printable string
	KindInt    Kind = "int"    // a string holding an integer (int-encoded)
	KindList   Kind = "list"   // quicklist 2
	KindSet    Kind = "set"    // a set of strings: listpack (v11) or plain set (v10)
	KindIntSet Kind = "intset" // a set of integers
	KindHash   Kind = "hash"   // listpack hash
	KindZSet   Kind = "zset"   // listpack sorted set
)

const (
	defaultKeys      = 200
	defaultValueSize = 32
)

// AllKinds are the kinds a zero Options.Kinds means.
var AllKinds = []Kind{KindString, KindInt, KindList, KindSet, KindIntSet, KindHash, KindZSet}

// DefaultTime is the ctime Generate writes when Options.Time is zero; expiries are a year after
// it, so a real server loading the file today keeps every key.
var DefaultTime = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

// Options say what Generate writes. The zero value is 200 keys of every kind, about 32 bytes of
// data each, in database 0, no expiries, version 11, seed 0.
type Options struct {
	Version   int    // Version10 or Version11 (0: DefaultVersion)
	Seed      uint64 // the same seed and options give the same bytes
	Keys      int    // total keys (0: 200)
	ValueSize int    // about this many bytes of data per key, spread over its elements (0: 32)
	// DBs spreads the keys round-robin over databases 0..DBs-1 (0 or 1: database 0 only, as a
	// cluster-mode-enabled cache requires).
	DBs int
	// ExpireEvery gives every n-th key an expiry (0: none), a year after Time plus the key's
	// index in milliseconds.
	ExpireEvery int
	Kinds       []Kind    // the kinds to cycle through (empty: AllKinds)
	Time        time.Time // the ctime aux field and the base of expiries (zero: DefaultTime)
	// Prefix starts every key name (default "key:"), so files for different shards differ.
	Prefix string
}

// Stats describe a generated file.
type Stats struct {
	Bytes     int64       // file size
	Keys      int         // keys written
	Expires   int         // keys with an expiry
	KeysByDB  map[int]int // keys per database
	ByKind    map[Kind]int
	Databases []int // the databases used, ascending
}

// Generate writes a whole RDB file to w as o says and returns what it wrote. The output is a
// function of o alone. Errors are a bad Options or w's write errors.
func Generate(w io.Writer, o Options) (Stats, error) {
	if o.Keys == 0 {
		o.Keys = defaultKeys
	}
	if o.ValueSize == 0 {
		o.ValueSize = defaultValueSize
	}
	if o.DBs == 0 {
		o.DBs = 1
	}
	if len(o.Kinds) == 0 {
		o.Kinds = AllKinds
	}
	if o.Time.IsZero() {
		o.Time = DefaultTime
	}
	if o.Prefix == "" {
		o.Prefix = "key:"
	}
	if o.Keys < 0 || o.ValueSize < 1 || o.DBs < 1 || o.DBs > 16 || o.ExpireEvery < 0 {
		return Stats{}, fmt.Errorf("rdbgen: bad options: keys %d, value size %d, dbs %d (1-16), expire every %d", o.Keys, o.ValueSize, o.DBs, o.ExpireEvery)
	}
	for _, k := range o.Kinds {
		if !knownKind(k) {
			return Stats{}, fmt.Errorf("rdbgen: unknown kind %q", k)
		}
	}
	wr, err := NewWriter(w, o.Version)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{KeysByDB: map[int]int{}, ByKind: map[Kind]int{}}
	ver := "7.2.4"
	if wr.Version() == Version10 {
		ver = "7.0.15"
	}
	_ = wr.Aux("redis-ver", ver)
	_ = wr.Aux("redis-bits", "64")
	_ = wr.Aux("ctime", strconv.FormatInt(o.Time.Unix(), 10))
	_ = wr.Aux("used-mem", strconv.Itoa(1<<20+o.Keys*o.ValueSize*2))
	_ = wr.Aux("aof-base", "0")

	expires := func(i int) bool { return o.ExpireEvery > 0 && i%o.ExpireEvery == o.ExpireEvery-1 }
	for db := 0; db < o.DBs && db < max(o.Keys, 1); db++ {
		keys, exp := 0, 0
		for i := db; i < o.Keys; i += o.DBs {
			keys++
			if expires(i) {
				exp++
			}
		}
		if keys == 0 {
			continue
		}
		if err := wr.SelectDB(db, keys, exp); err != nil {
			return st, err
		}
		st.Databases = append(st.Databases, db)
		for i := db; i < o.Keys; i += o.DBs {
			// Each key draws from its own stream, so a key's value does not depend on the others.
			rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
			kind := o.Kinds[i%len(o.Kinds)]
			name := o.Prefix + kindTag(kind) + ":" + strconv.Itoa(i)
			var at time.Time
			if expires(i) {
				at = o.Time.AddDate(1, 0, 0).Add(time.Duration(i) * time.Millisecond)
				st.Expires++
			}
			if err := writeKey(wr, rng, kind, name, o.ValueSize, at); err != nil {
				return st, err
			}
			st.Keys++
			st.KeysByDB[db]++
			st.ByKind[kind]++
		}
	}
	err = wr.Close()
	st.Bytes = wr.Written()
	return st, err
}

func knownKind(k Kind) bool {
	for _, x := range AllKinds {
		if x == k {
			return true
		}
	}
	return false
}

func kindTag(k Kind) string { return string(k) }

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

func randString(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	// A string of digits alone would be stored as an integer; keep strings strings.
	b[0] = 's'
	return string(b)
}

func writeKey(wr *Writer, rng *rand.Rand, kind Kind, name string, size int, at time.Time) error {
	// Collections get 1..8 elements, each about size/n bytes (at least 1).
	n := 1 + rng.IntN(8)
	each := max(size/n, 1)
	switch kind {
	case KindString:
		return wr.String(name, randString(rng, size), at)
	case KindInt:
		return wr.String(name, strconv.FormatInt(rng.Int64N(1<<40)-1<<39, 10), at)
	case KindList:
		elems := make([]string, n)
		for i := range elems {
			if i%3 == 2 {
				elems[i] = strconv.Itoa(rng.IntN(100000) - 50000)
			} else {
				elems[i] = randString(rng, each)
			}
		}
		return wr.List(name, elems, at)
	case KindSet:
		elems := make([]string, n)
		for i := range elems {
			elems[i] = randString(rng, max(each, 4)) + strconv.Itoa(i) // distinct
		}
		return wr.Set(name, elems, at)
	case KindIntSet:
		elems := make([]string, n)
		base := rng.Int64N(1 << 33)
		for i := range elems {
			elems[i] = strconv.FormatInt(base+int64(i)*int64(1+rng.IntN(70000)), 10) // distinct, increasing
		}
		return wr.Set(name, elems, at)
	case KindHash:
		fields := make([]Field, n)
		for i := range fields {
			fields[i] = Field{Name: "f" + strconv.Itoa(i), Value: randString(rng, each)}
		}
		return wr.Hash(name, fields, at)
	case KindZSet:
		ms := make([]Member, n)
		for i := range ms {
			score := float64(rng.IntN(1000))
			if i%2 == 1 {
				score += 0.25
			}
			ms[i] = Member{Name: randString(rng, max(each, 4)) + strconv.Itoa(i), Score: score}
		}
		return wr.ZSet(name, ms, at)
	}
	return fmt.Errorf("rdbgen: unknown kind %q", kind)
}
