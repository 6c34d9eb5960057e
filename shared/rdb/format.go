package rdb

import "fmt"

// Dialect is the family of server that wrote an RDB file. It decides what type and opcode
// bytes mean: Redis and Valkey 9 give 22, 23 and 243 different meanings.
type Dialect uint8

const (
	// DialectRedis is a file with the magic REDIS (Redis, and Valkey up to 8.x).
	DialectRedis Dialect = iota + 1
	// DialectValkey is a file with the magic VALKEY (Valkey 9 and later).
	DialectValkey
)

// String returns "redis" or "valkey", the names the manifest uses.
func (d Dialect) String() string {
	switch d {
	case DialectRedis:
		return "redis"
	case DialectValkey:
		return "valkey"
	}
	return "unknown"
}

// versions lists every (dialect, version) pair the reader understands. Adding a version is a
// line here plus, if it brings new types or opcodes, lines in typeTable and opcodeTable.
var versions = []struct {
	dialect Dialect
	min     int
	max     int
}{
	{DialectRedis, 1, 12},
	{DialectValkey, 80, 81},
}

func supportedVersion(d Dialect, v int) bool {
	for _, s := range versions {
		if s.dialect == d && v >= s.min && v <= s.max {
			return true
		}
	}
	return false
}

// Type is a value encoding as cacheport decodes it. It is not the raw type byte: the same byte
// means different types in different dialects (see Entry.TypeByte).
type Type uint8

// The value encodings of RDB files. The comments give the type byte in each dialect.
const (
	TypeInvalid             Type = iota
	TypeString                   // 0
	TypeList                     // 1, linked list
	TypeSet                      // 2, hashtable
	TypeZSet                     // 3, skiplist with string scores
	TypeHash                     // 4, hashtable
	TypeZSet2                    // 5, skiplist with binary scores
	TypeModulePreGA              // 6, cannot be walked without the module
	TypeModule2                  // 7
	TypeHashZipmap               // 9
	TypeListZiplist              // 10
	TypeSetIntset                // 11
	TypeZSetZiplist              // 12
	TypeHashZiplist              // 13
	TypeListQuicklist            // 14
	TypeStreamListpacks          // 15
	TypeHashListpack             // 16
	TypeZSetListpack             // 17
	TypeListQuicklist2           // 18
	TypeStreamListpacks2         // 19
	TypeSetListpack              // 20
	TypeStreamListpacks3         // 21
	TypeHashMetadataPreGA        // Redis 22
	TypeHashListpackExPreGA      // Redis 23
	TypeHashMetadata             // Redis 24
	TypeHashListpackEx           // Redis 25
	TypeHash2                    // Valkey 22
	TypePathHash                 // Valkey 23 (9.2), recognised but not walked
	numTypes
)

var typeNames = [numTypes]string{
	TypeInvalid:             "invalid",
	TypeString:              "string",
	TypeList:                "list-linkedlist",
	TypeSet:                 "set-hashtable",
	TypeZSet:                "zset-skiplist",
	TypeHash:                "hash-hashtable",
	TypeZSet2:               "zset-skiplist-2",
	TypeModulePreGA:         "module-pre-ga",
	TypeModule2:             "module-2",
	TypeHashZipmap:          "hash-zipmap",
	TypeListZiplist:         "list-ziplist",
	TypeSetIntset:           "set-intset",
	TypeZSetZiplist:         "zset-ziplist",
	TypeHashZiplist:         "hash-ziplist",
	TypeListQuicklist:       "list-quicklist",
	TypeStreamListpacks:     "stream-listpacks",
	TypeHashListpack:        "hash-listpack",
	TypeZSetListpack:        "zset-listpack",
	TypeListQuicklist2:      "list-quicklist-2",
	TypeStreamListpacks2:    "stream-listpacks-2",
	TypeSetListpack:         "set-listpack",
	TypeStreamListpacks3:    "stream-listpacks-3",
	TypeHashMetadataPreGA:   "hash-metadata-pre-ga",
	TypeHashListpackExPreGA: "hash-listpack-ex-pre-ga",
	TypeHashMetadata:        "hash-metadata",
	TypeHashListpackEx:      "hash-listpack-ex",
	TypeHash2:               "hash-2",
	TypePathHash:            "path-hash",
}

// String names the encoding, e.g. "hash-listpack".
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Kind is the data type a value has for a client: string, list, set, zset, hash, stream or module.
func (t Type) Kind() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList, TypeListZiplist, TypeListQuicklist, TypeListQuicklist2:
		return "list"
	case TypeSet, TypeSetIntset, TypeSetListpack:
		return "set"
	case TypeZSet, TypeZSet2, TypeZSetZiplist, TypeZSetListpack:
		return "zset"
	case TypeHash, TypeHashZipmap, TypeHashZiplist, TypeHashListpack, TypeHashMetadataPreGA,
		TypeHashListpackExPreGA, TypeHashMetadata, TypeHashListpackEx, TypeHash2, TypePathHash:
		return "hash"
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		return "stream"
	case TypeModulePreGA, TypeModule2:
		return "module"
	}
	return "invalid"
}

// typeSince gives, per dialect and type byte, the decoded type and the first version that may
// hold it. Versions before the ones listed here are not gated (their history is older than the
// files anyone exports today).
type typeSince struct {
	t     Type
	since int
}

func typeTable(d Dialect) *[256]typeSince {
	if d == DialectValkey {
		return &valkeyTypes
	}
	return &redisTypes
}

var commonTypes = map[byte]typeSince{
	0: {TypeString, 1}, 1: {TypeList, 1}, 2: {TypeSet, 1}, 3: {TypeZSet, 1}, 4: {TypeHash, 1},
	5: {TypeZSet2, 8}, 6: {TypeModulePreGA, 8}, 7: {TypeModule2, 8},
	9: {TypeHashZipmap, 1}, 10: {TypeListZiplist, 1}, 11: {TypeSetIntset, 1},
	12: {TypeZSetZiplist, 1}, 13: {TypeHashZiplist, 1}, 14: {TypeListQuicklist, 7},
	15: {TypeStreamListpacks, 9}, 16: {TypeHashListpack, 10}, 17: {TypeZSetListpack, 10},
	18: {TypeListQuicklist2, 10}, 19: {TypeStreamListpacks2, 10}, 20: {TypeSetListpack, 11},
	21: {TypeStreamListpacks3, 11},
}

var redisTypes, valkeyTypes = func() (r, v [256]typeSince) {
	for b, t := range commonTypes {
		r[b], v[b] = t, t
	}
	r[22] = typeSince{TypeHashMetadataPreGA, 12}
	r[23] = typeSince{TypeHashListpackExPreGA, 12}
	r[24] = typeSince{TypeHashMetadata, 12}
	r[25] = typeSince{TypeHashListpackEx, 12}
	v[22] = typeSince{TypeHash2, 80}
	v[23] = typeSince{TypePathHash, 81}
	return r, v
}()

// Opcodes (special type bytes) shared by both dialects.
const (
	opUpdate        = 242 // Valkey only
	opSlotImport    = 243 // Valkey only (Redis 8 uses 243 for KEY_META, not supported here)
	opSlotInfo      = 244
	opFunction2     = 245
	opFunctionPreGA = 246
	opModuleAux     = 247
	opIdle          = 248
	opFreq          = 249
	opAux           = 250
	opResizeDB      = 251
	opExpireTimeMS  = 252
	opExpireTime    = 253
	opSelectDB      = 254
	opEOF           = 255
)

// opcodeSince says from which version an opcode may appear, per dialect; 0 means never.
// Opcodes older than functions are not gated by version.
func opcodeSince(d Dialect, op byte) int {
	switch op {
	case opEOF, opSelectDB, opExpireTime, opExpireTimeMS, opResizeDB, opAux, opFreq, opIdle, opModuleAux:
		return 1
	case opFunctionPreGA, opFunction2:
		return 10
	case opSlotInfo:
		return 12 // Redis 7.4; Valkey accepts it from 80
	case opSlotImport, opUpdate:
		if d == DialectValkey {
			return 80
		}
	}
	return 0
}
