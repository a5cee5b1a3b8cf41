package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

type transformIngester interface {
	Handle(ctx context.Context, ev events.KinesisFirehoseEvent) (events.KinesisFirehoseResponse, error)
}

type handler struct{ ingest transformIngester }

// handle ingests one transformation batch: ingested records are Dropped, bad bytes
// ProcessingFailed; a transient failure fails the invocation so Firehose retries.
func (h *handler) handle(ctx context.Context, ev events.KinesisFirehoseEvent) (events.KinesisFirehoseResponse, error) {
	return h.ingest.Handle(ctx, ev)
}
