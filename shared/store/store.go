package store

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sightline/sightline/shared/metrics"
)

// API is the part of the DynamoDB API a Table uses; *dynamodb.Client satisfies it.
type API interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Options tune a Table. Zero fields take their defaults; out-of-range values are
// clamped (Validate reports them, for callers that parse configuration).
type Options struct {
	// Retention is how long minute aggregates live: their TTL counts from the end of
	// their minute, or from the write for older data. Default 35 days.
	Retention time.Duration
	// Now is the clock (default time.Now): it dates the TTL of late data and
	// decides when the activity cache forgets old hours.
	Now func() time.Time
	// LedgerLimit is how many document ids an item's ledger keeps (default 4096,
	// at most MaxLedgerLimit). See ApplyAggregates for what happens at the bound.
	LedgerLimit int
	// MaxAttempts bounds the optimistic read-modify-write attempts per item
	// (default 8). An item still conflicting after them fails with ErrConflict.
	MaxAttempts int
	// Concurrency bounds the requests a Table has in flight for one call
	// (default 8).
	Concurrency int
	// Logger receives warnings (ledger evictions). Default slog.Default().
	Logger *slog.Logger
}

const (
	DefaultRetention   = 35 * 24 * time.Hour
	DefaultLedgerLimit = 4096
	// MaxLedgerLimit keeps a full ledger (8 bytes an id) at 320 KB, under DynamoDB's
	// 400 KB item limit with room for the aggregate itself.
	MaxLedgerLimit     = 40_000
	defaultMaxAttempts = 8
	defaultConcurrency = 8
)

// Validate reports options that New would have to clamp.
func (o Options) Validate() error {
	switch {
	case o.Retention < 0:
		return fmt.Errorf("%w: negative retention %v", ErrInvalid, o.Retention)
	case o.LedgerLimit < 0 || o.LedgerLimit > MaxLedgerLimit:
		return fmt.Errorf("%w: ledger limit %d (want 1..%d)", ErrInvalid, o.LedgerLimit, MaxLedgerLimit)
	case o.MaxAttempts < 0 || o.MaxAttempts > 100:
		return fmt.Errorf("%w: max attempts %d (want 1..100)", ErrInvalid, o.MaxAttempts)
	case o.Concurrency < 0 || o.Concurrency > 256:
		return fmt.Errorf("%w: concurrency %d (want 1..256)", ErrInvalid, o.Concurrency)
	}
	return nil
}

// Table is Sightline's table: idempotent aggregate and error-type writes, their
// reads, and the activity index. It is safe for concurrent use; a warm Lambda
// keeps one.
type Table struct {
	api  API
	name string
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	active map[activeKey]int64 // function-hours already marked by this process: their expiry (epoch s)
	pruned int64               // the hour up to which active was last pruned
}

// New returns the table name reached through api.
func New(api API, name string, opts Options) *Table {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LedgerLimit <= 0 {
		opts.LedgerLimit = DefaultLedgerLimit
	}
	opts.LedgerLimit = min(opts.LedgerLimit, MaxLedgerLimit)
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = defaultMaxAttempts
	}
	opts.MaxAttempts = min(opts.MaxAttempts, 100)
	if opts.Concurrency <= 0 {
		opts.Concurrency = defaultConcurrency
	}
	opts.Concurrency = min(opts.Concurrency, 256)
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Table{api: api, name: name, opts: opts, log: log, active: map[activeKey]int64{}}
}

// Name is the DynamoDB table name.
func (t *Table) Name() string { return t.name }

// Key prefixes of the layout in the package doc.
const (
	functionPrefix  = "F#"
	minutePrefix    = "M#"
	errorTypePrefix = "E#"
	activePrefix    = "ACT#"
)

// checkFunction rejects a function that cannot be keyed.
func checkFunction(fn metrics.Function) error {
	for _, f := range []struct{ name, v string }{
		{"tenant", fn.Tenant}, {"account", fn.Account}, {"region", fn.Region}, {"function", fn.Name},
	} {
		if f.v == "" {
			return fmt.Errorf("%w: empty %s", ErrInvalid, f.name)
		}
		if strings.Contains(f.v, "#") {
			return fmt.Errorf("%w: %s contains '#'", ErrInvalid, f.name)
		}
	}
	return nil
}

// FunctionKey is the partition key of a function's items:
// F#<tenant>#<account>#<region>#<function>.
func FunctionKey(fn metrics.Function) string {
	return functionPrefix + functionID(fn)
}

func functionID(fn metrics.Function) string {
	return fn.Tenant + "#" + fn.Account + "#" + fn.Region + "#" + fn.Name
}

// parseFunctionID is the inverse of functionID.
func parseFunctionID(s string) (metrics.Function, bool) {
	p := strings.Split(s, "#")
	if len(p) != 4 {
		return metrics.Function{}, false
	}
	fn := metrics.Function{Tenant: p[0], Account: p[1], Region: p[2], Name: p[3]}
	return fn, checkFunction(fn) == nil
}

// MinuteKey is the sort key of a minute aggregate: M#<minute, 10 digits>.
func MinuteKey(m metrics.Minute) string {
	return fmt.Sprintf("%s%010d", minutePrefix, int64(m))
}

// ErrorTypeKey is the sort key of an error type: E#<type>.
func ErrorTypeKey(errorType string) string { return errorTypePrefix + errorType }

func parseMinuteKey(sk string) (metrics.Minute, bool) {
	if !strings.HasPrefix(sk, minutePrefix) {
		return 0, false
	}
	m, err := strconv.ParseInt(sk[len(minutePrefix):], 10, 64)
	return metrics.Minute(m), err == nil && m >= 0
}

// maxMinute is the largest minute a 10-digit key holds (year ~21000).
const maxMinute = 9_999_999_999

// forEach runs f(i) for i in [0, n) on at most t.opts.Concurrency goroutines.
func (t *Table) forEach(n int, f func(i int)) {
	workers := min(t.opts.Concurrency, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
