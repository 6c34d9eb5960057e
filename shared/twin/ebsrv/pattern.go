package ebsrv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pattern is a compiled EventBridge event pattern. It supports what EventBridge documents for
// content filtering except `cidr`: exact strings, numbers, booleans and null; a list as OR;
// nested objects (detail.bucket.name); `prefix`, `suffix` and `equals-ignore-case` (also
// `prefix`/`suffix` with `equals-ignore-case` inside); `anything-but` with a value, a list, or
// `prefix`/`suffix`/`wildcard`/`equals-ignore-case`; `exists`; `wildcard` (`*`, `\*` for a
// literal star); `numeric` ranges; and `$or`. A Pattern is immutable and safe for concurrent use.
type Pattern struct {
	raw  json.RawMessage
	root *patNode
}

type patNode struct {
	fields map[string]*patNode // nested object
	leaf   []matcher           // the values of a field (OR)
	or     [][]*patNode        // $or: any of these objects (each matched against the same object)
	names  []string            // sorted field names, for a stable walk
}

type matchKind int

const (
	mExact matchKind = iota
	mPrefix
	mSuffix
	mIgnoreCase
	mPrefixIgnoreCase
	mSuffixIgnoreCase
	mWildcard
	mExists
	mNumeric
	mAnythingBut
)

type matcher struct {
	kind   matchKind
	value  any     // mExact: string, float64, bool or nil
	str    string  // string operand
	exists bool    // mExists
	ranges []numOp // mNumeric
	not    []matcher
}

type numOp struct {
	op string
	n  float64
}

// CompilePattern parses an event pattern (a JSON object). The error says what is wrong and where.
func CompilePattern(raw []byte) (*Pattern, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("event pattern: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("event pattern: must be a non-empty JSON object")
	}
	n, err := compileObject(m, "")
	if err != nil {
		return nil, fmt.Errorf("event pattern: %w", err)
	}
	return &Pattern{raw: append(json.RawMessage(nil), raw...), root: n}, nil
}

// MustCompilePattern is CompilePattern for patterns known to be valid; it panics otherwise.
func MustCompilePattern(raw string) *Pattern {
	p, err := CompilePattern([]byte(raw))
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as JSON.
func (p *Pattern) String() string { return string(p.raw) }

func compileObject(m map[string]any, path string) (*patNode, error) {
	n := &patNode{fields: map[string]*patNode{}}
	for k, v := range m {
		at := strings.TrimPrefix(path+"."+k, ".")
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, fmt.Errorf("%s: $or takes a list of at least two patterns", at)
			}
			var group []*patNode
			for i, a := range alts {
				am, ok := a.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s[%d]: must be an object", at, i)
				}
				c, err := compileObject(am, path)
				if err != nil {
					return nil, err
				}
				group = append(group, c)
			}
			n.or = append(n.or, group)
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			c, err := compileObject(v, at)
			if err != nil {
				return nil, err
			}
			n.fields[k] = c
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("%s: empty list matches nothing", at)
			}
			var ms []matcher
			for _, e := range v {
				mt, err := compileMatcher(e, at)
				if err != nil {
					return nil, err
				}
				ms = append(ms, mt)
			}
			n.fields[k] = &patNode{leaf: ms}
		default:
			return nil, fmt.Errorf("%s: a pattern value must be a list or an object, not %s", at, jsonText(v))
		}
		n.names = append(n.names, k)
	}
	sort.Strings(n.names)
	return n, nil
}

func scalar(v any) (any, bool) {
	switch v := v.(type) {
	case nil, string, bool:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return nil, false
}

func compileMatcher(e any, at string) (matcher, error) {
	if s, ok := scalar(e); ok {
		return matcher{kind: mExact, value: s}, nil
	}
	obj, ok := e.(map[string]any)
	if !ok || len(obj) != 1 {
		return matcher{}, fmt.Errorf("%s: %s is not a value or a one-key operator object", at, jsonText(e))
	}
	for op, arg := range obj {
		str, isStr := arg.(string)
		switch op {
		case "prefix", "suffix":
			kind, ic := mPrefix, mPrefixIgnoreCase
			if op == "suffix" {
				kind, ic = mSuffix, mSuffixIgnoreCase
			}
			if isStr {
				return matcher{kind: kind, str: str}, nil
			}
			if m, ok := arg.(map[string]any); ok && len(m) == 1 {
				if s, ok := m["equals-ignore-case"].(string); ok {
					return matcher{kind: ic, str: strings.ToLower(s)}, nil
				}
			}
		case "equals-ignore-case":
			if isStr {
				return matcher{kind: mIgnoreCase, str: strings.ToLower(str)}, nil
			}
		case "wildcard":
			if isStr {
				return matcher{kind: mWildcard, str: str}, nil
			}
		case "exists":
			if b, ok := arg.(bool); ok {
				return matcher{kind: mExists, exists: b}, nil
			}
		case "numeric":
			return compileNumeric(arg, at)
		case "anything-but":
			return compileAnythingBut(arg, at)
		case "cidr":
			return matcher{}, fmt.Errorf("%s: cidr matching is not supported by the twin", at)
		default:
			return matcher{}, fmt.Errorf("%s: unknown operator %q", at, op)
		}
		return matcher{}, fmt.Errorf("%s: invalid argument for %s: %s", at, op, jsonText(arg))
	}
	panic("unreachable")
}

func compileNumeric(arg any, at string) (matcher, error) {
	l, ok := arg.([]any)
	if !ok || len(l) == 0 || len(l)%2 != 0 || len(l) > 4 {
		return matcher{}, fmt.Errorf("%s: numeric takes [op, n] or [op, n, op, n]", at)
	}
	m := matcher{kind: mNumeric}
	for i := 0; i < len(l); i += 2 {
		op, _ := l[i].(string)
		num, ok := l[i+1].(json.Number)
		if !ok {
			return matcher{}, fmt.Errorf("%s: numeric operand %s is not a number", at, jsonText(l[i+1]))
		}
		f, err := num.Float64()
		if err != nil {
			return matcher{}, fmt.Errorf("%s: numeric operand %s: %w", at, num, err)
		}
		switch op {
		case "<", "<=", "=", ">", ">=":
		default:
			return matcher{}, fmt.Errorf("%s: unknown numeric operator %q", at, op)
		}
		m.ranges = append(m.ranges, numOp{op, f})
	}
	return m, nil
}

func compileAnythingBut(arg any, at string) (matcher, error) {
	m := matcher{kind: mAnythingBut}
	switch a := arg.(type) {
	case []any:
		if len(a) == 0 {
			return matcher{}, fmt.Errorf("%s: anything-but of an empty list", at)
		}
		for _, e := range a {
			s, ok := scalar(e)
			if !ok {
				return matcher{}, fmt.Errorf("%s: anything-but list holds %s", at, jsonText(e))
			}
			m.not = append(m.not, matcher{kind: mExact, value: s})
		}
	case map[string]any:
		inner, err := compileMatcher(a, at)
		if err != nil {
			return matcher{}, err
		}
		switch inner.kind {
		case mPrefix, mSuffix, mWildcard, mIgnoreCase:
		default:
			return matcher{}, fmt.Errorf("%s: anything-but takes prefix, suffix, wildcard or equals-ignore-case, not %s", at, jsonText(a))
		}
		m.not = []matcher{inner}
	default:
		s, ok := scalar(a)
		if !ok {
			return matcher{}, fmt.Errorf("%s: invalid anything-but %s", at, jsonText(a))
		}
		m.not = []matcher{{kind: mExact, value: s}}
	}
	return m, nil
}

// Match reports whether an event (the whole envelope as JSON: source, detail-type, detail, ...)
// matches. Invalid JSON never matches.
func (p *Pattern) Match(event []byte) bool {
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return false
	}
	return p.MatchValue(v)
}

// MatchValue is Match on an event already decoded (numbers as json.Number or float64).
func (p *Pattern) MatchValue(event map[string]any) bool { return p.root.matchObject(event) }

func (n *patNode) matchObject(obj map[string]any) bool {
	for _, k := range n.names {
		c := n.fields[k]
		v, present := obj[k]
		if !c.matchField(v, present) {
			return false
		}
	}
	for _, group := range n.or {
		ok := false
		for _, alt := range group {
			if alt.matchObject(obj) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (n *patNode) matchField(v any, present bool) bool {
	if n.leaf == nil {
		// A nested pattern: the event's value is an object, or a list of objects (any matches).
		switch v := v.(type) {
		case map[string]any:
			return n.matchObject(v)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok && n.matchObject(m) {
					return true
				}
			}
			return false
		}
		// Absent: only a pattern that accepts absent fields (exists: false) matches.
		return !present && n.matchObject(nil)
	}
	for _, m := range n.leaf {
		if m.kind == mExists {
			if _, isObj := v.(map[string]any); m.exists == (present && !isObj) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if l, ok := v.([]any); ok {
			for _, e := range l {
				if m.matchValue(e) {
					return true
				}
			}
			continue
		}
		if m.matchValue(v) {
			return true
		}
	}
	return false
}

func (m matcher) matchValue(v any) bool {
	if _, isObj := v.(map[string]any); isObj {
		return false
	}
	s, isStr := v.(string)
	switch m.kind {
	case mExact:
		ev, ok := scalar(v)
		if !ok {
			if f, isF := v.(float64); isF {
				ev, ok = f, true
			}
		}
		return ok && ev == m.value
	case mPrefix:
		return isStr && strings.HasPrefix(s, m.str)
	case mSuffix:
		return isStr && strings.HasSuffix(s, m.str)
	case mIgnoreCase:
		return isStr && strings.ToLower(s) == m.str
	case mPrefixIgnoreCase:
		return isStr && strings.HasPrefix(strings.ToLower(s), m.str)
	case mSuffixIgnoreCase:
		return isStr && strings.HasSuffix(strings.ToLower(s), m.str)
	case mWildcard:
		return isStr && wildcard(m.str, s)
	case mNumeric:
		f, ok := number(v)
		if !ok {
			return false
		}
		for _, r := range m.ranges {
			if !r.holds(f) {
				return false
			}
		}
		return true
	case mAnythingBut:
		// Like EventBridge, anything-but of strings matches only strings and of numbers only
		// numbers; the value must differ from every listed one.
		for _, n := range m.not {
			if n.kind == mExact {
				if _, ok := n.value.(string); ok != isStr {
					return false
				}
			} else if !isStr {
				return false
			}
			if n.matchValue(v) {
				return false
			}
		}
		return true
	}
	return false
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	}
	return 0, false
}

func (r numOp) holds(f float64) bool {
	switch r.op {
	case "<":
		return f < r.n
	case "<=":
		return f <= r.n
	case "=":
		return f == r.n
	case ">":
		return f > r.n
	case ">=":
		return f >= r.n
	}
	return false
}

// wildcard matches s against a pattern where * is any run of characters and \* a literal star.
func wildcard(pat, s string) bool {
	// Split the pattern into literal segments separated by unescaped stars.
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(pat); i++ {
		switch {
		case pat[i] == '\\' && i+1 < len(pat) && pat[i+1] == '*':
			cur.WriteByte('*')
			i++
		case pat[i] == '*':
			segs = append(segs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(pat[i])
		}
	}
	segs = append(segs, cur.String())
	if len(segs) == 1 {
		return s == segs[0]
	}
	if !strings.HasPrefix(s, segs[0]) {
		return false
	}
	s = s[len(segs[0]):]
	last := segs[len(segs)-1]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return strconv.Quote(fmt.Sprint(v))
	}
	return string(b)
}
