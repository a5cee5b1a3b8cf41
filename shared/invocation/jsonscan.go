package invocation

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// A lenient, allocation-free JSON object scanner. Lambda's documented examples
// (testdata 07) carry trailing commas, missing commas and a missing colon, and
// logs are untrusted, so separators are optional here: an object is a sequence of
// "key" [:] value [,]. Values are returned raw; strings are decoded on demand.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	j := i + 1
	// Most strings are short keys and values: a plain loop beats IndexByte's call.
	for end := min(len(b), j+24); j < end; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	for {
		if j >= len(b) {
			return -1
		}
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for q := j - 1; q > i && b[q] == '\\'; q-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j := skipString(b, i)
				if j < 0 {
					return -1
				}
				i = j
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case '}', ']', ',', ':':
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	return j
}

// object iterates over the members of one JSON object.
type object struct {
	b   []byte
	i   int
	bad bool // the object was malformed where iteration stopped
}

// openObject starts iterating the object that b holds (after optional whitespace).
func openObject(b []byte) (object, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return object{}, false
	}
	return object{b: b, i: i + 1}, true
}

// next returns the next member: its key (raw, without quotes) and raw value.
func (o *object) next() (key, val []byte, ok bool) {
	b := o.b
	i := skipWS(b, o.i)
	for i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] == '}' {
		o.i = len(b)
		return nil, nil, false
	}
	if b[i] != '"' {
		o.bad, o.i = true, len(b)
		return nil, nil, false
	}
	j := skipString(b, i)
	if j < 0 {
		o.bad, o.i = true, len(b)
		return nil, nil, false
	}
	key = b[i+1 : j-1]
	i = skipWS(b, j)
	if i < len(b) && b[i] == ':' {
		i = skipWS(b, i+1)
	}
	e := skipValue(b, i)
	if e < 0 {
		o.bad, o.i = true, len(b)
		return nil, nil, false
	}
	o.i = e
	return key, b[i:e], true
}

// array iterates over the elements of one JSON array.
type array struct {
	b []byte
	i int
}

func openArray(b []byte) (array, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return array{}, false
	}
	return array{b: b, i: i + 1}, true
}

func (a *array) next() ([]byte, bool) {
	b := a.b
	i := skipWS(b, a.i)
	for i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		a.i = len(b)
		return nil, false
	}
	e := skipValue(b, i)
	if e < 0 {
		a.i = len(b)
		return nil, false
	}
	a.i = e
	return b[i:e], true
}

// isString reports whether a raw value is a JSON string.
func isString(raw []byte) bool { return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' }

// str decodes a raw JSON string value. Without escapes it returns a sub-slice of
// raw; otherwise it decodes into buf (which it may grow) and returns that.
// A non-string value yields nil.
func str(raw []byte, buf *[]byte) []byte {
	if !isString(raw) {
		return nil
	}
	s := raw[1 : len(raw)-1]
	esc := false
	for _, c := range s {
		if c == '\\' {
			esc = true
			break
		}
	}
	if !esc {
		return s
	}
	out := (*buf)[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r, n := hex4(s[i+1:])
			if n == 0 {
				out = append(out, '\\', 'u')
				continue
			}
			i += n
			if r >= 0xD800 && r < 0xDC00 && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, n2 := hex4(s[i+3:]); n2 > 0 && r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					i += 2 + n2
				}
			}
			out = utf8.AppendRune(out, r)
		default: // \" \\ \/ and anything unknown: the character itself
			out = append(out, s[i])
		}
	}
	*buf = out
	return out
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}

// number parses a decimal number without allocating: digits with an optional
// sign and fraction, exact as strconv for up to 15 significant digits; other
// forms (exponents, long mantissas) fall back to strconv.
func number(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	n, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			if n == 15 {
				return slowNumber(b)
			}
			mant = mant*10 + uint64(c-'0')
			n++
			if frac >= 0 {
				frac++
			}
			continue
		}
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		return slowNumber(b)
	}
	if n == 0 {
		return 0, false
	}
	f := float64(mant)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16}

func slowNumber(b []byte) (float64, bool) {
	if len(b) > 64 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}
