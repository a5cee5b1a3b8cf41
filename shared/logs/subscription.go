package logs

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// SubscriptionRecord returns the record of a direct CloudWatch Logs subscription
// event ({"awslogs":{"data":"<base64 of gzip>"}}). The event carries no id, so ID
// is derived from the data ("sha256:" and 32 hex digits of its digest): stable
// across Lambda's retries of the same event, which lets ingest recognise a
// redelivery. Bad base64 wraps ErrMalformed.
func SubscriptionRecord(ev events.CloudwatchLogsEvent) (Record, error) {
	raw := ev.AWSLogs.Data
	if raw == "" {
		return Record{}, fmt.Errorf("logs: subscription event without awslogs.data: %w", ErrMalformed)
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Record{}, fmt.Errorf("logs: subscription event data: %v: %w", err, ErrMalformed)
	}
	sum := sha256.Sum256(data)
	return Record{ID: "sha256:" + hex.EncodeToString(sum[:16]), Data: data}, nil
}
