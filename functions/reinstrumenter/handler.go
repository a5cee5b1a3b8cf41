package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/sightline/sightline/shared/instrument"
)

type driftRepairer interface {
	HandleAPICall(ctx context.Context, c instrument.APICall) (instrument.Outcome, error)
}

type handler struct {
	inst driftRepairer
}

// handle takes the raw event so that malformed events are counted and dropped
// instead of failing the invocation. An error (transient only) makes EventBridge's
// asynchronous invocation retry the event.
func (h *handler) handle(ctx context.Context, raw json.RawMessage) error {
	call, err := instrument.ParseEvent(raw)
	if err != nil {
		outcome := instrument.OutcomeMalformed
		if errors.Is(err, instrument.ErrUnsupportedEvent) {
			outcome = "unsupported"
		}
		slog.WarnContext(ctx, "cloudtrail event dropped", "outcome", outcome, "err", err, "bytes", len(raw))
		return nil
	}
	outcome, err := h.inst.HandleAPICall(ctx, call)
	log := slog.With("call", call, "outcome", outcome)
	if outcome == instrument.OutcomeUnknownAccount {
		log.WarnContext(ctx, "cloudtrail event for an account without an active integration dropped")
		return nil
	}
	if err != nil {
		log.ErrorContext(ctx, "drift repair failed; the event will be retried", "err", err)
		return err
	}
	log.InfoContext(ctx, "cloudtrail event handled")
	return nil
}
