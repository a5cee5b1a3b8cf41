package logs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// maxDepth is the deepest nesting of an unknown value the scanner skips; it
// matches encoding/json's limit.
const maxDepth = 10000

// scanner is a hand-written JSON lexer over one in-memory buffer. It never
// allocates except to grow the caller's unescape buffers, and it hands out slices
// of its input when a string holds no escape.
//
// Leniency (documented, deliberate): string contents are passed through as bytes,
// so raw control characters and invalid UTF-8 inside strings are not rejected
// (CloudWatch Logs never emits them; checking would halve the scanner's speed).
// Everything else follows RFC 8259.
type scanner struct {
	data []byte
	pos  int
	// scratch receives unescaped keys and skipped strings.
	scratch []byte
}

// errorf builds an error wrapping kind, with the offset the scanner stopped at.
// It is kept out of the inlined hot paths.
func (s *scanner) errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", s.pos, fmt.Sprintf(format, args...), kind)
}

// expected reports a syntax error: what was expected at the current offset.
func (s *scanner) expected(what string) error {
	if s.pos >= len(s.data) {
		return s.errorf(ErrMalformed, "unexpected end of data, expected %s", what)
	}
	return s.errorf(ErrMalformed, "expected %s, found %q", what, s.data[s.pos])
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		if c := s.data[s.pos]; c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			return
		}
		s.pos++
	}
}

// peek returns the byte at the current offset, or 0 at the end.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// consume skips whitespace and then c if it is next.
func (s *scanner) consume(c byte) bool {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// key reads an object key and the colon after it. The key is unescaped into
// s.scratch when needed; it is valid until the next use of scratch.
func (s *scanner) key() ([]byte, error) {
	s.skipSpace()
	if s.peek() != '"' {
		return nil, s.expected("'\"' starting an object key")
	}
	k, err := s.str(&s.scratch)
	if err != nil {
		return nil, err
	}
	if !s.consume(':') {
		return nil, s.expected("':' after an object key")
	}
	s.skipSpace()
	return k, nil
}

// fastKey consumes lit (a quoted key and its colon, e.g. `"id":`) and the
// whitespace after it when the input continues with exactly lit.
func (s *scanner) fastKey(lit string) bool {
	if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		s.skipSpace()
		return true
	}
	return false
}

// more reads the separator after an object member or array element: it reports
// true after ',' and false after the closing byte.
func (s *scanner) more(closing byte) (bool, error) {
	s.skipSpace()
	if s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',':
			s.pos++
			return true, nil
		case closing:
			s.pos++
			return false, nil
		}
	}
	if closing == '}' {
		return false, s.expected("',' or '}' after an object member")
	}
	return false, s.expected("',' or ']' after an array element")
}

// str reads the string whose opening quote is at s.pos. Without escapes it
// returns a slice of the input; otherwise it unescapes into *buf.
func (s *scanner) str(buf *[]byte) ([]byte, error) {
	start := s.pos + 1
	rest := s.data[start:]
	i := special(rest)
	if i < 0 {
		s.pos = len(s.data)
		return nil, s.expected("'\"' closing a string")
	}
	if rest[i] == '"' {
		s.pos = start + i + 1
		return rest[:i], nil
	}
	return s.unescape(start, start+i, buf)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special returns the index of the first '"' or '\\' in b, or -1. It tests 8
// bytes at a time (SWAR): faster than two bytes.IndexByte calls on the short
// strings of log events, and a single pass.
func special(b []byte) int {
	n := len(b)
	for len(b) >= 16 {
		x1 := binary.LittleEndian.Uint64(b)
		x2 := binary.LittleEndian.Uint64(b[8:])
		q1, e1 := x1^(lsb*'"'), x1^(lsb*'\\')
		q2, e2 := x2^(lsb*'"'), x2^(lsb*'\\')
		// A zero byte of q or e is a match; the lowest flagged byte is exact.
		m1 := ((q1 - lsb) &^ q1) | ((e1 - lsb) &^ e1)
		m2 := ((q2 - lsb) &^ q2) | ((e2 - lsb) &^ e2)
		if (m1|m2)&msb != 0 {
			if m1&msb != 0 {
				return n - len(b) + bits.TrailingZeros64(m1&msb)/8
			}
			return n - len(b) + 8 + bits.TrailingZeros64(m2&msb)/8
		}
		b = b[16:]
	}
	if len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		q, e := x^(lsb*'"'), x^(lsb*'\\')
		if m := ((q - lsb) &^ q) | ((e - lsb) &^ e); m&msb != 0 {
			return n - len(b) + bits.TrailingZeros64(m&msb)/8
		}
		b = b[8:]
	}
	for i, c := range b {
		if c == '"' || c == '\\' {
			return n - len(b) + i
		}
	}
	return -1
}

// unescape decodes the string body starting at start, whose first backslash is
// at b, into *buf.
func (s *scanner) unescape(start, b int, buf *[]byte) ([]byte, error) {
	data := s.data
	out := append((*buf)[:0], data[start:b]...)
	i := b
	for {
		// data[i] is a backslash.
		if i+1 >= len(data) {
			*buf = out
			s.pos = len(data)
			return nil, s.expected("an escape character after '\\'")
		}
		switch c := data[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
			i += 2
		case 'b':
			out = append(out, '\b')
			i += 2
		case 'f':
			out = append(out, '\f')
			i += 2
		case 'n':
			out = append(out, '\n')
			i += 2
		case 'r':
			out = append(out, '\r')
			i += 2
		case 't':
			out = append(out, '\t')
			i += 2
		case 'u':
			r := hex4(data[i+2:])
			if r < 0 {
				*buf = out
				s.pos = i
				return nil, s.errorf(ErrMalformed, "invalid \\u escape: expected 4 hex digits")
			}
			i += 6
			if r >= 0xD800 && r < 0xE000 { // surrogate: combine a valid pair, else U+FFFD
				r2 := rune(-1)
				if r < 0xDC00 && i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
					r2 = hex4(data[i+2:])
				}
				if r2 >= 0xDC00 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			*buf = out
			s.pos = i
			return nil, s.errorf(ErrMalformed, "invalid escape %q", []byte{'\\', c})
		}
		// Copy up to the next quote or backslash, 8 bytes at a time: the word is
		// stored whole, then only its bytes before the match are kept.
		for {
			if i+8 > len(data) {
				j := special(data[i:])
				if j < 0 {
					*buf = out
					s.pos = len(data)
					return nil, s.expected("'\"' closing a string")
				}
				out = append(out, data[i:i+j]...)
				i += j
				break
			}
			if cap(out)-len(out) < 8 {
				out = slices.Grow(out, 64)
			}
			x := binary.LittleEndian.Uint64(data[i:])
			binary.LittleEndian.PutUint64(out[len(out):len(out)+8], x)
			q, e := x^(lsb*'"'), x^(lsb*'\\')
			if m := (((q - lsb) &^ q) | ((e - lsb) &^ e)) & msb; m != 0 {
				k := bits.TrailingZeros64(m) / 8
				out = out[:len(out)+k]
				i += k
				break
			}
			out = out[:len(out)+8]
			i += 8
		}
		if data[i] == '"' {
			*buf = out
			s.pos = i + 1
			return out, nil
		}
	}
}

// hex4 decodes 4 hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// stringOrNull reads a string value (unescaped into *buf when needed) or null,
// which reads as empty.
func (s *scanner) stringOrNull(buf *[]byte, what string) ([]byte, error) {
	switch s.peek() {
	case '"':
		return s.str(buf)
	case 'n':
		return nil, s.literal("null")
	}
	return nil, s.expected("a string for " + what)
}

// int64OrNull reads an integer value or null (zero). Fractions, exponents and
// values outside int64 are errors, as they are for encoding/json into an int64.
func (s *scanner) int64OrNull(what string) (int64, error) {
	data := s.data
	i := s.pos
	if i < len(data) && data[i] == 'n' {
		return 0, s.literal("null")
	}
	neg := false
	if i < len(data) && data[i] == '-' {
		neg = true
		i++
	}
	if i >= len(data) || data[i] < '0' || data[i] > '9' {
		s.pos = i
		return 0, s.expected("an integer for " + what)
	}
	var u uint64
	if data[i] == '0' {
		i++
	} else {
		start := i
		for i < len(data) && data[i]-'0' <= 9 {
			u = u*10 + uint64(data[i]-'0')
			i++
		}
		// Without a leading zero, 20 or more digits are beyond int64; 19 fit in
		// a uint64 without wrapping.
		if i-start > 19 {
			s.pos = start
			return 0, s.errorf(ErrMalformed, "%s out of range", what)
		}
	}
	s.pos = i
	if i < len(data) {
		switch data[i] {
		case '.', 'e', 'E':
			return 0, s.errorf(ErrMalformed, "expected an integer for %s, found a fraction or exponent", what)
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 0, s.errorf(ErrMalformed, "leading zero in %s", what)
		}
	}
	if neg {
		if u > 1<<63 {
			return 0, s.errorf(ErrMalformed, "%s out of range", what)
		}
		return -int64(u), nil
	}
	if u > math.MaxInt64 {
		return 0, s.errorf(ErrMalformed, "%s out of range", what)
	}
	return int64(u), nil
}

// literal reads the literal lit (true, false or null) at s.pos.
func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return s.expected("'" + lit + "'")
	}
	s.pos += len(lit)
	return nil
}

// skipValue skips one JSON value at s.pos (whitespace before it already skipped),
// validating it. depth is the nesting depth of the value (0 at the top level).
func (s *scanner) skipValue(depth int) error {
	switch c := s.peek(); c {
	case '"':
		_, err := s.str(&s.scratch)
		return err
	case '{':
		if depth >= maxDepth {
			return s.errorf(ErrMalformed, "nesting deeper than %d", maxDepth)
		}
		s.pos++
		if s.consume('}') {
			return nil
		}
		for {
			if _, err := s.key(); err != nil {
				return err
			}
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			more, err := s.more('}')
			if err != nil || !more {
				return err
			}
		}
	case '[':
		if depth >= maxDepth {
			return s.errorf(ErrMalformed, "nesting deeper than %d", maxDepth)
		}
		s.pos++
		if s.consume(']') {
			return nil
		}
		for {
			s.skipSpace()
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			more, err := s.more(']')
			if err != nil || !more {
				return err
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return s.skipNumber()
	}
	return s.expected("a JSON value")
}

// skipNumber skips a number with the full JSON grammar.
func (s *scanner) skipNumber() error {
	data := s.data
	i := s.pos
	digits := func() bool {
		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i > start
	}
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case !digits():
		s.pos = i
		return s.expected("a digit")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			s.pos = i
			return s.expected("a digit after '.'")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			s.pos = i
			return s.expected("a digit in the exponent")
		}
	}
	s.pos = i
	return nil
}
