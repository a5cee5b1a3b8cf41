package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

type kinesisIngester interface {
	Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error)
}

type handler struct{ ingest kinesisIngester }

// handle ingests one batch; the response names the first record to retry, if any
// (the event source mapping has ReportBatchItemFailures on).
func (h *handler) handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	return h.ingest.Handle(ctx, ev)
}
