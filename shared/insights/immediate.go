package insights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
)

// ImmediateWindow is the de-duplication window of the immediate rules: each fires
// at most once per 48 hours per function (new_error_type: per function and type).
const ImmediateWindow = 48 * time.Hour

// NewErrorWindow is how long an error type must have been absent to be new again.
const NewErrorWindow = 48 * time.Hour

// Occurrence is one fact of an ingested batch that an immediate rule looks at:
// an invocation that ran out of memory or timed out, or one occurrence of an
// error type together with what the error-type store knew before the batch.
type Occurrence struct {
	Function metrics.Function
	// Status: StatusOutOfMemory or StatusTimeout fire those rules; other values
	// only matter through ErrorType.
	Status invocation.Status
	// Time is the invocation's log time; it becomes the alert's time.
	Time      time.Time
	RequestID string
	// ErrorType and Message describe the occurrence's error, if any. A non-empty
	// ErrorType is checked by new_error_type.
	ErrorType string
	Message   string
	// PrevLastSeen is when the error-type store last saw ErrorType for this
	// function before this batch (zero: never).
	PrevLastSeen time.Time

	DurationMs      float64
	TimeoutMs       float64 // configured timeout when known (evidence only)
	MemorySizeMB    int32
	MaxMemoryUsedMB int32
}

// LogValue keeps customer identifiers and error messages out of logs.
func (o Occurrence) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("fn", FunctionRef(o.Function)),
		slog.String("status", o.Status.String()),
		slog.Time("time", o.Time),
		slog.Bool("hasErrorType", o.ErrorType != ""),
	)
}

// recorder stores alerts with de-duplication ([Table] in production).
type recorder interface {
	Record(ctx context.Context, a Alert, window time.Duration) (bool, error)
	MarkQueued(ctx context.Context, a Alert) error
}

// Immediate evaluates out_of_memory, timeout and new_error_type on the facts of an
// ingested batch. It is safe for concurrent use.
type Immediate struct {
	Alerts recorder
	Sink   AlertSink
	Logger *slog.Logger
}

// Evaluate checks each occurrence and returns the alerts that are new (stored now,
// and handed to the sink). Redelivered batches return nothing new. A failure to
// store or send is returned (joined) after every occurrence was tried, so the
// caller can retry the batch; the alerts already stored are not duplicated then.
func (x *Immediate) Evaluate(ctx context.Context, occ []Occurrence) ([]Alert, error) {
	var out []Alert
	var errs []error
	for i := range occ {
		for _, a := range immediateAlerts(&occ[i]) {
			ok, err := emit(ctx, x.Alerts, x.Sink, a, ImmediateWindow)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				out = append(out, a)
			}
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("immediate rules: %w", errors.Join(errs...))
	}
	return out, nil
}

// immediateAlerts returns the candidate alerts of one occurrence.
func immediateAlerts(o *Occurrence) []Alert {
	base := Alert{
		Tenant: o.Function.Tenant, Account: o.Function.Account, Region: o.Function.Region,
		Function: o.Function.Name, At: o.Time.UTC(),
	}
	var out []Alert
	switch o.Status {
	case invocation.StatusOutOfMemory:
		a := base
		a.Rule = RuleOutOfMemory
		a.Details = Details{RequestID: o.RequestID, DurationMs: o.DurationMs,
			MemorySizeMB: o.MemorySizeMB, MaxMemoryUsedMB: o.MaxMemoryUsedMB, Message: o.Message}
		out = append(out, a)
	case invocation.StatusTimeout:
		a := base
		a.Rule = RuleTimeout
		a.Details = Details{RequestID: o.RequestID, DurationMs: o.DurationMs, TimeoutMs: o.TimeoutMs, Message: o.Message}
		out = append(out, a)
	}
	if o.ErrorType != "" && IsNewErrorType(o.Time, o.PrevLastSeen) {
		a := base
		a.Rule = RuleNewErrorType
		a.ErrorType = o.ErrorType
		a.Details = Details{RequestID: o.RequestID, Message: o.Message}
		if !o.PrevLastSeen.IsZero() {
			prev := o.PrevLastSeen.UTC()
			a.Details.PreviouslySeen = &prev
		}
		out = append(out, a)
	}
	return out
}

// IsNewErrorType reports whether an error type occurring at t is new: never seen
// before (prev is zero), or last seen at least NewErrorWindow before t.
func IsNewErrorType(t, prev time.Time) bool {
	return prev.IsZero() || t.Sub(prev) >= NewErrorWindow
}

// emit records a and, when it is new, hands it to the sink and marks it queued.
func emit(ctx context.Context, rec recorder, sink AlertSink, a Alert, window time.Duration) (bool, error) {
	ok, err := rec.Record(ctx, a, window)
	if err != nil || !ok {
		return false, err
	}
	if sink != nil {
		if err := sink.Send(ctx, a); err != nil {
			return false, fmt.Errorf("hand over alert %s: %w", a.Rule, err)
		}
	}
	if err := rec.MarkQueued(ctx, a); err != nil {
		// The alert was handed over; a retry will hand it over again, which the
		// notifier tolerates (it skips channels already delivered to).
		return true, err
	}
	return true, nil
}
