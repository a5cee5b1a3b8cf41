// Package notify delivers alerts to a tenant's channels: Slack incoming webhooks
// (a Block Kit message), generic webhooks (a JSON body signed with HMAC-SHA256 over
// "timestamp.body", see [Sign] and [Verify]), SNS topics and email through SES.
//
// Channels are stored per tenant (T#<tenant> / CH#<id>). Webhook URLs and signing
// keys are secrets: a channel holds only a reference to a Secrets Manager secret
// or an SSM SecureString parameter, fetched and cached for a few minutes
// ([Secrets]); [Secret] and [Channel] never print their contents.
//
// Each delivery is retried with exponential backoff and full jitter on transient
// failures (HTTP 5xx, 429, 408, network errors and timeouts, AWS throttling and
// server faults). Outcomes are recorded on the alert item: the channels delivered
// to (a string set, so a redelivered queue message skips them) and permanent
// failures with their reason. A channel still failing transiently after the
// retries makes [Notifier.Deliver] return an ErrTransient error, so the notifier
// Lambda reports the message in its batch item failures and SQS redelivers it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sightline/sightline/shared/insights"
)

// outcomeStore is where channels and delivery outcomes live ([Table]).
type outcomeStore interface {
	Channels(ctx context.Context, tenant string) ([]Channel, error)
	Done(ctx context.Context, a insights.Alert) (map[string]bool, error)
	RecordDelivered(ctx context.Context, a insights.Alert, channel string) error
	RecordFailure(ctx context.Context, a insights.Alert, channel, reason string) error
}

type sender interface {
	Send(ctx context.Context, c *Channel, a *insights.Alert, link string) error
}

// Notifier delivers alerts to their tenant's channels.
type Notifier struct {
	Store        outcomeStore
	Senders      sender
	Retry        Retry
	DashboardURL string
	Logger       *slog.Logger
}

// Result counts what one Deliver did.
type Result struct {
	Delivered, Skipped, Permanent, Transient int
}

// Deliver sends the alert of m to every channel of its tenant that takes its rule
// and has neither received it nor failed on it permanently. Permanent failures are recorded on the alert and
// do not fail the call; if any channel still fails transiently after the retries,
// the returned error wraps ErrTransient (retry the message later).
func (n *Notifier) Deliver(ctx context.Context, m insights.QueueMessage) (Result, error) {
	var res Result
	log := n.Logger
	if log == nil {
		log = slog.Default()
	}
	a := m.Alert
	a.Tenant = m.Tenant
	log = log.With("alert", a)
	chans, err := n.Store.Channels(ctx, a.Tenant)
	if err != nil {
		return res, fmt.Errorf("deliver %s: %w", a.Rule, err)
	}
	if len(chans) == 0 {
		return res, nil
	}
	done, err := n.Store.Done(ctx, a)
	if err != nil {
		return res, fmt.Errorf("deliver %s: %w", a.Rule, err)
	}
	link := DashboardLink(n.DashboardURL, &a)
	var transient []error
	for i := range chans {
		c := &chans[i]
		if !c.Wants(a.Rule) || done[c.ID] {
			res.Skipped++
			continue
		}
		err := n.Retry.Do(ctx, func(ctx context.Context) error { return n.Senders.Send(ctx, c, &a, link) })
		switch {
		case err == nil:
			res.Delivered++
			if err := n.Store.RecordDelivered(ctx, a, c.ID); err != nil {
				// Delivered but not recorded: a redelivery may send it again.
				log.WarnContext(ctx, "record delivery", "channel", c, "err", err)
			}
		case errors.Is(err, ErrTransient):
			res.Transient++
			log.WarnContext(ctx, "delivery failed, will retry", "channel", c, "err", err)
			transient = append(transient, fmt.Errorf("channel %s: %w", c.ID, err))
		default:
			res.Permanent++
			log.ErrorContext(ctx, "delivery failed permanently", "channel", c, "err", err)
			if err := n.Store.RecordFailure(ctx, a, c.ID, err.Error()); err != nil {
				transient = append(transient, fmt.Errorf("channel %s: %w", c.ID, err))
			}
		}
	}
	if len(transient) > 0 {
		return res, fmt.Errorf("deliver %s: %w", a.Rule, errors.Join(transient...))
	}
	return res, nil
}
