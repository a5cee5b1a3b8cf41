package insights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sightline/sightline/shared/metrics"
)

// Windows of the scheduled rules.
const (
	// Period is the schedule: rate(5 minutes). Evaluation windows end on a
	// five-minute boundary.
	Period = 5 * time.Minute
	// DurationWindow is the window of approaching_timeout and unusual_duration.
	DurationWindow = 60 * time.Minute
	// ScheduledDedup is the de-duplication window of approaching_timeout (the
	// seed's: no new alert if one fired in the past 60 minutes).
	ScheduledDedup = 60 * time.Minute
	// RecurringDedup is the de-duplication window of unusual_duration and
	// escalated_invocations, which the seed leaves open: their conditions recur
	// (a function with ordinary latency variance has a 2x-median invocation in most
	// hours; a traffic ramp passes its previous high every hour until the 48-hour
	// baseline holds a full cycle), so they fire at most once a day per function.
	RecurringDedup = 24 * time.Hour
)

// MinuteStats is what the scheduled rules need of one minute aggregate.
type MinuteStats struct {
	Minute        metrics.Minute
	Invocations   int64
	MaxDurationMs float64 // exact
	// MaxRequestID is the request id of the slowest invocation, when recorded.
	MaxRequestID string
}

// Window is one function's minute aggregates over a range of minutes.
type Window struct {
	// Minutes holds the minutes that have an aggregate, ascending.
	Minutes []MinuteStats
	// MedianMs is the median duration of every invocation of the range, from the
	// merged duration sketch (0 when there were none, or when not requested).
	MedianMs float64
}

// windowReader reads a function's minute aggregates in [from, to] with one Query
// (the store's Minutes). withMedian false lets the reader skip merging sketches.
type windowReader interface {
	ReadWindow(ctx context.Context, fn metrics.Function, from, to metrics.Minute, withMedian bool) (Window, error)
}

// activityLister lists the functions active in the hours [fromHour, toHour].
type activityLister interface {
	ActiveFunctions(ctx context.Context, fromHour, toHour int64) ([]metrics.Function, error)
}

// stateStore keeps the per-function scheduled-rule state ([Table]).
type stateStore interface {
	LoadState(ctx context.Context, fn metrics.Function) (State, bool, error)
	SaveState(ctx context.Context, fn metrics.Function, s State) error
}

// TimeoutFunc returns a function's configured timeout from the inventory; 0 when
// it is unknown (approaching_timeout is then skipped for the function).
type TimeoutFunc func(ctx context.Context, fn metrics.Function) (time.Duration, error)

// Config tunes the scheduled evaluator. Zero values of the guards give the seed's
// literal rules; DefaultConfig gives the documented defaults.
type Config struct {
	// Concurrency bounds the functions evaluated at once.
	Concurrency int
	// Lag moves the evaluated window back from the clock, so data still in
	// delivery (Firehose buffers) is not mistaken for silence. Default 0.
	Lag time.Duration
	// MinHistory: escalated_invocations needs the function's data to start at
	// least this long before the last five minutes.
	MinHistory time.Duration
	// MinPriorInvocations: escalated_invocations needs at least this many
	// invocations in the prior 48 hours.
	MinPriorInvocations int64
	// MinWindowInvocations: unusual_duration needs at least this many invocations
	// in the 60-minute window for its median to mean anything.
	MinWindowInvocations int64
	// Reserve is the time kept free before the context deadline: functions not
	// started by then are skipped (and counted) rather than cut off mid-write.
	Reserve time.Duration
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Concurrency:          64,
		MinHistory:           time.Hour,
		MinPriorInvocations:  10,
		MinWindowInvocations: 5,
		Reserve:              10 * time.Second,
	}
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("insights: concurrency %d out of [1, 1024]", c.Concurrency)
	case c.Lag < 0 || c.Lag > time.Hour:
		return fmt.Errorf("insights: lag %s out of [0, 1h]", c.Lag)
	case c.MinHistory < 0 || c.MinHistory > 48*time.Hour:
		return fmt.Errorf("insights: min history %s out of [0, 48h]", c.MinHistory)
	case c.MinPriorInvocations < 0 || c.MinWindowInvocations < 0:
		return errors.New("insights: negative minimum invocations")
	case c.Reserve < 0:
		return errors.New("insights: negative reserve")
	}
	return nil
}

// Evaluator runs the scheduled rules for every function active in the window.
type Evaluator struct {
	Config   Config
	Active   activityLister
	Windows  windowReader
	States   stateStore
	Alerts   recorder
	Timeouts TimeoutFunc
	Sink     AlertSink
	Logger   *slog.Logger
}

// RunStats summarises one run.
type RunStats struct {
	WindowEnd  time.Time
	Functions  int // active in the window
	Evaluated  int
	Backfilled int // functions whose state was built from 48 hours of aggregates
	Skipped    int // not started before the deadline
	Failed     int
	Alerts     int // new alerts
	ByRule     map[Rule]int
}

// WindowEnd returns the end of the window evaluated at now: now minus lag,
// truncated to a five-minute boundary. Runs whose clocks fall in the same five
// minutes evaluate the same window and find the same alerts.
func (c Config) WindowEnd(now time.Time) time.Time {
	return now.Add(-c.Lag).UTC().Truncate(Period)
}

// Run evaluates the scheduled rules at now. It reads the functions active in the
// hours of the window and evaluates them with bounded concurrency. A function that
// fails is logged and counted; Run fails only when it cannot list the functions or
// when every function failed.
func (e *Evaluator) Run(ctx context.Context, now time.Time) (RunStats, error) {
	log := e.Logger
	if log == nil {
		log = slog.Default()
	}
	end := e.Config.WindowEnd(now)
	st := RunStats{WindowEnd: end, ByRule: map[Rule]int{}}
	start := end.Add(-DurationWindow)
	fns, err := e.Active.ActiveFunctions(ctx, start.Unix()/3600, (end.Unix()-1)/3600)
	if err != nil {
		return st, fmt.Errorf("list active functions: %w", err)
	}
	st.Functions = len(fns)
	conc := max(e.Config.Concurrency, 1)
	deadline, hasDeadline := ctx.Deadline()

	var (
		next                                             atomic.Int64
		evaluated, backfilled, skipped, failed, newCount atomic.Int64
		mu                                               sync.Mutex
		wg                                               sync.WaitGroup
	)
	for w := 0; w < min(conc, len(fns)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(fns) {
					return
				}
				if ctx.Err() != nil || (hasDeadline && time.Until(deadline) < e.Config.Reserve) {
					skipped.Add(1)
					continue
				}
				res, err := e.evaluate(ctx, fns[i], end)
				if err != nil {
					failed.Add(1)
					log.ErrorContext(ctx, "evaluate function", "fn", FunctionRef(fns[i]), "err", err)
				} else {
					evaluated.Add(1)
				}
				if res.backfilled {
					backfilled.Add(1)
				}
				if len(res.alerts) > 0 {
					newCount.Add(int64(len(res.alerts)))
					mu.Lock()
					for _, a := range res.alerts {
						st.ByRule[a.Rule]++
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	st.Evaluated, st.Backfilled, st.Skipped = int(evaluated.Load()), int(backfilled.Load()), int(skipped.Load())
	st.Failed, st.Alerts = int(failed.Load()), int(newCount.Load())
	log.InfoContext(ctx, "insights run", "windowEnd", end, "functions", st.Functions, "evaluated", st.Evaluated,
		"backfilled", st.Backfilled, "skipped", st.Skipped, "failed", st.Failed, "alerts", st.Alerts)
	if st.Failed > 0 && st.Evaluated == 0 {
		return st, fmt.Errorf("insights run at %s: all %d functions failed", end.Format(time.RFC3339), st.Failed)
	}
	return st, nil
}

type fnResult struct {
	alerts     []Alert
	backfilled bool
}

// evaluate runs the three rules for one function. Reads: one Query of the
// window's (at most 60) minute items, one GetItem of the state, the timeout
// lookup; once per function ever (or after its state expired), one Query of the
// prior 48 hours to build the state.
func (e *Evaluator) evaluate(ctx context.Context, fn metrics.Function, end time.Time) (fnResult, error) {
	var res fnResult
	endMin := metrics.Minute(end.Unix() / 60)
	from, to := endMin-metrics.Minute(DurationWindow/time.Minute), endMin-1
	w, err := e.Windows.ReadWindow(ctx, fn, from, to, true)
	if err != nil {
		return res, err
	}
	state, found, err := e.States.LoadState(ctx, fn)
	if err != nil && !errors.Is(err, ErrCorruptState) {
		return res, err
	}
	if !found {
		// Build the ring from the minute aggregates of the 48 hours before the window.
		res.backfilled = true
		bfFrom := metrics.Minute((BucketOf(from) - PriorBuckets) * BucketMinutes)
		hist, err := e.Windows.ReadWindow(ctx, fn, bfFrom, from-1, false)
		if err != nil {
			return res, fmt.Errorf("backfill: %w", err)
		}
		state = State{}
		first, counts := bucketCounts(hist.Minutes, bfFrom, from-1)
		state.Refresh(first, counts)
	}
	first, counts := bucketCounts(w.Minutes, from, to)
	state.Refresh(first, counts)

	var timeout time.Duration
	if e.Timeouts != nil {
		if timeout, err = e.Timeouts(ctx, fn); err != nil {
			return res, fmt.Errorf("function timeout: %w", err)
		}
	}
	var errs []error
	for _, a := range e.Config.rules(fn, end, w, timeout, &state) {
		window := DedupWindow(a.Rule)
		if state.quiet(a.Rule, a.At, window) {
			continue // it fired within its window: the table would cancel the write
		}
		ok, err := emit(ctx, e.Alerts, e.Sink, a, window)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			state.fired(a.Rule, a.At)
			res.alerts = append(res.alerts, a)
		}
	}
	if err := e.States.SaveState(ctx, fn, state); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// bucketCounts sums minute invocations into the buckets covering [from, to].
func bucketCounts(ms []MinuteStats, from, to metrics.Minute) (int64, []uint64) {
	first, last := BucketOf(from), BucketOf(to)
	counts := make([]uint64, last-first+1)
	for _, m := range ms {
		if m.Minute < from || m.Minute > to || m.Invocations <= 0 {
			continue
		}
		counts[BucketOf(m.Minute)-first] += uint64(m.Invocations)
	}
	return first, counts
}

// rules applies the three scheduled rules to one function's window and state.
// end is the window's end (a five-minute boundary); the alerts fire at end.
func (c Config) rules(fn metrics.Function, end time.Time, w Window, timeout time.Duration, s *State) []Alert {
	base := Alert{Tenant: fn.Tenant, Account: fn.Account, Region: fn.Region, Function: fn.Name, At: end}
	winStart := end.Add(-DurationWindow)
	var n int64
	var slow MinuteStats
	for _, m := range w.Minutes {
		n += m.Invocations
		if m.MaxDurationMs > slow.MaxDurationMs {
			slow = m
		}
	}
	var out []Alert

	// approaching_timeout: any invocation of the past 60 minutes > 90% of the timeout.
	if timeout > 0 {
		tms := float64(timeout) / float64(time.Millisecond)
		if limit := 0.9 * tms; slow.MaxDurationMs > limit {
			a := base
			a.Rule = RuleApproachingTimeout
			a.Details = Details{RequestID: slow.MaxRequestID, DurationMs: slow.MaxDurationMs,
				TimeoutMs: tms, ThresholdMs: limit, Invocations: n,
				WindowStart: ptr(winStart), WindowEnd: ptr(end)}
			out = append(out, a)
		}
	}

	// unusual_duration: any invocation of the past 60 minutes > 2x the window's median.
	if n >= c.MinWindowInvocations && n > 0 && w.MedianMs > 0 {
		if limit := 2 * w.MedianMs; slow.MaxDurationMs > limit {
			a := base
			a.Rule = RuleUnusualDuration
			a.Details = Details{RequestID: slow.MaxRequestID, DurationMs: slow.MaxDurationMs,
				MedianMs: w.MedianMs, ThresholdMs: limit, Invocations: n,
				WindowStart: ptr(winStart), WindowEnd: ptr(end)}
			out = append(out, a)
		}
	}

	// escalated_invocations: the last five minutes' count > 125% of the highest
	// five-minute count of the prior 48 hours.
	last := BucketOf(metrics.Minute(end.Unix()/60)) - 1
	count := s.Count(last)
	priorMax, priorTotal := s.Prior(last)
	history := time.Duration(last-s.Since) * BucketMinutes * time.Minute
	if count > 0 && s.Since > 0 && history >= c.MinHistory && int64(priorTotal) >= c.MinPriorInvocations &&
		4*count > 5*priorMax {
		pm := int64(priorMax)
		a := base
		a.Rule = RuleEscalatedInvocations
		a.Details = Details{Count: int64(count), PriorMax: &pm, Threshold: 1.25 * float64(priorMax),
			WindowStart: ptr(bucketTime(last)), WindowEnd: ptr(end)}
		out = append(out, a)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// DedupWindow is how long after firing a scheduled rule stays quiet for a function.
func DedupWindow(r Rule) time.Duration {
	if r == RuleApproachingTimeout {
		return ScheduledDedup
	}
	return RecurringDedup
}
