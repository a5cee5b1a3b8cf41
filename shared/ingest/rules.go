package ingest

import (
	"context"
	"time"

	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/invocation"
)

// immediateEvaluator is the part of insights.Immediate the pipeline calls.
type immediateEvaluator interface {
	Evaluate(ctx context.Context, occ []insights.Occurrence) ([]insights.Alert, error)
}

// InsightsRules runs insights' immediate rules on a batch's events.
type InsightsRules struct {
	Evaluator immediateEvaluator
}

// Immediate implements Rules. Error types of a replayed batch are skipped: the store
// had applied them already, so their newness was judged on first delivery.
func (r InsightsRules) Immediate(ctx context.Context, evs []Event) error {
	occ := make([]insights.Occurrence, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		o := insights.Occurrence{
			Function:        ev.Function,
			Time:            time.UnixMilli(ev.At).UTC(),
			RequestID:       ev.RequestID,
			DurationMs:      ev.DurationMs,
			MemorySizeMB:    ev.MemorySizeMB,
			MaxMemoryUsedMB: ev.MaxMemoryUsedMB,
		}
		switch ev.Kind {
		case EventOutOfMemory:
			o.Status = invocation.StatusOutOfMemory
		case EventTimeout:
			o.Status = invocation.StatusTimeout
		case EventErrorType:
			if ev.Replayed || ev.Error == nil {
				continue
			}
			o.Status = invocation.StatusError
			o.ErrorType, o.Message = ev.Error.Type, ev.Error.Message
			if ev.PrevLastSeen > 0 {
				o.PrevLastSeen = time.UnixMilli(ev.PrevLastSeen).UTC()
			}
		}
		if ev.Kind != EventErrorType && ev.Error != nil {
			o.Message = ev.Error.Message
		}
		occ = append(occ, o)
	}
	if len(occ) == 0 {
		return nil
	}
	_, err := r.Evaluator.Evaluate(ctx, occ)
	return err
}
