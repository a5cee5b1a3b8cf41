package main

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/insights"
)

type runner interface {
	Run(ctx context.Context, now time.Time) (insights.RunStats, error)
}

type handler struct{ eval runner }

// errNoTime: a scheduled event always carries its time; without it the window is unknown.
var errNoTime = errors.New("scheduled event without a time")

// handle evaluates the window that ends at the event's time (not the wall clock),
// so a retried or late invocation evaluates the same window.
func (h *handler) handle(ctx context.Context, ev events.EventBridgeEvent) (insights.RunStats, error) {
	if ev.Time.IsZero() {
		return insights.RunStats{}, errNoTime
	}
	return h.eval.Run(ctx, ev.Time)
}
