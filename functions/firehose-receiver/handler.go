package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

type firehoseIngester interface {
	Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error)
}

type handler struct{ ingest firehoseIngester }

// handle answers one Firehose HTTP endpoint delivery request.
func (h *handler) handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return h.ingest.Handle(ctx, req)
}
