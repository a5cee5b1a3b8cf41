// Package instrument makes a customer's functions match their desired state
// ("Instrument" on/off, stored on the inventory item by package integration):
// log collection through a CloudWatch Logs subscription filter to the region's
// Sightline Firehose, and for Node.js and Python the Sightline layer, the
// AWS_LAMBDA_EXEC_WRAPPER wrapper and Sightline's variables — merged with the
// customer's configuration, limits checked first, restored exactly on
// un-instrument. It also repairs drift reported by CloudTrail events.
//
// Functions are instrumented in every enabled region. Sightline creates, through
// the customer role, on the first use of a region (the customer stack creates the
// IAM roles it uses and, in its home region, the access-key secret; see Config):
//   - outside the home region, the Secrets Manager secret Config.AccessKeySecretName:
//     a copy of the home region's secret (read with GetSecretValue there, held only
//     in memory, never logged or stored by Sightline), which the region's stream
//     presents to the receiver; Sightline keeps only the key's hash, so the home
//     secret is the only source of the key,
//   - the S3 bucket sightline-logs-backup-<account>-<region> (Firehose's failed-record backup),
//   - the Firehose stream Config.StreamName (HTTP endpoint: Sightline's receiver;
//     common attributes region and integration; access key from the region's
//     secret), unless the stack reported its own Firehose in its home region,
//   - the EventBridge rule Config.RuleName on the default bus, forwarding Lambda's
//     "AWS API Call via CloudTrail" events to Sightline's bus (Config.EventBusARN).
//
// Removing an integration deletes these again (the copies of the secret, never the
// home one, which the stack owns).
package instrument

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sightline/sightline/shared/integration"
)

// Layers maps "<family>/<architecture>" (nodejs/x86_64, nodejs/arm64, python/x86_64,
// python/arm64) to the Sightline layer version ARN, with "{region}" standing for
// the function's region (the layer is published in every supported region).
type Layers map[string]string

var layerARNRe = regexp.MustCompile(`^arn:aws:lambda:(\{region\}|[a-z0-9-]+):[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$`)

// ParseLayers decodes and validates the layer map (JSON, e.g. from SSM).
func ParseLayers(b []byte) (Layers, error) {
	var ls Layers
	if err := json.Unmarshal(b, &ls); err != nil {
		return nil, fmt.Errorf("parse layer ARNs: %w", err)
	}
	for k, v := range ls {
		fam, arch, ok := strings.Cut(k, "/")
		if !ok || (fam != familyNode && fam != familyPython) || (arch != architectureX86 && arch != architectureArm64) {
			return nil, fmt.Errorf("layer key %q: want nodejs|python / x86_64|arm64", k)
		}
		if !layerARNRe.MatchString(v) {
			return nil, fmt.Errorf("layer %q: %q is not a layer version ARN", k, v)
		}
	}
	return ls, nil
}

// For returns the layer for a runtime family and architecture in region.
func (ls Layers) For(fam, arch, region string) (string, bool) {
	v, ok := ls[fam+"/"+arch]
	if !ok {
		return "", false
	}
	return strings.ReplaceAll(v, "{region}", region), true
}

// Owns reports whether arn is any version of a Sightline layer in region.
func (ls Layers) Owns(region, arn string) bool {
	base := unversioned(arn)
	for _, v := range ls {
		if unversioned(strings.ReplaceAll(v, "{region}", region)) == base {
			return true
		}
	}
	return false
}

func unversioned(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i > 0 && strings.Contains(arn, ":layer:") {
		return arn[:i]
	}
	return arn
}

// Config is the instrumenter's configuration.
type Config struct {
	Layers Layers
	// LayerUnzippedBytes is the Sightline layer's unzipped size (for the 250 MB check).
	LayerUnzippedBytes int64
	// RoleName is the customer role's name; calls made by it with a "sightline-"
	// session are Sightline's own.
	RoleName string
	// Names of what Sightline creates in customer accounts.
	StreamName string // Firehose stream, default "sightline-logs"
	FilterName string // subscription filter, default "sightline"
	RuleName   string // EventBridge rule, default "sightline-lambda-changes"
	// Roles the customer stack creates (IAM is global: one role serves every region).
	LogsRoleName     string // CloudWatch Logs -> Firehose, default "sightline-cwl-to-firehose"
	FirehoseRoleName string // Firehose -> S3 backup and secret, default "sightline-firehose"
	EventsRoleName   string // EventBridge cross-account forwarding, default "sightline-events-forwarder"
	// AccessKeySecretName is the customer-account Secrets Manager secret holding the
	// Firehose access key (created by the customer stack in its home region, copied
	// by Sightline to the others), default "sightline/firehose-access-key".
	AccessKeySecretName string
	// ReceiverURL is Sightline's Firehose HTTP endpoint (firehose-receiver).
	ReceiverURL string
	// EventBusARN is Sightline's bus receiving the forwarded CloudTrail events; empty: no rule.
	EventBusARN string
	// MaxFilters is CloudWatch Logs' subscription filters per log group (2).
	MaxFilters int
	// MaxAttempts and Backoff bound retries of transient AWS errors.
	MaxAttempts int
	Backoff     time.Duration
}

func (c *Config) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.StreamName, "sightline-logs")
	def(&c.FilterName, "sightline")
	def(&c.RuleName, "sightline-lambda-changes")
	def(&c.LogsRoleName, "sightline-cwl-to-firehose")
	def(&c.FirehoseRoleName, "sightline-firehose")
	def(&c.EventsRoleName, "sightline-events-forwarder")
	def(&c.AccessKeySecretName, "sightline/firehose-access-key")
	if c.MaxFilters <= 0 {
		c.MaxFilters = 2
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.LayerUnzippedBytes <= 0 {
		c.LayerUnzippedBytes = 1 << 20
	}
}

// LambdaAPI is the part of the Lambda API instrumentation uses.
type LambdaAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
}

// LogsAPI is the part of the CloudWatch Logs API instrumentation uses.
type LogsAPI interface {
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	DescribeSubscriptionFilters(ctx context.Context, in *cloudwatchlogs.DescribeSubscriptionFiltersInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeSubscriptionFiltersOutput, error)
	PutSubscriptionFilter(ctx context.Context, in *cloudwatchlogs.PutSubscriptionFilterInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutSubscriptionFilterOutput, error)
	DeleteSubscriptionFilter(ctx context.Context, in *cloudwatchlogs.DeleteSubscriptionFilterInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteSubscriptionFilterOutput, error)
}

// FirehoseAPI is the part of the Firehose API region setup uses.
type FirehoseAPI interface {
	DescribeDeliveryStream(ctx context.Context, in *firehose.DescribeDeliveryStreamInput, opts ...func(*firehose.Options)) (*firehose.DescribeDeliveryStreamOutput, error)
	CreateDeliveryStream(ctx context.Context, in *firehose.CreateDeliveryStreamInput, opts ...func(*firehose.Options)) (*firehose.CreateDeliveryStreamOutput, error)
	DeleteDeliveryStream(ctx context.Context, in *firehose.DeleteDeliveryStreamInput, opts ...func(*firehose.Options)) (*firehose.DeleteDeliveryStreamOutput, error)
}

// EventsAPI is the part of the EventBridge API region setup uses.
type EventsAPI interface {
	PutRule(ctx context.Context, in *eventbridge.PutRuleInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	PutTargets(ctx context.Context, in *eventbridge.PutTargetsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
	RemoveTargets(ctx context.Context, in *eventbridge.RemoveTargetsInput, opts ...func(*eventbridge.Options)) (*eventbridge.RemoveTargetsOutput, error)
	DeleteRule(ctx context.Context, in *eventbridge.DeleteRuleInput, opts ...func(*eventbridge.Options)) (*eventbridge.DeleteRuleOutput, error)
}

// BucketAPI creates the Firehose backup bucket.
type BucketAPI interface {
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, opts ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
}

// SecretsAPI is the part of the Secrets Manager API the access-key copy uses:
// GetSecretValue in the home region; CreateSecret, PutSecretValue, DescribeSecret
// and DeleteSecret in the others.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// AccountAPIs are clients acting as the customer role in one region.
type AccountAPIs struct {
	Lambda   LambdaAPI
	Logs     LogsAPI
	Firehose FirehoseAPI
	Events   EventsAPI
	S3       BucketAPI
	Secrets  SecretsAPI
}

// Connector returns clients for an integration's account in region.
type Connector func(ctx context.Context, in *integration.Integration, region string) (*AccountAPIs, error)

// RoleConnector connects through the customer role, session "sightline-instrument".
func RoleConnector(roles *integration.Roles) Connector {
	return func(ctx context.Context, in *integration.Integration, region string) (*AccountAPIs, error) {
		cfg, err := roles.Config(in, "instrument", region)
		if err != nil {
			return nil, err
		}
		return &AccountAPIs{
			Lambda:   lambda.NewFromConfig(cfg),
			Logs:     cloudwatchlogs.NewFromConfig(cfg),
			Firehose: firehose.NewFromConfig(cfg),
			Events:   eventbridge.NewFromConfig(cfg),
			S3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = cfg.BaseEndpoint != nil }),
			Secrets:  secretsmanager.NewFromConfig(cfg),
		}, nil
	}
}

// Instrumenter makes accounts match the desired state of their functions.
type Instrumenter struct {
	Store   *integration.Store
	Connect Connector
	Config  Config
	Now     func() time.Time
	// Sleep waits between retries (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error

	once  sync.Once
	ready sync.Map // integration id + region -> Firehose stream ARN
}

func (in *Instrumenter) init() { in.once.Do(in.Config.defaults) }

func (in *Instrumenter) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

func (in *Instrumenter) sleep(ctx context.Context, d time.Duration) error {
	if in.Sleep != nil {
		return in.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (in *Instrumenter) wanted(integ *integration.Integration, fam, arch, region string) (want, bool) {
	layer, ok := in.Config.Layers.For(fam, arch, region)
	if !ok {
		return want{}, false
	}
	return want{
		Layer:         layer,
		LayerUnzipped: in.Config.LayerUnzippedBytes,
		Env: map[string]string{
			WrapperVar:       wrapperPath(fam),
			OrgIDVar:         integ.OrgID,
			IntegrationIDVar: integ.ID,
		},
	}, true
}

var errNoIntegration = errors.New("instrument: integration not active")
