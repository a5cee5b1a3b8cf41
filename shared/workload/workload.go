// Package workload generates Sightline's demo workload: a deterministic (seeded),
// realistic day of CloudWatch Logs subscription data for a fleet of Lambda functions
// in every runtime's log format and in the JSON log format, with cold starts, errors,
// timeouts, out-of-memory kills and the alert scenarios built in — and the ground
// truth a correct pipeline must compute from it.
//
// The workload is held compactly: each subscription document is kept only gzip'd,
// exactly as it travels in a Kinesis or Firehose record; the writers re-inflate what
// a plain format needs, one document at a time.
package workload

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is the kind of every configuration or functions-file error.
var ErrInvalid = errors.New("invalid")

// Defaults of Config.
const (
	DefaultFunctions   = 24
	DefaultInvocations = 100_000
	DefaultDuration    = 24 * time.Hour
	DefaultRegion      = "us-east-1"
)

// Limits of Config.
const (
	// MinFunctions is the size of the built-in catalog: every runtime, both log
	// formats and every alert scenario need one function each.
	MinFunctions   = 20
	MaxFunctions   = 2000
	MinInvocations = 2000
	MaxInvocations = 20_000_000
	MinDuration    = 6 * time.Hour
	MaxDuration    = 7 * 24 * time.Hour
)

// DefaultStart is the simulated day's start when Config.Start is zero.
var DefaultStart = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)

// DefaultAccounts are the AWS accounts of the generated functions when
// Config.Accounts is empty.
var DefaultAccounts = []string{"123456789012", "210987654321"}

// Config describes a workload. The zero value of each field selects its default.
type Config struct {
	// Seed makes the workload: the same Config gives byte-identical output.
	Seed int64
	// Functions is the number of functions (default 24, at least MinFunctions).
	Functions int
	// Invocations is the exact total number of invocations (default 100,000).
	Invocations int
	// Start of the simulated period (default DefaultStart); truncated to the ms.
	Start time.Time
	// Duration of the simulated period (default 24h).
	Duration time.Duration
	// Accounts own the functions, round-robin (default DefaultAccounts).
	Accounts []string
	// Region of every function and of the delivery (default us-east-1).
	Region string
	// Telemetry, when set, is called for every invocation of an instrumented
	// function; each string it returns becomes one log event of that invocation
	// (just before its END line / platform.report). TelemetryLines writes real
	// SERVERLESS_TELEMETRY lines with the telemetry package's encoder. Nil writes
	// none (telemetry.Encode currently costs ~170 µs a call: opt in).
	Telemetry func(Trace) []string
}

// Trace is what an instrumented invocation gives Config.Telemetry.
type Trace struct {
	Account, Region, Function, Runtime string
	RequestID                          string
	TraceID                            string // X-Ray trace id, 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy
	Start                              time.Time
	Duration                           time.Duration
	ColdStart                          bool
	Status                             Status
	ErrorType, ErrorMessage            string // failed invocations with an identified error
}

func (c Config) withDefaults() Config {
	if c.Functions == 0 {
		c.Functions = DefaultFunctions
	}
	if c.Invocations == 0 {
		c.Invocations = DefaultInvocations
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC().Truncate(time.Millisecond)
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if len(c.Accounts) == 0 {
		c.Accounts = DefaultAccounts
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	return c
}

// Validate reports whether the configuration (after defaults) can be generated.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Functions < MinFunctions || c.Functions > MaxFunctions:
		return fmt.Errorf("%w config: functions %d not in [%d, %d]", ErrInvalid, c.Functions, MinFunctions, MaxFunctions)
	case c.Invocations < MinInvocations || c.Invocations > MaxInvocations:
		return fmt.Errorf("%w config: invocations %d not in [%d, %d]", ErrInvalid, c.Invocations, MinInvocations, MaxInvocations)
	case c.Invocations < 100*c.Functions:
		return fmt.Errorf("%w config: invocations %d: need at least 100 per function", ErrInvalid, c.Invocations)
	case c.Duration < MinDuration || c.Duration > MaxDuration:
		return fmt.Errorf("%w config: duration %s not in [%s, %s]", ErrInvalid, c.Duration, MinDuration, MaxDuration)
	case c.Start.Year() < 2015 || c.Start.Year() > 2100:
		return fmt.Errorf("%w config: start %s out of range", ErrInvalid, c.Start)
	case !validRegion(c.Region):
		return fmt.Errorf("%w config: region %q", ErrInvalid, c.Region)
	}
	for _, a := range c.Accounts {
		if !validAccount(a) {
			return fmt.Errorf("%w config: account %q is not 12 digits", ErrInvalid, a)
		}
	}
	return nil
}

// Workload is a generated workload: the functions, their documents and the truth.
type Workload struct {
	// Config is the configuration it was generated from, defaults applied.
	Config Config
	// Functions is every function's configuration, as `replay --config` reads it.
	Functions []Function
	// Truth is, per function (same order as Functions), what a correct pipeline
	// computes from the documents.
	Truth []Truth
	// Invocations is every invocation, ordered by function, then start time.
	Invocations []Invocation
	// Scenarios lists the alert scenarios built in, one or more per rule.
	Scenarios []Scenario
	// Stats describes the documents.
	Stats Stats

	docs     []Document
	seqBase  uint64 // Kinesis sequence number base
	idSource uint64 // deterministic source for envelope ids
}

// Stats counts what the workload's documents hold.
type Stats struct {
	Documents        int   // DATA_MESSAGE and CONTROL_MESSAGE documents
	ControlDocuments int   // of which CONTROL_MESSAGE
	LogEvents        int   // log events in DATA_MESSAGE documents
	RawBytes         int64 // uncompressed JSON bytes of all documents
	GzipBytes        int64 // gzip'd bytes of all documents
}

// Document is one subscription document as CloudWatch Logs delivers it.
type Document struct {
	// Time is when CloudWatch Logs flushed it: its last event's timestamp (ms).
	// Documents are ordered by Time.
	Time int64
	// First is its first event's timestamp (ms).
	First     int64
	Control   bool // CONTROL_MESSAGE
	Owner     string
	LogGroup  string
	LogStream string
	Events    int
	Size      int // uncompressed JSON bytes
	// Gzip is the gzip'd JSON document; shared, never modify it.
	Gzip []byte
}

// Documents returns every document in delivery (Time) order. The slice is shared.
func (w *Workload) Documents() []Document { return w.docs }

// Generate builds the workload described by cfg.
func Generate(cfg Config) (*Workload, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := newGenerator(cfg)
	if err := g.run(); err != nil {
		return nil, fmt.Errorf("generate workload (seed %d): %w", cfg.Seed, err)
	}
	return g.w, nil
}

func validAccount(a string) bool {
	if len(a) != 12 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] < '0' || a[i] > '9' {
			return false
		}
	}
	return true
}

func validRegion(r string) bool {
	if len(r) < 6 || len(r) > 25 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
