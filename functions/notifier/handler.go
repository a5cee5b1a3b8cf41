package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/notify"
)

type deliverer interface {
	Deliver(ctx context.Context, m insights.QueueMessage) (notify.Result, error)
}

type handler struct{ notifier deliverer }

// handle delivers each message. A message that cannot be decoded, or fails
// permanently, is logged and dropped; one that failed transiently is reported in
// BatchItemFailures so SQS redelivers only it (the event source mapping has
// ReportBatchItemFailures on; channels already delivered are skipped then).
func (h *handler) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		log := slog.Default().With("messageId", rec.MessageId)
		m, err := insights.DecodeQueueMessage([]byte(rec.Body))
		if err != nil {
			log.ErrorContext(ctx, "dropping bad alert message", "err", err)
			continue
		}
		res, err := h.notifier.Deliver(ctx, m)
		switch {
		case err == nil:
			log.InfoContext(ctx, "alert delivered", "alert", m.Alert, "delivered", res.Delivered,
				"skipped", res.Skipped, "permanent", res.Permanent)
		case errors.Is(err, notify.ErrTransient) || ctx.Err() != nil:
			log.WarnContext(ctx, "alert delivery will be retried", "alert", m.Alert, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		default:
			log.ErrorContext(ctx, "alert delivery failed permanently", "alert", m.Alert, "err", err)
		}
	}
	return resp, nil
}
