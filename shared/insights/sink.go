package insights

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// messageSender is the part of the SQS API QueueSink uses.
type messageSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// QueueSink sends each new alert to the SQS alert queue as a [QueueMessage].
type QueueSink struct {
	API messageSender
	URL string
}

// Send puts one alert on the queue.
func (q *QueueSink) Send(ctx context.Context, a Alert) error {
	body, err := json.Marshal(QueueMessage{Tenant: a.Tenant, Alert: a})
	if err != nil {
		return fmt.Errorf("encode alert %s: %w", a.Key(), err)
	}
	if _, err := q.API.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.URL),
		MessageBody: aws.String(string(body)),
	}); err != nil {
		return fmt.Errorf("send alert %s to queue: %w", a.Rule, err)
	}
	return nil
}

// Collector is the local runner's sink: it keeps every alert in order.
type Collector struct {
	mu     sync.Mutex
	alerts []Alert
}

// Send appends a.
func (c *Collector) Send(_ context.Context, a Alert) error {
	c.mu.Lock()
	c.alerts = append(c.alerts, a)
	c.mu.Unlock()
	return nil
}

// Alerts returns the alerts collected so far.
func (c *Collector) Alerts() []Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Alert(nil), c.alerts...)
}

// Drain returns the alerts collected so far and forgets them.
func (c *Collector) Drain() []Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.alerts
	c.alerts = nil
	return out
}
