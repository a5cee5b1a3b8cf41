// Package invocation turns Lambda log lines, in every runtime's text format and in the
// JSON log format, into invocation facts: one Invocation per REPORT / platform.report,
// with its failure status, error type and fingerprint joined in by request id (or by
// log stream order where a format carries no request id).
//
// Joining rules (see Parser): signals with a request id join that id's report;
// signals without one join the invocation running in their log stream (after its
// START), or, logged before any START, the next invocation of the stream. Those
// pre-START (init-phase) signals fail it only in formats without INIT_REPORT
// lines; with INIT_REPORT, only a failed "Phase: invoke" init does, since a
// failed "Phase: init" is retried. Priority: out of memory > timeout > error; a
// REPORT Status / platform.report status is authoritative, refined only by
// out-of-memory signals. Failures whose report is not in the batch are emitted
// at Flush with Reported false.
package invocation

import "log/slog"

// Status is how an invocation ended.
type Status uint8

const (
	StatusSuccess     Status = iota
	StatusError              // failed: unhandled error, crash, runtime exit
	StatusTimeout            // ran into the function's configured timeout
	StatusOutOfMemory        // ran out of memory (any signal the parser recognises)
)

func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusError:
		return "error"
	case StatusTimeout:
		return "timeout"
	case StatusOutOfMemory:
		return "out_of_memory"
	}
	return "unknown"
}

// Failed reports whether the invocation counts as an error (timeouts and OOM included).
func (s Status) Failed() bool { return s != StatusSuccess }

// Invocation is what one invocation's log lines say about it.
type Invocation struct {
	// RequestID is valid only during the Sink call; copy it to keep it.
	RequestID []byte
	// Time is the log timestamp of the report line, ms since the Unix epoch (for an
	// orphan failure, that of its last line).
	Time int64
	// Reported is true when a REPORT line or platform.report was seen; false for a
	// failure whose report did not reach this batch (an orphan), which counts as an
	// error but not as an invocation.
	Reported bool
	Status   Status

	DurationMs              float64
	BilledDurationMs        float64
	MemorySizeMB            int32
	MaxMemoryUsedMB         int32
	InitDurationMs          float64 // > 0: a cold start
	RestoreDurationMs       float64 // SnapStart
	BilledRestoreDurationMs float64

	// Error is the unhandled error of a failed invocation, when one was identified.
	// It is freshly allocated and may be retained.
	Error *Error
}

// ColdStart reports whether the invocation paid an init (or SnapStart restore).
func (i *Invocation) ColdStart() bool { return i.InitDurationMs > 0 || i.RestoreDurationMs > 0 }

// Error is an identified error of one invocation.
type Error struct {
	Type        string // stable type: KeyError, java.lang.ArithmeticException, Runtime.ImportModuleError ...
	Message     string // first line of the message, bounded
	Fingerprint string // hex of a hash of type + normalized top frame
	RequestID   string
}

// LogValue keeps the message and request id (customer data) out of logs.
func (e *Error) LogValue() slog.Value {
	if e == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("type", e.Type), slog.String("fingerprint", e.Fingerprint))
}
