package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Errors carry a kind. A transient failure (HTTP 5xx or 429, a timeout, a
// network error, AWS throttling or a server fault) is retried with backoff and,
// if it persists, the alert's queue message is retried. A permanent failure (any
// other 4xx, a missing secret, an unverified sender) is recorded on the alert and
// not retried.
var (
	ErrTransient = errors.New("transient delivery failure")
	ErrPermanent = errors.New("permanent delivery failure")
)

// Retry is exponential backoff with full jitter: before attempt i (from 1) it
// sleeps a random duration in [0, min(Max, Base·2^(i-1))).
type Retry struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
	// Sleep waits d or until ctx ends (tests replace it).
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry: 4 attempts, 200ms base, 3s cap — a few seconds at most, well
// inside the notifier's time per message.
func DefaultRetry() Retry {
	return Retry{Attempts: 4, Base: 200 * time.Millisecond, Max: 3 * time.Second}
}

// Do runs f until it succeeds, fails permanently, or the attempts run out.
func (r Retry) Do(ctx context.Context, f func(ctx context.Context) error) error {
	attempts := max(r.Attempts, 1)
	sleep := r.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var err error
	for i := range attempts {
		if i > 0 {
			ceil := min(r.Max, r.Base<<(i-1))
			if ceil > 0 {
				if serr := sleep(ctx, time.Duration(rand.Int64N(int64(ceil)))); serr != nil {
					return fmt.Errorf("%w: %w (after %v)", ErrTransient, serr, err)
				}
			}
		}
		if err = f(ctx); err == nil || !errors.Is(err, ErrTransient) {
			return err
		}
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// httpStatusError sorts an HTTP answer: 2xx nil, 408/429/5xx transient, others permanent.
func httpStatusError(status int, body string) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return fmt.Errorf("%w: HTTP %d: %s", ErrTransient, status, body)
	default:
		return fmt.Errorf("%w: HTTP %d: %s", ErrPermanent, status, body)
	}
}

// httpSendError sorts a failure to get an HTTP answer: all are transient
// (timeouts, refused connections, resets).
func httpSendError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrTransient, ctx.Err())
	}
	return fmt.Errorf("%w: %w", ErrTransient, err)
}

// awsError sorts an AWS SDK error: throttling, server faults and send failures
// are transient; everything else (not found, access denied, validation,
// unverified identities) is permanent.
func awsError(op string, err error) error {
	if err == nil {
		return nil
	}
	var send *smithyhttp.RequestSendError
	var api smithy.APIError
	switch {
	case errors.As(err, &send), errors.Is(err, context.DeadlineExceeded),
		retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool():
		return fmt.Errorf("%w: %s: %w", ErrTransient, op, err)
	case errors.As(err, &api) && api.ErrorFault() == smithy.FaultServer:
		return fmt.Errorf("%w: %s: %w", ErrTransient, op, err)
	case errors.As(err, &api) && (api.ErrorCode() == "Throttling" || api.ErrorCode() == "TooManyRequestsException" ||
		api.ErrorCode() == "InternalError" || api.ErrorCode() == "ServiceUnavailable"):
		return fmt.Errorf("%w: %s: %w", ErrTransient, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrPermanent, op, err)
}
