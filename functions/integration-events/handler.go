package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/integration"
)

type stackReports interface {
	Handle(ctx context.Context, req *integration.StackRequest) (integration.StackResponse, error)
}

type handler struct {
	reports stackReports
}

// handle applies each SNS message's custom resource request. A message that is not
// a request cannot be answered (no ResponseURL) and is dropped with a log line; a
// response that could not be delivered fails the invocation so SNS retries it.
func (h *handler) handle(ctx context.Context, ev events.SNSEvent) error {
	var errs []error
	for _, rec := range ev.Records {
		req, err := integration.ParseStackRequest([]byte(rec.SNS.Message))
		if err != nil {
			slog.WarnContext(ctx, "custom resource message dropped", "messageId", rec.SNS.MessageID, "err", err)
			continue
		}
		resp, err := h.reports.Handle(ctx, req)
		if err != nil {
			slog.ErrorContext(ctx, "custom resource response not delivered", "request", req, "err", err)
			errs = append(errs, err)
			continue
		}
		slog.InfoContext(ctx, "customer stack report handled", "request", req, "status", resp.Status, "reason", resp.Reason)
	}
	return errors.Join(errs...)
}
