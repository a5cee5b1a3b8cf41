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
type Handler interface {
	// Document starts a document; returning false skips its events
	// (e.g. CONTROL_MESSAGE, or an owner the tenant may not send).
	Document(d *Document) bool
	// Event is one log event of the current document.
	Event(d *Document, e *Event)
	// EndDocument ends the current document (also called after a skipped one).
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
