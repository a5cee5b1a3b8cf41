package instrument

import (
	"context"
	"errors"
	"time"

	"github.com/aws/smithy-go"
)

// transientCodes are AWS error codes worth retrying: throttling, a function update
// still in progress, a concurrent modification, a stale RevisionId.
var transientCodes = map[string]bool{
	"ResourceConflictException":       true,
	"TooManyRequestsException":        true,
	"ThrottlingException":             true,
	"Throttling":                      true,
	"RequestLimitExceeded":            true,
	"ServiceException":                true,
	"ServiceUnavailableException":     true,
	"ServiceUnavailable":              true,
	"InternalFailure":                 true,
	"OperationAbortedException":       true,
	"PreconditionFailedException":     true,
	"ConcurrentModificationException": true,
	"ResourceInUseException":          true,
}

// IsTransient reports whether err is worth retrying later.
func IsTransient(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return transientCodes[ae.ErrorCode()]
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// retry runs op until it succeeds, fails permanently, or MaxAttempts transient
// failures happened, backing off exponentially (Backoff, 2x, 4x ...).
func (in *Instrumenter) retry(ctx context.Context, op func(context.Context) error) error {
	d := in.Config.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		err = op(ctx)
		if err == nil || !IsTransient(err) || attempt >= in.Config.MaxAttempts {
			return err
		}
		if serr := in.sleep(ctx, d); serr != nil {
			return err
		}
		d *= 2
		if d > 10*time.Second {
			d = 10 * time.Second
		}
	}
}

// errorCode and errorMessage are what the function item records: the AWS error
// code and message when there is one.
func errorCode(err error) string {
	var le *LimitError
	if errors.As(err, &le) {
		return le.Code
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "InternalError"
}

func errorMessage(err error) string {
	var le *LimitError
	if errors.As(err, &le) {
		return le.Message
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return m
		}
		return ae.ErrorCode()
	}
	return err.Error()
}
