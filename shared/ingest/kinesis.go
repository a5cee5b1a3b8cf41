package ingest

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/logs"
)

// KinesisHandler ingests the Kinesis data stream that CloudWatch Logs destinations
// write to. The event source mapping has ReportBatchItemFailures on: the response
// names the first record that failed transiently, so Lambda retries from it (records
// after it that were applied are deduplicated by the store); permanent failures are
// counted, logged and skipped so they never block the shard.
type KinesisHandler struct {
	Pipeline *Pipeline
	Source   Source
}

// Handle processes one Kinesis event.
func (h *KinesisHandler) Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	b := h.Pipeline.Process(ctx, h.Source, logs.KinesisRecords(ev))
	var resp events.KinesisEventResponse
	if f, ok := b.FirstTransient(); ok {
		resp.BatchItemFailures = []events.KinesisBatchItemFailure{{ItemIdentifier: f.ID}}
	}
	return resp, nil
}
