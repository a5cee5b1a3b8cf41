package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Errors carry a kind: transient ones (ErrThrottled, ErrConflict, and anything
// IsTransient accepts) are worth retrying — ingest reports the records behind them
// for redelivery — the others are permanent.
var (
	// ErrThrottled: DynamoDB refused for capacity or had an internal error
	// (ProvisionedThroughputExceeded, RequestLimitExceeded, ThrottlingException,
	// InternalServerError), also after the SDK's own retries, or left keys
	// unprocessed in every BatchGetItem attempt. Transient.
	ErrThrottled = errors.New("throttled")
	// ErrConflict: other writers kept changing the item for Options.MaxAttempts
	// read-modify-write attempts. Transient.
	ErrConflict = errors.New("too many concurrent updates")
	// ErrInvalid: the request cannot succeed as given (bad key fields, a nil
	// aggregate, a DynamoDB ValidationException ...). Permanent.
	ErrInvalid = errors.New("invalid")
	// ErrCorrupt: a stored item cannot be decoded. Permanent.
	ErrCorrupt = errors.New("corrupt item")
)

// throttleCodes are the DynamoDB error codes that mean "try again later".
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"ThrottlingException":                    true,
	"InternalServerError":                    true,
}

// IsTransient reports whether err is worth retrying: ErrThrottled, ErrConflict, a
// server-side fault, a request that could not be sent, or a cancelled or expired
// context. Everything else — ErrInvalid, ErrCorrupt, validation errors, a missing
// table or missing permissions — is permanent.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrThrottled) || errors.Is(err, ErrConflict) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrCorrupt) {
		return false
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return throttleCodes[api.ErrorCode()] || api.ErrorFault() == smithy.FaultServer
	}
	return false
}

// classify wraps a DynamoDB error of the operation op on key with the kind callers
// branch on.
func classify(op, key string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch {
		case throttleCodes[api.ErrorCode()]:
			return fmt.Errorf("%s %s: %w: %w", op, key, ErrThrottled, err)
		case api.ErrorCode() == "ValidationException":
			return fmt.Errorf("%s %s: %w: %w", op, key, ErrInvalid, err)
		}
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}
