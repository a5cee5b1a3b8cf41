package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sightline/sightline/shared/insights"
)

// Webhook signature headers.
//
// A receiver verifies a delivery by computing
//
//	hex(HMAC-SHA256(signingKey, X-Sightline-Timestamp + "." + raw body))
//
// and comparing it in constant time with the part of X-Sightline-Signature after
// "v1=". It should reject deliveries whose timestamp (Unix seconds) is more than
// 5 minutes from its own clock, which makes a captured request useless for a
// replay; the body's "id" (the alert's key) identifies retried deliveries. See
// [Verify].
const (
	HeaderTimestamp = "X-Sightline-Timestamp"
	HeaderSignature = "X-Sightline-Signature"
	// ReplayTolerance is the recommended maximum age of a delivery.
	ReplayTolerance = 5 * time.Minute
)

// Sign returns the X-Sightline-Signature value of body sent at ts.
func Sign(key []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("bad webhook signature")
	ErrStale        = errors.New("webhook timestamp outside the tolerance")
)

// Verify checks a webhook delivery as a receiver should: the signature over
// timestamp.body, and a timestamp within tolerance of now.
func Verify(key []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	if !hmac.Equal([]byte(Sign(key, ts, body)), []byte(signature)) {
		return ErrBadSignature
	}
	return nil
}

// httpDoer is an HTTP client.
type httpDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// postJSON posts body to the secret URL. Errors never contain the URL (it is the
// secret of a Slack webhook).
func postJSON(ctx context.Context, c httpDoer, rawURL string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: bad url in secret", ErrPermanent)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sightline-Notifier/1")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return httpSendError(ctx, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return httpStatusError(resp.StatusCode, strings.TrimSpace(string(snippet)))
}

type snsPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

type emailSender interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

type secretSource interface {
	Get(ctx context.Context, ref string) (Secret, error)
}

// Senders deliver one alert to one channel, once (Notifier retries).
type Senders struct {
	HTTP    httpDoer
	SNS     snsPublisher
	SES     emailSender
	Secrets secretSource
	Now     func() time.Time
}

// Send delivers a to c once.
func (s *Senders) Send(ctx context.Context, c *Channel, a *insights.Alert, link string) error {
	switch c.Kind {
	case KindSlack:
		sec, err := s.Secrets.Get(ctx, c.SecretRef)
		if err != nil {
			return err
		}
		body, err := json.Marshal(SlackPayload(a, link))
		if err != nil {
			return fmt.Errorf("%w: encode slack message: %v", ErrPermanent, err)
		}
		return postJSON(ctx, s.HTTP, sec.URL, body, nil)
	case KindWebhook:
		sec, err := s.Secrets.Get(ctx, c.SecretRef)
		if err != nil {
			return err
		}
		if sec.SigningKey == "" {
			return fmt.Errorf("%w: webhook secret has no signingKey", ErrPermanent)
		}
		body, err := json.Marshal(WebhookBody{Alert: *a, ID: a.Key(), Link: link})
		if err != nil {
			return fmt.Errorf("%w: encode webhook body: %v", ErrPermanent, err)
		}
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		ts := now().Unix()
		h := http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, Sign([]byte(sec.SigningKey), ts, body))
		return postJSON(ctx, s.HTTP, sec.URL, body, h)
	case KindSNS:
		_, err := s.SNS.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(c.TopicARN),
			Subject:  aws.String(Subject(a)),
			Message:  aws.String(Text(a, link)),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"rule": {DataType: aws.String("String"), StringValue: aws.String(string(a.Rule))},
			},
		})
		return awsError("sns publish", err)
	case KindEmail:
		_, err := s.SES.SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(c.From),
			Destination:      &sestypes.Destination{ToAddresses: c.To},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String(Subject(a)), Charset: aws.String("UTF-8")},
				Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(Text(a, link)), Charset: aws.String("UTF-8")}},
			}},
		})
		return awsError("ses send email", err)
	}
	return fmt.Errorf("%w: unknown channel kind %q", ErrPermanent, c.Kind)
}
