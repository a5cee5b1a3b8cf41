// Package logs decodes CloudWatch Logs subscription data as it reaches Sightline:
// the delivery envelopes (Kinesis records, Firehose HTTP endpoint requests, Firehose
// transformation events, direct subscription events) and the DATA_MESSAGE /
// CONTROL_MESSAGE documents inside them, gzip'd or plain, one or several concatenated.
//
// The document scanner is the hot path of ingest: it reuses its buffers and gzip
// reader and hands out events whose byte slices stay valid only until the next call.
package logs

import "errors"

// Record is one unit of delivery from a source: a Kinesis record, a Firehose record,
// or the payload of a direct subscription event.
type Record struct {
	// ID identifies the record at its source: the Kinesis sequence number, the
	// Firehose recordId, or the index of the record in its batch.
	ID string
	// Data is the record's data as delivered (already base64-decoded): gzip or plain,
	// one JSON document or several concatenated without a delimiter.
	Data []byte
}

// MessageType is the messageType of a subscription document.
type MessageType uint8

const (
	MessageUnknown MessageType = iota
	MessageData                // DATA_MESSAGE
	MessageControl             // CONTROL_MESSAGE
)

// Document is the header of one subscription document. Its byte slices are valid
// until the next document is started.
type Document struct {
	Type      MessageType
	Owner     []byte // the AWS account id that owns the log group
	LogGroup  []byte
	LogStream []byte
}

// Event is one log event of a document. Its byte slices are valid until the next
// event is handed out.
type Event struct {
	ID        []byte
	Timestamp int64  // milliseconds since the Unix epoch
	Message   []byte // JSON-unescaped message text
}

// Handler receives the documents and events of a record, in order.
//
// The decoder streams: it does not validate a whole document before handing out
// its header and events. When Decode returns an error, the handler may already
// have received documents and events of that record (including those of earlier,
// valid documents of the same record); the caller must then discard everything it
// accumulated for the record and treat the record as a whole as bad input. A record
// counts only when Decode returns nil.
type Handler interface {
	// Document starts a document; returning false skips its events
	// (e.g. CONTROL_MESSAGE, or an owner the tenant may not send).
	Document(d *Document) bool
	// Event is one log event of the current document.
	Event(d *Document, e *Event)
	// EndDocument ends the current document (also called after a skipped one).
	// It is called only for a document that was scanned to its closing brace.
	EndDocument(d *Document)
}

// Errors carry a kind; a record that fails with any of them is bad input:
// permanent, counted, and skipped without affecting the rest of its batch.
var (
	// ErrMalformed: the bytes are not a valid subscription document or envelope.
	ErrMalformed = errors.New("malformed")
	// ErrTooLarge: the record or body exceeds its size limit (also after decompression).
	ErrTooLarge = errors.New("too large")
)

// Limits bound what one record may cost. A zero (or negative) field takes its
// default from DefaultLimits.
type Limits struct {
	// MaxRecordBytes bounds a record's bytes as delivered (compressed or not).
	MaxRecordBytes int
	// MaxDecodedBytes bounds a record's bytes after decompression: the gzip bomb
	// guard. It also bounds a plain record.
	MaxDecodedBytes int
	// MaxDocuments bounds the number of concatenated documents in one record.
	MaxDocuments int
}

// DefaultLimits are generous for CloudWatch Logs deliveries: a subscription
// document carries at most one PutLogEvents batch (1 MiB of messages, a few MiB as
// escaped JSON), a Kinesis record is at most 10 MiB and a Firehose record 1,000 KiB.
func DefaultLimits() Limits {
	return Limits{
		MaxRecordBytes:  10 << 20,
		MaxDecodedBytes: 32 << 20,
		MaxDocuments:    10_000,
	}
}

func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = def.MaxRecordBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = def.MaxDecodedBytes
	}
	if l.MaxDocuments <= 0 {
		l.MaxDocuments = def.MaxDocuments
	}
	return l
}
