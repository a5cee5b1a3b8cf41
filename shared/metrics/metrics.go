// Package metrics folds invocation facts into per-function, per-minute aggregates:
// counts, exact duration sum/min/max, a mergeable relative-error histogram for
// percentiles, billed duration, memory and estimated cost.
package metrics

// Function identifies one Lambda function of one tenant.
type Function struct {
	Tenant  string
	Account string
	Region  string
	Name    string
}

// Minute is a time bucket: minutes since the Unix epoch.
type Minute int64

// MinuteOf returns the bucket of a timestamp in milliseconds since the epoch.
func MinuteOf(ms int64) Minute {
	if ms < 0 {
		return Minute((ms - 59999) / 60000)
	}
	return Minute(ms / 60000)
}
