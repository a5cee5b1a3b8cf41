// Package telemetry defines Sightline's trace payload, the SERVERLESS_TELEMETRY log
// line that an instrumented function writes to its log, and its encoder and decoder.
//
// # Wire format (version 1)
//
// A payload is JSON (the Payload type), gzip-compressed, then standard base64 with
// padding. It is written as one log line when it fits:
//
//	SERVERLESS_TELEMETRY.1.<base64>
//
// and otherwise as numbered chunks of the base64 text, each on its own line:
//
//	SERVERLESS_TELEMETRY.1.<payloadId>.<index>.<count>.<base64 part>
//
// payloadId is 1-64 characters of [0-9A-Za-z_-] (the encoder writes 16 hex digits),
// index runs 1..count, count is at most MaxChunks. Base64 never contains '.', so
// the two forms are told apart by the number of dot-separated fields. The decoder
// re-joins the chunks of one payload per log stream, in any order, and rejects a
// payload cleanly with a typed error when a chunk is missing (ErrIncomplete),
// duplicated or inconsistent (ErrCorrupt), or the payload is oversized
// (ErrTooLarge). An unknown version number is ErrVersion.
//
// The line may appear bare (print / process.stdout.write), after a Node.js text
// prefix "<ts>\t<requestId>\tINFO\t", or as the "message" of a JSON log line; the
// invocation parser finds it in all three.
//
// Times are integer microseconds since the Unix epoch: exact in every runtime's
// JSON numbers (below 2^53 until the year 2255), unlike nanoseconds.
//
// Gzip rather than zstd or a dictionary codec: every Lambda runtime's standard
// library can write it (zlib in Node.js, gzip in Python, GZIPOutputStream in Java,
// GZipStream in .NET, compress/gzip in Go), which the emitting SDKs need, and the
// ingest pipeline already decompresses gzip at speed.
package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
)

const (
	// Prefix starts every telemetry line.
	Prefix = "SERVERLESS_TELEMETRY."
	// Version is the payload format version this package writes and reads.
	Version = 1

	// DefaultMaxLine is the line length Encode uses when given maxLine <= 0: a
	// quarter of CloudWatch Logs' 256 KB event limit, leaving room for any prefix
	// a runtime's logger adds.
	DefaultMaxLine = 64 << 10
	// MaxLine is the longest line Encode writes (well below the 256 KB limit).
	MaxLine = 192 << 10
	// MinLine is the shortest maxLine Encode accepts.
	MinLine = 128

	// MaxChunks is the most lines one payload may be split into.
	MaxChunks = 128
	// MaxEncodedBytes bounds the base64 text of one payload (all chunks).
	MaxEncodedBytes = 8 << 20
	// MaxPayloadBytes bounds the decompressed JSON of one payload.
	MaxPayloadBytes = 4 << 20
	// MaxSpans bounds the spans of one payload.
	MaxSpans = 10000
	// MaxPending bounds the partially received payloads a Decoder buffers.
	MaxPending = 64
)

// Errors a decoder reports; each is permanent for the payload concerned, which is
// counted and dropped without affecting other lines.
var (
	// ErrCorrupt: not valid base64 / gzip / JSON, a required field missing, or a
	// chunk that is malformed, duplicated or inconsistent with its siblings.
	ErrCorrupt = errors.New("telemetry: corrupt payload")
	// ErrIncomplete: chunks of a payload were still missing at the end of a batch.
	ErrIncomplete = errors.New("telemetry: incomplete payload")
	// ErrTooLarge: the payload exceeds a size limit (chunks, bytes, spans, pending).
	ErrTooLarge = errors.New("telemetry: payload too large")
	// ErrVersion: the line's format version is not one this package reads.
	ErrVersion = errors.New("telemetry: unsupported version")
)

// Payload is the trace of one invocation (or part of one).
type Payload struct {
	TraceID   string            `json:"traceId"`
	RequestID string            `json:"requestId,omitempty"`
	Function  string            `json:"function,omitempty"` // function name or ARN
	Sampled   bool              `json:"sampled"`
	Tags      map[string]string `json:"tags,omitempty"`
	Spans     []Span            `json:"spans"`
	Errors    []ErrorEvent      `json:"errors,omitempty"`
}

// Span is one timed operation.
type Span struct {
	ID       string            `json:"id"`
	ParentID string            `json:"parentId,omitempty"` // empty for the root
	Name     string            `json:"name"`
	Start    int64             `json:"start"` // µs since the Unix epoch
	End      int64             `json:"end"`   // µs since the Unix epoch, >= Start
	Tags     map[string]string `json:"tags,omitempty"`
}

// ErrorEvent is an error captured by the instrumentation (handled or not).
type ErrorEvent struct {
	SpanID  string            `json:"spanId,omitempty"`
	Time    int64             `json:"time"` // µs since the Unix epoch
	Type    string            `json:"type"`
	Message string            `json:"message,omitempty"`
	Stack   string            `json:"stack,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// LogValue keeps customer data (function, request id, tags, messages) out of logs.
func (p *Payload) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("traceId", p.TraceID),
		slog.Bool("sampled", p.Sampled),
		slog.Int("spans", len(p.Spans)),
		slog.Int("errors", len(p.Errors)),
	)
}

// validate checks what the decoder and encoder require of a payload.
func (p *Payload) validate() error {
	if p.TraceID == "" {
		return errors.New("traceId is empty")
	}
	if len(p.Spans) > MaxSpans {
		return fmt.Errorf("%d spans, limit %d: %w", len(p.Spans), MaxSpans, ErrTooLarge)
	}
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.ID == "" {
			return fmt.Errorf("span %d: id is empty", i)
		}
		if s.End < s.Start {
			return fmt.Errorf("span %s: end %d before start %d", s.ID, s.End, s.Start)
		}
	}
	for i := range p.Errors {
		if p.Errors[i].Type == "" {
			return fmt.Errorf("error event %d: type is empty", i)
		}
	}
	return nil
}
