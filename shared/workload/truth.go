package workload

import (
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Truth is what a correct pipeline computes for one function over the whole
// workload. Its JSON names follow replay's per-function output where they overlap.
type Truth struct {
	Account  string `json:"account"`
	Region   string `json:"region"`
	Function string `json:"function"`

	// Invocations counts REPORT lines / platform.report events.
	Invocations int64 `json:"invocations"`
	// Errors counts failed invocations: errors, timeouts and out-of-memory.
	Errors      int64 `json:"errors"`
	Timeouts    int64 `json:"timeouts"`
	OutOfMemory int64 `json:"outOfMemory"`
	ColdStarts  int64 `json:"coldStarts"`

	// Durations as reported (two decimals of a ms), in microseconds.
	DurationSumUs int64 `json:"durationSumUs"`
	DurationMinUs int64 `json:"durationMinUs"`
	DurationMaxUs int64 `json:"durationMaxUs"`

	BilledDurationMs int64 `json:"billedDurationMs"`
	MemorySizeMB     int32 `json:"memorySizeMB"`
	MaxMemoryUsedMB  int32 `json:"maxMemoryUsedMB"` // the largest reported

	// ErrorTypes are the sorted distinct types of the unhandled errors of
	// invocations with status error (the runtime's errorType as logged, e.g.
	// KeyError, java.lang.ArithmeticException, NoMethodError (Ruby's
	// Function<NoMethodError> unwrapped, see StableErrorType),
	// Runtime.ExitError). Timeouts and out-of-memory are counted above, not here.
	ErrorTypes []string `json:"errorTypes"`

	// TelemetryEvents counts log events written by Config.Telemetry.
	TelemetryEvents int64 `json:"telemetryEvents"`
}

// LogValue keeps the account id out of logs but for its last four digits.
func (t Truth) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account", maskAccount(t.Account)),
		slog.String("region", t.Region),
		slog.String("function", t.Function),
		slog.Int64("invocations", t.Invocations),
		slog.Int64("errors", t.Errors),
	)
}

// DurationMs returns the duration sum, min and max in milliseconds.
func (t Truth) DurationMs() (sum, min, max float64) {
	return float64(t.DurationSumUs) / 1000, float64(t.DurationMinUs) / 1000, float64(t.DurationMaxUs) / 1000
}

// Invocation is the truth of one invocation.
type Invocation struct {
	Function    int // index into Workload.Functions
	RequestID   string
	Start       int64 // ms since the epoch: the START line
	DurationUs  int64 // as reported: a multiple of 10 µs
	BilledMs    int64
	MaxMemoryMB int32
	InitUs      int64 // > 0: a cold start; the init ran just before Start
	Status      Status
	// ErrorType is the unhandled error's type of an invocation with status error.
	ErrorType string
	// Signal names how the logs show a timeout or out-of-memory (e.g.
	// "Task timed out", "Runtime.OutOfMemory", "JavaScript heap out of memory").
	Signal string

	fail    *failure // the error of a failed invocation (status error)
	xray    bool
	telem   int32 // telemetry events written
	traceID string
}

// End is the invocation's last log timestamp (ms): Start plus its duration.
func (i *Invocation) End() int64 { return i.Start + (i.DurationUs+999)/1000 }

// Scenario is an alert scenario built into the workload: the rule that must fire
// for the function, and the window of log time in which its cause lies.
type Scenario struct {
	Rule     string // out_of_memory, timeout, new_error_type, approaching_timeout, unusual_duration, escalated_invocations
	Account  string
	Region   string
	Function string
	From, To time.Time
	// ErrorType is the new error type (new_error_type only).
	ErrorType string
	Detail    string
}

func computeTruth(w *Workload) {
	w.Truth = make([]Truth, len(w.Functions))
	types := make([]map[string]bool, len(w.Functions))
	for i, f := range w.Functions {
		w.Truth[i] = Truth{Account: f.Account, Region: f.Region, Function: f.Name, MemorySizeMB: f.MemorySizeMB, ErrorTypes: []string{}}
		types[i] = map[string]bool{}
	}
	for k := range w.Invocations {
		inv := &w.Invocations[k]
		t := &w.Truth[inv.Function]
		if t.Invocations == 0 || inv.DurationUs < t.DurationMinUs {
			t.DurationMinUs = inv.DurationUs
		}
		if inv.DurationUs > t.DurationMaxUs {
			t.DurationMaxUs = inv.DurationUs
		}
		t.Invocations++
		t.DurationSumUs += inv.DurationUs
		t.BilledDurationMs += inv.BilledMs
		t.MaxMemoryUsedMB = max(t.MaxMemoryUsedMB, inv.MaxMemoryMB)
		if inv.InitUs > 0 {
			t.ColdStarts++
		}
		if inv.Status.Failed() {
			t.Errors++
		}
		switch inv.Status {
		case StatusTimeout:
			t.Timeouts++
		case StatusOutOfMemory:
			t.OutOfMemory++
		case StatusError:
			types[inv.Function][StableErrorType(inv.ErrorType)] = true
		}
		t.TelemetryEvents += int64(inv.telem)
	}
	for i := range w.Truth {
		for typ := range types[i] {
			w.Truth[i].ErrorTypes = append(w.Truth[i].ErrorTypes, typ)
		}
		slices.Sort(w.Truth[i].ErrorTypes)
	}
}

// Status is how an invocation ended. Its values and names mirror
// invocation.Status (convert with invocation.Status(s)); the workload does not
// import the parser it is used to test.
type Status uint8

const (
	StatusSuccess     Status = iota
	StatusError              // an unhandled error or a crash
	StatusTimeout            // ran into the function's timeout
	StatusOutOfMemory        // ran out of memory
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

// StableErrorType is the error type Sightline groups by: the runtime's errorType as
// logged, but for Ruby's Function<T> wrapper, which is unwrapped to T.
func StableErrorType(t string) string {
	if inner, ok := strings.CutPrefix(t, "Function<"); ok {
		if inner, ok := strings.CutSuffix(inner, ">"); ok && inner != "" {
			return inner
		}
	}
	return t
}
