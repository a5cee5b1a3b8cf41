package metrics

import (
	"log/slog"
	"math"

	"github.com/sightline/sightline/shared/invocation"
)

// Aggregate is what one function did in one minute. Every field is exact under
// Merge (integer sums, min, max; the Sketch merges bucket counts), so aggregating
// per batch and merging in the store gives the same result as aggregating
// everything at once.
//
// Durations are kept in microseconds: Lambda reports milliseconds with two decimals,
// so microseconds hold them exactly as integers.
type Aggregate struct {
	Invocations int64 // invocations with a report
	Errors      int64 // failed invocations (timeouts and OOM included) and orphan failures
	Timeouts    int64
	OutOfMemory int64
	ColdStarts  int64

	DurationSumUs int64
	DurationMinUs int64 // valid when Invocations > 0
	DurationMaxUs int64
	Durations     Sketch // durations in µs, one per reported invocation

	BilledDurationMs int64
	MemorySizeMB     int32 // the largest seen
	MaxMemoryUsedMB  int32 // the largest seen
	CostPicoUSD      int64 // estimated cost, 10^-12 USD
}

// MicrosOfMillis converts a duration Lambda reported in milliseconds to whole
// microseconds, rounding to the nearest (Lambda's two decimals convert exactly).
func MicrosOfMillis(ms float64) int64 {
	if !(ms > 0) { // negative or NaN
		return 0
	}
	if ms >= math.MaxInt64/1000 {
		return math.MaxInt64 / 1000 * 1000
	}
	return int64(math.Round(ms * 1000))
}

// Add folds one invocation and its cost in pico-USD into a. An invocation whose
// report was not seen (Reported false, an orphan failure) counts as an error, and
// as a timeout or out-of-memory by its status, but not as an invocation: it has no
// duration, memory, cold start or cost.
func (a *Aggregate) Add(inv *invocation.Invocation, costPico int64) {
	switch inv.Status {
	case invocation.StatusTimeout:
		a.Timeouts++
	case invocation.StatusOutOfMemory:
		a.OutOfMemory++
	}
	if inv.Status.Failed() {
		a.Errors++
	}
	if !inv.Reported {
		return
	}
	d := MicrosOfMillis(inv.DurationMs)
	if a.Invocations == 0 || d < a.DurationMinUs {
		a.DurationMinUs = d
	}
	if a.Invocations == 0 || d > a.DurationMaxUs {
		a.DurationMaxUs = d
	}
	a.Invocations++
	a.DurationSumUs += d
	a.Durations.Add(d)
	if inv.ColdStart() {
		a.ColdStarts++
	}
	if inv.BilledDurationMs > 0 {
		a.BilledDurationMs += int64(math.Round(inv.BilledDurationMs))
	}
	a.MemorySizeMB = max(a.MemorySizeMB, inv.MemorySizeMB)
	a.MaxMemoryUsedMB = max(a.MaxMemoryUsedMB, inv.MaxMemoryUsedMB)
	a.CostPicoUSD += costPico
}

// Merge adds b into a; b is not modified.
func (a *Aggregate) Merge(b *Aggregate) {
	if b.Invocations > 0 {
		if a.Invocations == 0 || b.DurationMinUs < a.DurationMinUs {
			a.DurationMinUs = b.DurationMinUs
		}
		if a.Invocations == 0 || b.DurationMaxUs > a.DurationMaxUs {
			a.DurationMaxUs = b.DurationMaxUs
		}
	}
	a.Invocations += b.Invocations
	a.Errors += b.Errors
	a.Timeouts += b.Timeouts
	a.OutOfMemory += b.OutOfMemory
	a.ColdStarts += b.ColdStarts
	a.DurationSumUs += b.DurationSumUs
	a.Durations.Merge(&b.Durations)
	a.BilledDurationMs += b.BilledDurationMs
	a.MemorySizeMB = max(a.MemorySizeMB, b.MemorySizeMB)
	a.MaxMemoryUsedMB = max(a.MaxMemoryUsedMB, b.MaxMemoryUsedMB)
	a.CostPicoUSD += b.CostPicoUSD
}

// Clone returns an independent copy of a.
func (a *Aggregate) Clone() *Aggregate {
	c := *a
	c.Durations = a.Durations.Clone()
	return &c
}

// Equal reports whether a and b hold the same figures (sketches compared by counts).
func (a *Aggregate) Equal(b *Aggregate) bool {
	if a.Invocations != b.Invocations || a.Errors != b.Errors || a.Timeouts != b.Timeouts ||
		a.OutOfMemory != b.OutOfMemory || a.ColdStarts != b.ColdStarts ||
		a.DurationSumUs != b.DurationSumUs || a.BilledDurationMs != b.BilledDurationMs ||
		a.MemorySizeMB != b.MemorySizeMB || a.MaxMemoryUsedMB != b.MaxMemoryUsedMB ||
		a.CostPicoUSD != b.CostPicoUSD {
		return false
	}
	// Min and max are meaningless without invocations.
	if a.Invocations > 0 && (a.DurationMinUs != b.DurationMinUs || a.DurationMaxUs != b.DurationMaxUs) {
		return false
	}
	return a.Durations.Equal(&b.Durations)
}

// DurationQuantileMs is the duration at quantile q in milliseconds: within
// RelativeAccuracy of the exact value, clamped to the exact min and max; 0 without
// invocations.
func (a *Aggregate) DurationQuantileMs(q float64) float64 {
	if a.Invocations == 0 {
		return 0
	}
	v := a.Durations.Quantile(q)
	v = max(v, float64(a.DurationMinUs))
	v = min(v, float64(a.DurationMaxUs))
	return v / 1000
}

// P50Ms, P95Ms and P99Ms are the usual duration percentiles in milliseconds.
func (a *Aggregate) P50Ms() float64 { return a.DurationQuantileMs(0.50) }
func (a *Aggregate) P95Ms() float64 { return a.DurationQuantileMs(0.95) }
func (a *Aggregate) P99Ms() float64 { return a.DurationQuantileMs(0.99) }

// DurationSumMs, DurationMinMs and DurationMaxMs are the exact figures in milliseconds.
func (a *Aggregate) DurationSumMs() float64 { return float64(a.DurationSumUs) / 1000 }
func (a *Aggregate) DurationMinMs() float64 {
	if a.Invocations == 0 {
		return 0
	}
	return float64(a.DurationMinUs) / 1000
}
func (a *Aggregate) DurationMaxMs() float64 {
	if a.Invocations == 0 {
		return 0
	}
	return float64(a.DurationMaxUs) / 1000
}

// CostUSD is the estimated cost in US dollars.
func (a *Aggregate) CostUSD() float64 { return float64(a.CostPicoUSD) / 1e12 }

// LogValue keeps logs to the counts.
func (a *Aggregate) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("invocations", a.Invocations),
		slog.Int64("errors", a.Errors),
		slog.Int64("timeouts", a.Timeouts),
		slog.Int64("outOfMemory", a.OutOfMemory),
		slog.Int64("coldStarts", a.ColdStarts),
	)
}
