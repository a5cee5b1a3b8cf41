package telemetry

import "errors"

// errSyntax is a payload whose JSON is not well-formed (or nests too deep).
var errSyntax = errors.New("invalid JSON")

// maxDepth bounds the nesting of a payload's JSON.
const maxDepth = 64

// jsonScan validates one JSON document and reads what a Summary needs from its top
// level: the element counts of "spans" and "errors", "sampled", and whether
// "traceId" is a non-empty string. It accepts exactly what encoding/json's Valid
// accepts (the fuzz test holds it to that) and does not allocate.
type jsonScan struct {
	b   []byte
	pos int
}

type summaryFields struct {
	spans, errors int
	sampled       bool
	traceID       bool
	object        bool // the document is an object
}

func scanSummary(b []byte) (summaryFields, error) {
	s := jsonScan{b: b}
	var f summaryFields
	s.ws()
	if s.pos < len(b) && b[s.pos] == '{' {
		f.object = true
		if err := s.topObject(&f); err != nil {
			return f, err
		}
	} else if err := s.value(0); err != nil {
		return f, err
	}
	s.ws()
	if s.pos != len(b) {
		return f, errSyntax
	}
	return f, nil
}

func (s *jsonScan) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// topObject is value() for the top-level object, noting the summary's fields.
func (s *jsonScan) topObject(f *summaryFields) error {
	s.pos++ // '{'
	s.ws()
	if s.pos < len(s.b) && s.b[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		start := s.pos
		if err := s.str(); err != nil {
			return err
		}
		key := s.b[start+1 : s.pos-1]
		s.ws()
		if s.pos >= len(s.b) || s.b[s.pos] != ':' {
			return errSyntax
		}
		s.pos++
		s.ws()
		vstart := s.pos
		switch string(key) {
		case "spans", "errors":
			n, err := s.arrayCount()
			if err != nil {
				return err
			}
			if string(key) == "spans" {
				f.spans = n
			} else {
				f.errors = n
			}
		default:
			if err := s.value(1); err != nil {
				return err
			}
			v := s.b[vstart:s.pos]
			switch string(key) {
			case "sampled":
				f.sampled = string(v) == "true"
			case "traceId":
				f.traceID = len(v) > 2 && v[0] == '"'
			}
		}
		s.ws()
		if s.pos >= len(s.b) {
			return errSyntax
		}
		switch s.b[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// arrayCount skips an array (or null) and returns its number of elements.
func (s *jsonScan) arrayCount() (int, error) {
	if s.pos < len(s.b) && s.b[s.pos] != '[' {
		return 0, s.value(1)
	}
	s.pos++
	s.ws()
	if s.pos < len(s.b) && s.b[s.pos] == ']' {
		s.pos++
		return 0, nil
	}
	for n := 1; ; n++ {
		s.ws()
		if err := s.value(2); err != nil {
			return 0, err
		}
		s.ws()
		if s.pos >= len(s.b) {
			return 0, errSyntax
		}
		switch s.b[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return n, nil
		default:
			return 0, errSyntax
		}
	}
}

func (s *jsonScan) value(depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	if s.pos >= len(s.b) {
		return errSyntax
	}
	switch c := s.b[s.pos]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.container(depth, '}', true)
	case c == '[':
		return s.container(depth, ']', false)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num()
	}
	return errSyntax
}

func (s *jsonScan) container(depth int, end byte, object bool) error {
	s.pos++
	s.ws()
	if s.pos < len(s.b) && s.b[s.pos] == end {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if object {
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.b) || s.b[s.pos] != ':' {
				return errSyntax
			}
			s.pos++
			s.ws()
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.b) {
			return errSyntax
		}
		switch s.b[s.pos] {
		case ',':
			s.pos++
		case end:
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *jsonScan) lit(word string) error {
	if len(s.b)-s.pos < len(word) || string(s.b[s.pos:s.pos+len(word)]) != word {
		return errSyntax
	}
	s.pos += len(word)
	return nil
}

func (s *jsonScan) str() error {
	if s.pos >= len(s.b) || s.b[s.pos] != '"' {
		return errSyntax
	}
	s.pos++
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case c == '"':
			s.pos++
			return nil
		case c == '\\':
			if s.pos+1 >= len(s.b) {
				return errSyntax
			}
			switch s.b[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if s.pos+6 > len(s.b) {
					return errSyntax
				}
				for _, h := range s.b[s.pos+2 : s.pos+6] {
					if !isHex(h) {
						return errSyntax
					}
				}
				s.pos += 6
			default:
				return errSyntax
			}
		case c < 0x20:
			return errSyntax
		default:
			s.pos++
		}
	}
	return errSyntax
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *jsonScan) num() error {
	b, i := s.b, s.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return errSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return errSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return nil
}
