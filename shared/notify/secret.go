package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Secret is a channel's secret: the Slack or webhook URL and, for webhooks, the
// signing key. It never prints or logs its contents.
type Secret struct {
	URL        string `json:"url"`
	SigningKey string `json:"signingKey,omitempty"`
}

// LogValue redacts the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String redacts the secret.
func (Secret) String() string { return "[redacted]" }

// GoString redacts the secret.
func (Secret) GoString() string { return "[redacted]" }

// ParseSecret reads a secret value: a JSON object {"url": ..., "signingKey": ...}
// or a bare URL.
func ParseSecret(v string) (Secret, error) {
	v = strings.TrimSpace(v)
	var s Secret
	if strings.HasPrefix(v, "{") {
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return Secret{}, fmt.Errorf("%w: secret is not valid JSON", ErrPermanent)
		}
	} else {
		s.URL = v
	}
	if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
		return Secret{}, fmt.Errorf("%w: secret has no http(s) url", ErrPermanent)
	}
	return s, nil
}

type secretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

type parameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// DefaultSecretTTL is how long a fetched secret is reused.
const DefaultSecretTTL = 5 * time.Minute

// Secrets fetches channel secrets by reference — "secretsmanager:<name or ARN>"
// or "ssm:<SecureString parameter name>" — and caches them briefly, so a rotated
// secret is picked up within TTL.
type Secrets struct {
	SecretsManager secretGetter
	SSM            parameterGetter
	TTL            time.Duration
	Now            func() time.Time

	mu    sync.Mutex
	cache map[string]cachedSecret
}

type cachedSecret struct {
	s       Secret
	fetched time.Time
}

// ErrBadSecretRef marks a reference of an unknown kind.
var ErrBadSecretRef = errors.New("bad secret reference")

// Get returns the secret ref names.
func (s *Secrets) Get(ctx context.Context, ref string) (Secret, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultSecretTTL
	}
	s.mu.Lock()
	if c, ok := s.cache[ref]; ok && now().Sub(c.fetched) < ttl {
		s.mu.Unlock()
		return c.s, nil
	}
	s.mu.Unlock()

	kind, name, _ := strings.Cut(ref, ":")
	var raw string
	switch {
	case kind == "secretsmanager" && name != "" && s.SecretsManager != nil:
		out, err := s.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			return Secret{}, awsError("get secret", err)
		}
		raw = aws.ToString(out.SecretString)
	case kind == "ssm" && name != "" && s.SSM != nil:
		out, err := s.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return Secret{}, awsError("get parameter", err)
		}
		if out.Parameter != nil {
			raw = aws.ToString(out.Parameter.Value)
		}
	default:
		return Secret{}, fmt.Errorf("%w: %w: kind %q", ErrPermanent, ErrBadSecretRef, kind)
	}
	sec, err := ParseSecret(raw)
	if err != nil {
		return Secret{}, err
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedSecret{}
	}
	s.cache[ref] = cachedSecret{s: sec, fetched: now()}
	s.mu.Unlock()
	return sec, nil
}
