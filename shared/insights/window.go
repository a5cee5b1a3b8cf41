package insights

import (
	"context"
	"fmt"

	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// minuteStore is the part of the store the scheduled rules read: one Query of a
// function's minute items.
type minuteStore interface {
	Minutes(ctx context.Context, fn metrics.Function, from, to metrics.Minute) ([]store.MinuteAggregate, error)
}

// StoreWindows reads windows from the store's minute aggregates: the counts and
// exact maximum durations per minute, and the median of the window from the
// merged duration sketches.
type StoreWindows struct {
	Store minuteStore
}

// ReadWindow implements the evaluator's window reader with one store.Minutes call.
func (s StoreWindows) ReadWindow(ctx context.Context, fn metrics.Function, from, to metrics.Minute, withMedian bool) (Window, error) {
	ms, err := s.Store.Minutes(ctx, fn, from, to)
	if err != nil {
		return Window{}, fmt.Errorf("read window: %w", err)
	}
	w := Window{Minutes: make([]MinuteStats, 0, len(ms))}
	var merged metrics.Aggregate
	for i := range ms {
		a := &ms[i].Agg
		w.Minutes = append(w.Minutes, MinuteStats{Minute: ms[i].Minute, Invocations: a.Invocations, MaxDurationMs: a.DurationMaxMs()})
		if withMedian && a.Invocations > 0 {
			merged.Merge(a)
		}
	}
	if withMedian {
		w.MedianMs = merged.DurationQuantileMs(0.5)
	}
	return w, nil
}
