// Package metrics folds invocation facts into per-function, per-minute aggregates:
// counts, exact duration sum/min/max, a mergeable relative-error histogram for
// percentiles, billed duration, memory and estimated cost.
package metrics

import "log/slog"

// Function identifies one Lambda function of one tenant.
type Function struct {
	Tenant  string
	Account string
	Region  string
	Name    string
}

// LogValue logs a function without its full account id (customer identifiers stay
// out of logs): tenant, region, name and the account's last four digits.
func (f Function) LogValue() slog.Value {
	acct := f.Account
	if len(acct) > 4 {
		acct = "…" + acct[len(acct)-4:]
	}
	return slog.GroupValue(
		slog.String("tenant", f.Tenant),
		slog.String("account", acct),
		slog.String("region", f.Region),
		slog.String("name", f.Name),
	)
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
