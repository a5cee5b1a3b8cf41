package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// scheduledRules runs the scheduled alert rules at one moment of the simulated clock.
type scheduledRules interface {
	Run(ctx context.Context, now time.Time) error
}

// handlers is one worker's set of the Lambdas' handlers, sharing one pipeline.
type handlers struct {
	kinesis   *ingest.KinesisHandler
	firehose  *ingest.FirehoseReceiver
	transform *ingest.TransformHandler
}

// replayer delivers batches through the Lambdas' handlers with a pool of workers,
// advancing a simulated clock that follows the log timestamps and running the
// scheduled rules every 5 minutes of log time.
type replayer struct {
	log       *slog.Logger
	workers   chan *handlers
	repeat    int
	accessKey string
	region    string
	scheduled scheduledRules
	observed  *observer

	nextTick time.Time // next 5-minute boundary at which the scheduled rules run
	ticks    int
}

// observer wraps the store to learn which functions and minutes the replay wrote.
type observer struct {
	*store.Table
	mu        sync.Mutex
	functions map[metrics.Function]bool
	maxMinute metrics.Minute
	minMinute metrics.Minute
	stats     ingest.Stats
}

func newObserver(t *store.Table) *observer {
	return &observer{Table: t, functions: map[metrics.Function]bool{}, minMinute: 1<<62 - 1}
}

func (o *observer) ApplyAggregates(ctx context.Context, ups []store.AggregateUpdate) []error {
	o.mu.Lock()
	for _, u := range ups {
		o.functions[u.Function] = true
		o.maxMinute = max(o.maxMinute, u.Minute)
		o.minMinute = min(o.minMinute, u.Minute)
	}
	o.mu.Unlock()
	return o.Table.ApplyAggregates(ctx, ups)
}

func (o *observer) latest() metrics.Minute {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.maxMinute
}

// run delivers every batch (repeat times each) in waves of concurrent deliveries,
// ticking the simulated clock between waves.
func (r *replayer) run(ctx context.Context, deliveries []delivery) error {
	wave := 2 * cap(r.workers)
	for start := 0; start < len(deliveries); start += wave {
		end := min(start+wave, len(deliveries))
		var wg sync.WaitGroup
		errs := make([]error, end-start)
		for i := start; i < end; i++ {
			h := <-r.workers
			wg.Add(1)
			go func(i int, h *handlers) {
				defer func() { r.workers <- h; wg.Done() }()
				for range r.repeat {
					if err := r.deliver(ctx, h, &deliveries[i]); err != nil {
						errs[i-start] = fmt.Errorf("delivery %d (%s): %w", i, deliveries[i].kind, err)
						return
					}
				}
			}(i, h)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		// Minute m is complete once a later minute has arrived: run the rules at every
		// boundary up to the start of the newest minute seen.
		if err := r.tick(ctx, time.Unix(int64(r.observed.latest())*60, 0).UTC(), false); err != nil {
			return err
		}
	}
	// End of input: the last minutes are complete now.
	last := time.Unix(int64(r.observed.latest()+1)*60, 0).UTC()
	return r.tick(ctx, last.Add(5*time.Minute), true)
}

// tick runs the scheduled rules at every 5-minute boundary up to now.
func (r *replayer) tick(ctx context.Context, now time.Time, final bool) error {
	if r.scheduled == nil || r.observed.latest() == 0 {
		return nil
	}
	if r.nextTick.IsZero() {
		first := time.Unix(int64(r.observed.minMinute)*60, 0).UTC()
		r.nextTick = first.Truncate(5 * time.Minute).Add(5 * time.Minute)
	}
	for !r.nextTick.After(now) {
		if !final && r.nextTick.Equal(now) {
			break // the minute starting now may still be arriving
		}
		if err := r.scheduled.Run(ctx, r.nextTick); err != nil {
			return fmt.Errorf("scheduled rules at %s: %w", r.nextTick.Format(time.RFC3339), err)
		}
		r.ticks++
		r.nextTick = r.nextTick.Add(5 * time.Minute)
	}
	return nil
}

// deliver hands one batch to its handler and checks the answer a source would act on.
func (r *replayer) deliver(ctx context.Context, h *handlers, d *delivery) error {
	switch d.kind {
	case viaKinesis:
		resp, err := h.kinesis.Handle(ctx, d.kinesis)
		if err != nil {
			return err
		}
		if len(resp.BatchItemFailures) > 0 {
			return fmt.Errorf("kinesis handler asked to retry from %s", resp.BatchItemFailures[0].ItemIdentifier)
		}
	case viaFirehose:
		resp, err := h.firehose.Handle(ctx, events.LambdaFunctionURLRequest{
			Headers: map[string]string{
				"x-amz-firehose-access-key":        r.accessKey,
				"x-amz-firehose-request-id":        "replay",
				"x-amz-firehose-common-attributes": fmt.Sprintf(`{"commonAttributes":{"region":%q}}`, r.region),
				"content-type":                     "application/json",
			},
			Body:           string(d.firehose),
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}},
		})
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("firehose receiver answered %d: %s", resp.StatusCode, resp.Body)
		}
	case viaTransform:
		if _, err := h.transform.Handle(ctx, d.transform); err != nil {
			return err
		}
	}
	return nil
}

// FunctionTotals is one replay output line: a function's totals over everything replayed.
type FunctionTotals struct {
	Account          string         `json:"account"`
	Region           string         `json:"region"`
	Function         string         `json:"function"`
	Invocations      int64          `json:"invocations"`
	Errors           int64          `json:"errors"`
	Timeouts         int64          `json:"timeouts"`
	OutOfMemory      int64          `json:"outOfMemory"`
	ColdStarts       int64          `json:"coldStarts"`
	DurationMs       DurationTotals `json:"durationMs"`
	BilledDurationMs int64          `json:"billedDurationMs"`
	MemorySizeMB     int32          `json:"memorySizeMB"`
	MaxMemoryUsedMB  int32          `json:"maxMemoryUsedMB"`
	EstimatedCostUSD float64        `json:"estimatedCostUSD"`
	ErrorTypes       []string       `json:"errorTypes"`
}

// DurationTotals are a function's durations in milliseconds.
type DurationTotals struct {
	Sum float64 `json:"sum"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// totals reads back, from the store, every function the replay wrote.
func totals(ctx context.Context, o *observer) ([]FunctionTotals, error) {
	fns := make([]metrics.Function, 0, len(o.functions))
	for fn := range o.functions {
		fns = append(fns, fn)
	}
	slices.SortFunc(fns, func(a, b metrics.Function) int {
		return strings.Compare(a.Account+"\x00"+a.Region+"\x00"+a.Name, b.Account+"\x00"+b.Region+"\x00"+b.Name)
	})
	out := make([]FunctionTotals, 0, len(fns))
	for _, fn := range fns {
		minutes, err := o.Minutes(ctx, fn, o.minMinute, o.maxMinute)
		if err != nil {
			return nil, fmt.Errorf("read minutes of %s: %w", fn.Name, err)
		}
		var sum metrics.Aggregate
		for i := range minutes {
			sum.Merge(&minutes[i].Agg)
		}
		types, err := o.ErrorTypes(ctx, fn)
		if err != nil {
			return nil, fmt.Errorf("read error types of %s: %w", fn.Name, err)
		}
		names := make([]string, 0, len(types))
		for _, t := range types {
			names = append(names, t.Type)
		}
		slices.Sort(names)
		out = append(out, FunctionTotals{
			Account: fn.Account, Region: fn.Region, Function: fn.Name,
			Invocations: sum.Invocations, Errors: sum.Errors, Timeouts: sum.Timeouts,
			OutOfMemory: sum.OutOfMemory, ColdStarts: sum.ColdStarts,
			DurationMs: DurationTotals{
				Sum: sum.DurationSumMs(), Min: sum.DurationMinMs(), Max: sum.DurationMaxMs(),
				P50: round3(sum.P50Ms()), P95: round3(sum.P95Ms()), P99: round3(sum.P99Ms()),
			},
			BilledDurationMs: sum.BilledDurationMs,
			MemorySizeMB:     sum.MemorySizeMB,
			MaxMemoryUsedMB:  sum.MaxMemoryUsedMB,
			EstimatedCostUSD: sum.CostUSD(),
			ErrorTypes:       names,
		})
	}
	return out, nil
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// writeJSONLines writes one JSON object per line.
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for i := range items {
		if err := enc.Encode(items[i]); err != nil {
			return err
		}
	}
	return nil
}
