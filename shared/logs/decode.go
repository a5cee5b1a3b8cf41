package logs

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Decoder decodes records of CloudWatch Logs subscription documents. It reuses
// one gzip reader and its buffers across records: create one per goroutine and
// keep it (it is not safe for concurrent use). In steady state Decode does not
// allocate; it keeps a buffer as large as the largest decompressed record so far
// (bounded by Limits.MaxDecodedBytes).
type Decoder struct {
	limits Limits

	gz  gzip.Reader
	src bytes.Reader
	out []byte // decompressed record, kept for the next one

	s   scanner
	doc Document
	ev  Event

	// unescape buffers, one per slice that must stay valid alongside the others
	typeBuf, ownerBuf, groupBuf, streamBuf, idBuf, msgBuf []byte
}

// NewDecoder returns a decoder that enforces limits (zero fields take their
// defaults, see DefaultLimits).
func NewDecoder(limits Limits) *Decoder {
	return &Decoder{limits: limits.withDefaults()}
}

// isGzip reports whether data starts with the gzip magic number.
func isGzip(data []byte) bool {
	return len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

// Gunzip returns a record's plain bytes, exactly as Decode obtains them: data
// itself when it is not gzip (no copy), else its decompression (all members of
// a multi-member stream) into the decoder's reusable buffer. The result is valid
// until the next call of Gunzip or Decode. Errors wrap ErrTooLarge (record or
// decompressed size over the limits) or ErrMalformed (corrupt gzip).
func (d *Decoder) Gunzip(data []byte) ([]byte, error) {
	if len(data) > d.limits.MaxRecordBytes {
		return nil, fmt.Errorf("logs: record of %d bytes exceeds %d: %w", len(data), d.limits.MaxRecordBytes, ErrTooLarge)
	}
	if !isGzip(data) {
		if len(data) > d.limits.MaxDecodedBytes {
			return nil, fmt.Errorf("logs: record of %d bytes exceeds %d: %w", len(data), d.limits.MaxDecodedBytes, ErrTooLarge)
		}
		return data, nil
	}
	d.src.Reset(data)
	if err := d.gz.Reset(&d.src); err != nil {
		return nil, fmt.Errorf("logs: gzip header: %v: %w", err, ErrMalformed)
	}
	limit := d.limits.MaxDecodedBytes
	out := d.out[:0]
	if cap(out) == 0 && len(data) >= 4 {
		// The trailer holds the (last member's) size mod 2^32: a good first guess.
		t := data[len(data)-4:]
		n := int(uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24)
		out = make([]byte, 0, min(max(n, 4096), limit)+1)
	}
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)] // grow
		}
		n, err := d.gz.Read(out[len(out):min(cap(out), limit+1)])
		out = out[:len(out)+n]
		if len(out) > limit {
			d.out = nil // a bomb's buffer is not worth keeping
			return nil, fmt.Errorf("logs: record decompresses to more than %d bytes: %w", limit, ErrTooLarge)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.out = out[:0]
			return nil, fmt.Errorf("logs: gunzip at decompressed offset %d: %v: %w", len(out), err, ErrMalformed)
		}
	}
	d.out = out
	return out, nil
}

// Decode decodes one record: data is gzip (possibly multi-member) or plain, and
// holds one or more CloudWatch Logs subscription documents, concatenated with
// optional whitespace between them. Keys may come in any order and unknown keys
// are skipped. For each document it calls h.Document, then h.Event for each log
// event (unless Document returned false), then h.EndDocument.
//
// The Document and Event passed to h, and their byte slices, are reused: they are
// valid only during the call (Document's until EndDocument). Copy what you keep.
//
// Decode streams: when it returns an error, h may already have received
// documents and events of this record (see Handler); discard them. Errors wrap
// ErrMalformed (not gzip or JSON of the expected shape; the message names the
// offset in the plain bytes and what was expected) or ErrTooLarge (limits).
//
// Null for a known field reads as its zero value; a duplicated known key is
// malformed; an empty record (no document) is malformed.
func (d *Decoder) Decode(data []byte, h Handler) error {
	plain, err := d.Gunzip(data)
	if err != nil {
		return err
	}
	if err := d.scan(plain, h); err != nil {
		return fmt.Errorf("logs: decode: %w", err)
	}
	return nil
}

func (d *Decoder) scan(data []byte, h Handler) error {
	s := &d.s
	s.data, s.pos = data, 0
	defer func() { s.data = nil }()
	docs := 0
	for {
		s.skipSpace()
		if s.pos == len(data) {
			break
		}
		if docs == d.limits.MaxDocuments {
			return s.errorf(ErrTooLarge, "more than %d documents in one record", d.limits.MaxDocuments)
		}
		docs++
		if err := d.document(h); err != nil {
			return err
		}
	}
	if docs == 0 {
		return s.errorf(ErrMalformed, "empty record: expected a document")
	}
	return nil
}

// seen bits of a document's known keys.
const (
	seenType = 1 << iota
	seenOwner
	seenGroup
	seenStream
	seenEvents

	seenHeader = seenType | seenOwner | seenGroup | seenStream
)

var (
	dataMessage    = []byte("DATA_MESSAGE")
	controlMessage = []byte("CONTROL_MESSAGE")
)

func messageType(b []byte) MessageType {
	switch {
	case bytes.Equal(b, dataMessage):
		return MessageData
	case bytes.Equal(b, controlMessage):
		return MessageControl
	}
	return MessageUnknown
}

// document scans one document at s.pos. In the usual key order (logEvents after
// the header fields) events are handed out as they are scanned; otherwise the
// events array is validated, remembered and scanned again once the header is
// complete.
func (d *Decoder) document(h Handler) error {
	s := &d.s
	if s.peek() != '{' {
		return s.expected("'{' starting a document")
	}
	s.pos++
	doc := &d.doc
	*doc = Document{}
	var seen uint8
	eventsAt := -1
	started, accepted := false, false
	if !s.consume('}') {
		for {
			k, err := s.key()
			if err != nil {
				return err
			}
			var bit uint8
			switch string(k) {
			case "messageType":
				bit = seenType
			case "owner":
				bit = seenOwner
			case "logGroup":
				bit = seenGroup
			case "logStream":
				bit = seenStream
			case "logEvents":
				bit = seenEvents
			}
			if seen&bit != 0 {
				return s.errorf(ErrMalformed, "duplicate key %q in document", k)
			}
			seen |= bit
			switch bit {
			case seenType:
				var v []byte
				v, err = s.stringOrNull(&d.typeBuf, "messageType")
				doc.Type = messageType(v)
			case seenOwner:
				doc.Owner, err = s.stringOrNull(&d.ownerBuf, "owner")
			case seenGroup:
				doc.LogGroup, err = s.stringOrNull(&d.groupBuf, "logGroup")
			case seenStream:
				doc.LogStream, err = s.stringOrNull(&d.streamBuf, "logStream")
			case seenEvents:
				if c := s.peek(); c != '[' && c != 'n' {
					return s.expected("an array for logEvents")
				}
				if seen&seenHeader == seenHeader {
					started = true
					accepted = h.Document(doc)
					if accepted {
						err = d.events(h)
					} else {
						err = s.skipValue(1)
					}
				} else {
					eventsAt = s.pos
					err = s.skipValue(1)
				}
			default:
				err = s.skipValue(1)
			}
			if err != nil {
				return err
			}
			more, err := s.more('}')
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	if !started {
		accepted = h.Document(doc)
		if accepted && eventsAt >= 0 {
			end := s.pos
			s.pos = eventsAt
			if err := d.events(h); err != nil {
				return err
			}
			s.pos = end
		}
	}
	h.EndDocument(doc)
	return nil
}

// events scans a logEvents array (or null) at s.pos, handing out each event.
func (d *Decoder) events(h Handler) error {
	s := &d.s
	if s.peek() == 'n' {
		return s.literal("null")
	}
	s.pos++ // '[' checked by the caller
	if s.consume(']') {
		return nil
	}
	for {
		s.skipSpace()
		if err := d.event(); err != nil {
			return err
		}
		h.Event(&d.doc, &d.ev)
		more, err := s.more(']')
		if err != nil || !more {
			return err
		}
	}
}

// event scans one log event object at s.pos into d.ev.
func (d *Decoder) event() error {
	s := &d.s
	if s.peek() != '{' {
		return s.expected("'{' starting a log event")
	}
	s.pos++
	ev := &d.ev
	*ev = Event{}
	if s.consume('}') {
		return nil
	}
	var seen uint8
	for {
		// Fast path: the known keys, written compactly, are matched in place.
		var bit uint8
		s.skipSpace()
		if s.pos+1 < len(s.data) && s.data[s.pos] == '"' {
			switch s.data[s.pos+1] {
			case 'i':
				if s.fastKey(`"id":`) {
					bit = 1
				}
			case 't':
				if s.fastKey(`"timestamp":`) {
					bit = 2
				}
			case 'm':
				if s.fastKey(`"message":`) {
					bit = 4
				}
			}
		}
		if bit == 0 {
			k, err := s.key()
			if err != nil {
				return err
			}
			switch string(k) {
			case "id":
				bit = 1
			case "timestamp":
				bit = 2
			case "message":
				bit = 4
			}
		}
		if seen&bit != 0 {
			return s.errorf(ErrMalformed, "duplicate key in log event")
		}
		seen |= bit
		var err error
		switch bit {
		case 1:
			ev.ID, err = s.stringOrNull(&d.idBuf, "id")
		case 2:
			ev.Timestamp, err = s.int64OrNull("timestamp")
		case 4:
			ev.Message, err = s.stringOrNull(&d.msgBuf, "message")
		default:
			err = s.skipValue(3) // document, logEvents, event
		}
		if err != nil {
			return err
		}
		more, err := s.more('}')
		if err != nil || !more {
			return err
		}
	}
}
