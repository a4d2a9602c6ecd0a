package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// A request document is refused, before it is decoded into anything the
// handlers read, when it holds what the server could not store or read
// back faithfully, or what another reader of the same bytes could read
// differently:
//   - U+0000 (a raw byte or the \u0000 escape) in a string or member name:
//     PostgreSQL cannot store it in text;
//   - bytes that are not UTF-8, or an escape of half a surrogate pair
//     (\ud800): encoding/json would silently replace them with U+FFFD;
//   - a member name that appears twice in one object: encoding/json keeps
//     the last, other readers the first.
//
// scanBody finds them in one pass over the bytes, with the nesting depth.

// bodyScan is what scanBody found in a request body.
type bodyScan struct {
	// tooDeep is set when arrays and objects nest deeper than the limit:
	// the body is refused before it is decoded.
	tooDeep bool
	// problem is the first NUL, invalid UTF-8 or duplicate member name, a
	// 400 with the pointer of its member; at is its byte offset. The
	// decoder's syntax errors are reported instead when they come first.
	problem *Error
	at      int
}

// scanFrame is an object or array scanBody is inside.
type scanFrame struct {
	object    bool
	expectKey bool                // object: the next string is a member name
	key       []byte              // object: the name of the current member, decoded
	index     int                 // array: the index of the current element
	keys      int                 // object: where its names start in bodyScanner.keys
	set       map[string]struct{} // object with many members: its names
}

// bodyScanner is scanBody's state.
type bodyScanner struct {
	frames []scanFrame
	keys   [][]byte // the names of the open objects, innermost last
	bodyScan
}

// scanners keeps bodyScanners for reuse: the hot path allocates nothing
// to scan a body.
var scanners = sync.Pool{New: func() any { return new(bodyScanner) }}

// release clears s, so that it holds nothing of the body it scanned, and
// returns it to scanners.
func (s *bodyScanner) release() {
	clear(s.frames[:cap(s.frames)])
	clear(s.keys[:cap(s.keys)])
	s.frames, s.keys, s.bodyScan = s.frames[:0], s.keys[:0], bodyScan{}
	scanners.Put(s)
}

// setBefore is the number of members above which an object's names are
// kept in a map rather than compared one by one.
const setBefore = 16

// scanBody scans a request body's bytes once, without building anything:
// it reports nesting deeper than maxDepth, and the first U+0000, invalid
// UTF-8 (raw bytes or an unpaired surrogate escape) or duplicate member
// name, with the JSON pointer (RFC 6901) of the member at fault. It tracks
// the document's structure leniently: for a body that is not valid JSON
// its findings are only meaningful before the first syntax error, which
// the decoder reports.
func scanBody(raw []byte, maxDepth int) bodyScan {
	s := scanners.Get().(*bodyScanner)
	defer s.release()
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			i = s.str(raw, i)
		case '{', '[':
			depth++
			if depth > maxDepth {
				return bodyScan{tooDeep: true}
			}
			s.frames = append(s.frames, scanFrame{object: raw[i] == '{', expectKey: true, keys: len(s.keys)})
		case '}', ']':
			depth--
			if n := len(s.frames); n > 0 {
				s.keys = s.keys[:s.frames[n-1].keys]
				s.frames = s.frames[:n-1]
			}
		case ',':
			if n := len(s.frames); n > 0 {
				if f := &s.frames[n-1]; f.object {
					f.expectKey = true
				} else {
					f.index++
				}
			}
		case ':':
			if n := len(s.frames); n > 0 {
				s.frames[n-1].expectKey = false
			}
		}
	}
	return s.bodyScan
}

// str scans the string whose opening quote is raw[start] and returns the
// index of its closing quote (len(raw) if it has none). A string where an
// object expects a member name is the name of the member that follows.
func (s *bodyScanner) str(raw []byte, start int) int {
	var f *scanFrame
	if n := len(s.frames); n > 0 && s.frames[n-1].object && s.frames[n-1].expectKey {
		f = &s.frames[n-1]
		f.expectKey = false
	}
	check := s.problem == nil
	bad, badAt := "", 0
	flag := func(at int, why string) {
		if check && bad == "" {
			bad, badAt = why, at
		}
	}
	high := -1 // the offset of a \u escape of a high surrogate awaiting its low half
	escaped := false
	end := start + 1
scan:
	for ; end < len(raw); end++ {
		c := raw[end]
		if c < utf8.RuneSelf && c != '"' && c != '\\' && c != 0 && high < 0 {
			continue // the common case
		}
		isU := c == '\\' && end+1 < len(raw) && raw[end+1] == 'u'
		if high >= 0 && !isU {
			flag(high, unpaired(raw, high))
			high = -1
		}
		switch {
		case c == '"':
			break scan
		case isU:
			escaped = true
			r, ok := hex4(raw, end+2)
			if !ok {
				end++ // malformed: left to the decoder
				continue
			}
			if high >= 0 {
				if r >= 0xDC00 && r <= 0xDFFF {
					high = -1
					end += 5
					continue
				}
				flag(high, unpaired(raw, high))
				high = -1
			}
			switch {
			case r == 0:
				flag(end, `contains U+0000 (the \u0000 escape), which is not accepted`)
			case r >= 0xD800 && r <= 0xDBFF:
				high = end
			case r >= 0xDC00 && r <= 0xDFFF:
				flag(end, unpaired(raw, end))
			}
			end += 5
		case c == '\\':
			escaped = true
			end++
		case c == 0:
			flag(end, "contains U+0000 (NUL), which is not accepted")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[end:])
			if r == utf8.RuneError && size == 1 {
				flag(end, "is not valid UTF-8")
			}
			end += size - 1
		}
	}
	if high >= 0 {
		flag(high, unpaired(raw, high))
	}
	if f == nil {
		if bad != "" {
			s.fail(badAt, "the string "+bad)
		}
		return end
	}
	name := raw[start+1 : min(end, len(raw))]
	if escaped {
		var decoded string
		if json.Unmarshal(raw[start:min(end+1, len(raw))], &decoded) == nil {
			name = []byte(decoded)
		}
	}
	f.key = name
	switch {
	case !check:
	case bad != "":
		s.fail(badAt, "the member name "+bad)
	case s.seen(f, name):
		s.fail(start, "member "+strconv.Quote(strings.ToValidUTF8(string(name), "\uFFFD"))+
			" appears more than once in this object; send each member once")
	}
	return end
}

// unpaired describes the escape at raw[i] of half a surrogate pair
// without its other half, which encoding/json would decode as U+FFFD.
func unpaired(raw []byte, i int) string {
	return `contains an unpaired surrogate escape (` + string(raw[i:i+6]) + `), which is not valid UTF-8`
}

// hex4 reads the four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// seen reports whether object f already has a member named name, and
// records it.
func (s *bodyScanner) seen(f *scanFrame, name []byte) bool {
	if f.set != nil {
		if _, ok := f.set[string(name)]; ok {
			return true
		}
		f.set[string(name)] = struct{}{}
		return false
	}
	for _, k := range s.keys[f.keys:] {
		if bytes.Equal(k, name) {
			return true
		}
	}
	s.keys = append(s.keys, name)
	if len(s.keys)-f.keys > setBefore {
		f.set = make(map[string]struct{}, 2*setBefore)
		for _, k := range s.keys[f.keys:] {
			f.set[string(k)] = struct{}{}
		}
		s.keys = s.keys[:f.keys]
	}
	return false
}

// fail records the first problem, at byte offset at, with the pointer of
// the current member.
func (s *bodyScanner) fail(at int, detail string) {
	if s.problem != nil {
		return
	}
	s.problem, s.at = errBadRequest(s.pointer(), "%s", detail), at
}

// pointer returns the JSON pointer of the current member: the current
// member name or index of every open object and array.
func (s *bodyScanner) pointer() string {
	var b strings.Builder
	for _, f := range s.frames {
		b.WriteByte('/')
		if f.object {
			b.WriteString(escapePointer(strings.ToValidUTF8(string(f.key), "\uFFFD")))
		} else {
			b.WriteString(strconv.Itoa(f.index))
		}
	}
	return b.String()
}
