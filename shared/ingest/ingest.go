// Package ingest is Sightline's log pipeline: it takes one delivery batch (Kinesis
// records, a Firehose HTTP endpoint request, a Firehose transformation event),
// decodes the CloudWatch Logs documents in it, parses the Lambda log lines into
// invocation facts, folds them into per-function, per-minute aggregates in memory,
// and applies them to the store — at most one write per (function, minute) per batch.
//
// Exactly once. Delivery is at-least-once: Kinesis redelivers from the first failed
// record with new batch boundaries, Firehose retries whole requests, Lambda retries
// whole batches. The unit of idempotency is the source document (a DATA_MESSAGE):
// its contribution is a pure function of its bytes — the parser's state is reset at
// every document, so a document contributes the same whatever batch it arrives in —
// and every aggregate item keeps a ledger of the document ids already applied to it
// (see package store). Replaying any batch, any number of times, changes nothing.
// The price of per-document determinism: an invocation whose lines straddle two
// deliveries is joined only within each; a failure signal without its REPORT counts
// as an error without an invocation (an "orphan"), and the REPORT on the other side
// counts the invocation.
//
// Bad input. A corrupt record, an oversized one, a document from an account the
// authenticated integration does not own, or a log group that maps to no function
// is a permanent problem: typed, counted in Stats, logged, and skipped — the rest of
// the batch is unaffected. A throttled or failed store write is transient: only the
// records that contributed to the failed items are reported for retry.
package ingest

import (
	"errors"
	"fmt"
	"log/slog"
)

// Permanent per-record problems besides logs.ErrMalformed and logs.ErrTooLarge.
var (
	// ErrWrongTenant: a document's owner account is not one of the authenticated
	// integration's accounts (or, on the Kinesis path, no integration owns it).
	ErrWrongTenant = errors.New("owner account not allowed for this source")
	// ErrUnknownLogGroup: a log group that is neither /aws/lambda/<name> nor a custom
	// log group in the integration's inventory.
	ErrUnknownLogGroup = errors.New("log group maps to no known function")
)

// RecordError is the outcome of one record that was not (fully) ingested.
type RecordError struct {
	Index     int    // position of the record in its batch
	ID        string // the record's id at its source (sequence number, recordId)
	Transient bool   // true: retry the record; false: it was counted and dropped
	Err       error
}

func (e *RecordError) Error() string {
	kind := "permanent"
	if e.Transient {
		kind = "transient"
	}
	return fmt.Sprintf("record %d (%s): %s: %v", e.Index, e.ID, kind, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Stats counts what one batch held and what became of it.
type Stats struct {
	Records          int `json:"records"`
	Documents        int `json:"documents"`
	ControlMessages  int `json:"controlMessages"`
	LogEvents        int `json:"logEvents"`
	Invocations      int `json:"invocations"`
	OrphanFailures   int `json:"orphanFailures"`
	TelemetryPayload int `json:"telemetryPayloads"`
	BadLines         int `json:"badLines"`
	// Permanent problems, by kind.
	MalformedRecords int `json:"malformedRecords"`
	OversizedRecords int `json:"oversizedRecords"`
	WrongTenantDocs  int `json:"wrongTenantDocuments"`
	UnknownLogGroups int `json:"unknownLogGroupDocuments"`
	// Transient problems.
	TransientRecords int `json:"transientRecords"`
	// Writes.
	AggregateItems int `json:"aggregateItems"`
	ErrorTypeItems int `json:"errorTypeItems"`
}

// Add sums two Stats.
func (s *Stats) Add(o Stats) {
	s.Records += o.Records
	s.Documents += o.Documents
	s.ControlMessages += o.ControlMessages
	s.LogEvents += o.LogEvents
	s.Invocations += o.Invocations
	s.OrphanFailures += o.OrphanFailures
	s.TelemetryPayload += o.TelemetryPayload
	s.BadLines += o.BadLines
	s.MalformedRecords += o.MalformedRecords
	s.OversizedRecords += o.OversizedRecords
	s.WrongTenantDocs += o.WrongTenantDocs
	s.UnknownLogGroups += o.UnknownLogGroups
	s.TransientRecords += o.TransientRecords
	s.AggregateItems += o.AggregateItems
	s.ErrorTypeItems += o.ErrorTypeItems
}

// LogValue lets a Stats be logged as one group.
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("records", s.Records),
		slog.Int("documents", s.Documents),
		slog.Int("control", s.ControlMessages),
		slog.Int("events", s.LogEvents),
		slog.Int("invocations", s.Invocations),
		slog.Int("orphans", s.OrphanFailures),
		slog.Int("telemetry", s.TelemetryPayload),
		slog.Int("badLines", s.BadLines),
		slog.Int("malformed", s.MalformedRecords),
		slog.Int("oversized", s.OversizedRecords),
		slog.Int("wrongTenant", s.WrongTenantDocs),
		slog.Int("unknownLogGroup", s.UnknownLogGroups),
		slog.Int("transient", s.TransientRecords),
		slog.Int("aggregateItems", s.AggregateItems),
		slog.Int("errorTypeItems", s.ErrorTypeItems),
	)
}
