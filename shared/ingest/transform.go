package ingest

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/logs"
)

// TransformHandler ingests a Firehose delivery stream as its data-transformation
// Lambda. Sightline does not store logs: an ingested record is Dropped (nothing is
// delivered on), a record with bad bytes is ProcessingFailed (Firehose keeps it under
// its error prefix for inspection). A transient failure fails the whole invocation so
// Firehose retries it; the store deduplicates what was already applied.
type TransformHandler struct {
	Pipeline *Pipeline
	Source   Source
}

// Handle processes one Firehose transformation event.
func (h *TransformHandler) Handle(ctx context.Context, ev events.KinesisFirehoseEvent) (events.KinesisFirehoseResponse, error) {
	records := logs.FirehoseTransformRecords(ev)
	b := h.Pipeline.Process(ctx, h.Source, records)
	if f, ok := b.FirstTransient(); ok {
		return events.KinesisFirehoseResponse{}, fmt.Errorf("transient failure, retry the batch: %w", f)
	}
	failed := map[int]bool{}
	for _, f := range b.Failures() {
		// Only bad bytes are ProcessingFailed; a record whose documents were rejected
		// (wrong tenant, unknown log group) was handled: dropped and counted.
		if isBadBytes(f.Err) {
			failed[f.Index] = true
		}
	}
	resp := events.KinesisFirehoseResponse{Records: make([]events.KinesisFirehoseResponseRecord, len(ev.Records))}
	for i, r := range ev.Records {
		out := events.KinesisFirehoseResponseRecord{RecordID: r.RecordID, Result: events.KinesisFirehoseTransformedStateDropped}
		if failed[i] {
			out.Result = events.KinesisFirehoseTransformedStateProcessingFailed
			out.Data = r.Data
		}
		resp.Records[i] = out
	}
	return resp, nil
}
