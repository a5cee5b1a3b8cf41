package insights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sightline/sightline/shared/metrics"
)

// Rule names an alert rule; its value is the "alert" field of an alert's JSON.
type Rule string

// The six rules of the seed's "Alerts" section.
const (
	RuleOutOfMemory          Rule = "out_of_memory"
	RuleTimeout              Rule = "timeout"
	RuleNewErrorType         Rule = "new_error_type"
	RuleApproachingTimeout   Rule = "approaching_timeout"
	RuleUnusualDuration      Rule = "unusual_duration"
	RuleEscalatedInvocations Rule = "escalated_invocations"
)

// Rules lists every rule.
func Rules() []Rule {
	return []Rule{RuleOutOfMemory, RuleTimeout, RuleNewErrorType,
		RuleApproachingTimeout, RuleUnusualDuration, RuleEscalatedInvocations}
}

// Valid reports whether r is one of the six rules.
func (r Rule) Valid() bool {
	for _, k := range Rules() {
		if r == k {
			return true
		}
	}
	return false
}

// Alert is one fired alert. It marshals to the JSON line the local runner prints:
//
//	{"alert":"timeout","account":"123456789012","region":"us-east-1","function":"orders-api",
//	 "at":"2026-03-04T01:05:00Z","errorType":"KeyError","details":{...}}
//
// The tenant is not part of that line; it travels beside the alert in a
// [QueueMessage].
type Alert struct {
	Rule      Rule      `json:"alert"`
	Tenant    string    `json:"-"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Function  string    `json:"function"`
	At        time.Time `json:"at"`
	ErrorType string    `json:"errorType,omitempty"`
	Details   Details   `json:"details"`
}

// Details is an alert's evidence. Only the fields that apply to its rule are set.
type Details struct {
	// RequestID is one invocation that triggered the alert (the occurrence of an
	// immediate rule; for the scheduled duration rules, the slowest invocation when
	// the aggregate records it).
	RequestID string `json:"requestId,omitempty"`
	// Message is the error message of the occurrence (new_error_type, timeout).
	Message string `json:"message,omitempty"`
	// DurationMs is the invocation's duration (the window's maximum for the
	// scheduled duration rules).
	DurationMs float64 `json:"durationMs,omitempty"`
	// TimeoutMs is the function's configured timeout, when known.
	TimeoutMs float64 `json:"timeoutMs,omitempty"`
	// MedianMs is the window's median duration (unusual_duration).
	MedianMs float64 `json:"medianMs,omitempty"`
	// ThresholdMs / Threshold is the value that was exceeded: 90% of the timeout,
	// twice the median, 125% of the prior maximum count.
	ThresholdMs float64 `json:"thresholdMs,omitempty"`
	Threshold   float64 `json:"threshold,omitempty"`
	// MemorySizeMB and MaxMemoryUsedMB describe an out_of_memory invocation.
	MemorySizeMB    int32 `json:"memorySizeMB,omitempty"`
	MaxMemoryUsedMB int32 `json:"maxMemoryUsedMB,omitempty"`
	// Count is the invocation count of the last five minutes; PriorMax the highest
	// five-minute count of the prior 48 hours (escalated_invocations). Invocations
	// is the number of invocations in the 60-minute window (duration rules).
	Count       int64  `json:"count,omitempty"`
	PriorMax    *int64 `json:"priorMax,omitempty"`
	Invocations int64  `json:"invocations,omitempty"`
	// WindowStart and WindowEnd bound the evaluated window of a scheduled rule.
	WindowStart *time.Time `json:"windowStart,omitempty"`
	WindowEnd   *time.Time `json:"windowEnd,omitempty"`
	// PreviouslySeen is when a "new" error type was last seen before, if ever.
	PreviouslySeen *time.Time `json:"previouslySeen,omitempty"`
}

// Func returns the function the alert is about.
func (a *Alert) Func() metrics.Function {
	return metrics.Function{Tenant: a.Tenant, Account: a.Account, Region: a.Region, Name: a.Function}
}

// LogValue keeps customer identifiers out of logs: the account is masked and the
// function and tenant appear only as a short hash that correlates log lines.
func (a Alert) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("rule", string(a.Rule)),
		slog.Time("at", a.At),
		slog.String("region", a.Region),
		slog.String("account", maskAccount(a.Account)),
		slog.String("fn", FunctionRef(a.Func())),
	}
	return slog.GroupValue(attrs...)
}

// FunctionRef is a short, stable, non-reversible reference to a function for logs.
func FunctionRef(fn metrics.Function) string {
	h := sha256.Sum256([]byte(fn.Tenant + "#" + fn.Account + "#" + fn.Region + "#" + fn.Name))
	return hex.EncodeToString(h[:5])
}

func maskAccount(acct string) string {
	if len(acct) <= 4 {
		return "****"
	}
	return "****" + acct[len(acct)-4:]
}

// Key is the alert's sort key under its tenant's partition T#<tenant>:
// AL#<rfc3339 time>#<rule>#<account>#<region>#<function>[#<error type>].
func (a *Alert) Key() string {
	var b strings.Builder
	b.WriteString("AL#")
	b.WriteString(a.At.UTC().Format(time.RFC3339))
	for _, s := range []string{string(a.Rule), a.Account, a.Region, a.Function} {
		b.WriteByte('#')
		b.WriteString(s)
	}
	if a.ErrorType != "" {
		b.WriteByte('#')
		b.WriteString(a.ErrorType)
	}
	return b.String()
}

// TenantKey is the partition key of a tenant's alerts and channels.
func TenantKey(tenant string) string { return "T#" + tenant }

// FunctionKey is the partition key of a function's items.
func FunctionKey(fn metrics.Function) string {
	return "F#" + fn.Tenant + "#" + fn.Account + "#" + fn.Region + "#" + fn.Name
}

// dedupKey is the sort key of a rule's de-duplication state: A#<rule>[#<error type>].
func dedupKey(r Rule, errorType string) string {
	if errorType != "" {
		return "A#" + string(r) + "#" + errorType
	}
	return "A#" + string(r)
}

// QueueMessage is the body of an alert queue message: the alert and its tenant.
type QueueMessage struct {
	Tenant string `json:"tenant"`
	Alert  Alert  `json:"alert"`
}

// ErrBadMessage marks an alert queue message that can never be processed.
var ErrBadMessage = errors.New("bad alert message")

// DecodeQueueMessage decodes and validates an alert queue message body.
func DecodeQueueMessage(body []byte) (QueueMessage, error) {
	var m QueueMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return QueueMessage{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	m.Alert.Tenant = m.Tenant
	if err := m.Alert.validate(); err != nil {
		return QueueMessage{}, err
	}
	return m, nil
}

func (a *Alert) validate() error {
	switch {
	case a.Tenant == "":
		return fmt.Errorf("%w: no tenant", ErrBadMessage)
	case !a.Rule.Valid():
		return fmt.Errorf("%w: unknown rule %q", ErrBadMessage, a.Rule)
	case a.Account == "" || a.Region == "" || a.Function == "":
		return fmt.Errorf("%w: no function", ErrBadMessage)
	case a.At.IsZero():
		return fmt.Errorf("%w: no time", ErrBadMessage)
	}
	for _, s := range []string{a.Tenant, a.Account, a.Region, a.Function, a.ErrorType} {
		if strings.ContainsRune(s, '#') && s != a.ErrorType {
			return fmt.Errorf("%w: '#' in an identifier", ErrBadMessage)
		}
	}
	return nil
}

// AlertSink receives each new alert exactly when it is first stored (and again
// only if a previous hand-over failed). The Lambdas send to the SQS alert queue
// ([QueueSink]); the local runner collects them ([Collector]).
type AlertSink interface {
	Send(ctx context.Context, a Alert) error
}

// SinkFunc adapts a function to an AlertSink.
type SinkFunc func(ctx context.Context, a Alert) error

// Send calls f.
func (f SinkFunc) Send(ctx context.Context, a Alert) error { return f(ctx, a) }
