package ingest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/logs"
)

// ErrUnauthorized is what an Authenticator returns for an unknown or wrong access key.
var ErrUnauthorized = errors.New("unauthorized")

// Authenticator identifies the integration that owns a Firehose access key.
type Authenticator interface {
	// Authenticate returns the integration's tenancy; an error wrapping
	// ErrUnauthorized for a wrong key, any other error is transient.
	Authenticate(ctx context.Context, accessKey string) (Integration, error)
}

// DefaultMaxBody bounds a Firehose request body (Firehose sends at most 64 MiB
// with its largest buffering hint; Lambda function URLs accept 6 MB).
const DefaultMaxBody = 6 << 20

// FirehoseReceiver is the Firehose HTTP endpoint delivery receiver behind a Lambda
// function URL. It answers as the Firehose HTTP endpoint specification asks: 200 and
// {"requestId","timestamp"} once everything is stored; 400 for a malformed body; 401
// for a wrong access key; 413 for an oversized body; 503 for a transient failure so
// that Firehose retries the request (replays are deduplicated by the store).
type FirehoseReceiver struct {
	Pipeline *Pipeline
	Auth     Authenticator
	MaxBody  int64 // 0: DefaultMaxBody
	Now      func() time.Time
	Logger   *slog.Logger
}

// Handle processes one function URL request.
func (h *FirehoseReceiver) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	header := func(name string) string {
		for k, v := range req.Headers {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	requestID := header("X-Amz-Firehose-Request-Id")
	reply := func(status int, msg string) events.LambdaFunctionURLResponse {
		if msg != "" {
			log.WarnContext(ctx, "firehose request refused", "status", status, "requestId", requestID, "reason", msg)
		}
		return events.LambdaFunctionURLResponse{
			StatusCode: status,
			Headers:    map[string]string{"Content-Type": "application/json"},
			Body:       string(logs.FirehoseResponse(requestID, now().UnixMilli(), msg)),
		}
	}
	if req.RequestContext.HTTP.Method != "" && req.RequestContext.HTTP.Method != http.MethodPost {
		return reply(http.StatusMethodNotAllowed, "method not allowed"), nil
	}
	maxBody := h.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if int64(len(req.Body)) > maxBody*4/3+4 {
		return reply(http.StatusRequestEntityTooLarge, "request body too large"), nil
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return reply(http.StatusBadRequest, "request body is not valid base64"), nil
		}
	}
	if int64(len(body)) > maxBody {
		return reply(http.StatusRequestEntityTooLarge, "request body too large"), nil
	}

	key := header("X-Amz-Firehose-Access-Key")
	if key == "" {
		return reply(http.StatusUnauthorized, "missing access key"), nil
	}
	integ, err := h.Auth.Authenticate(ctx, key)
	switch {
	case errors.Is(err, ErrUnauthorized):
		return reply(http.StatusUnauthorized, "invalid access key"), nil
	case err != nil:
		log.ErrorContext(ctx, "authenticate firehose request", "err", err)
		return reply(http.StatusServiceUnavailable, "temporarily unavailable"), nil
	}

	attrs, err := logs.FirehoseCommonAttributes(header("X-Amz-Firehose-Common-Attributes"))
	if err != nil {
		return reply(http.StatusBadRequest, "malformed common attributes"), nil
	}
	region := attrs["region"]
	if region == "" {
		return reply(http.StatusBadRequest, "missing common attribute region"), nil
	}

	fr, err := logs.ParseFirehoseRequest(body, header("Content-Encoding"), maxBody)
	switch {
	case errors.Is(err, logs.ErrTooLarge):
		return reply(http.StatusRequestEntityTooLarge, "request body too large"), nil
	case err != nil:
		return reply(http.StatusBadRequest, fmt.Sprintf("malformed request body: %v", err)), nil
	}
	if fr.RequestID != "" {
		requestID = fr.RequestID
	}

	b := h.Pipeline.Process(ctx, Source{Region: region, Tenancy: integ}, fr.Records)
	if _, ok := b.FirstTransient(); ok {
		return reply(http.StatusServiceUnavailable, "temporarily unavailable, retry"), nil
	}
	return reply(http.StatusOK, ""), nil
}

// isBadBytes reports whether err is about the record's bytes themselves.
func isBadBytes(err error) bool {
	return errors.Is(err, logs.ErrMalformed) || errors.Is(err, logs.ErrTooLarge)
}
