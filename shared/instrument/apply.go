package instrument

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sightline/sightline/shared/integration"
)

// Result is what Apply did.
type Result struct {
	// Status is the function's instrumentation status afterwards
	// (instrumented, logs-only, uninstrumented, error).
	Status string
	// Updated: Sightline changed the function's configuration or subscription filter.
	Updated bool
	Warning string
}

// Apply makes one function match its desired state and records the outcome (or
// the AWS error) on its inventory item. Limit errors change nothing and are
// returned as *LimitError; transient errors are retried with backoff first.
func (in *Instrumenter) Apply(ctx context.Context, integ *integration.Integration, region, name string) (Result, error) {
	in.init()
	if integ.Status != integration.StatusActive {
		return Result{}, fmt.Errorf("apply %s/%s: %w", region, name, errNoIntegration)
	}
	fn, err := in.Store.GetFunction(ctx, integ.ID, region, name)
	if err != nil {
		return Result{}, err
	}
	apis, err := in.Connect(ctx, integ, region)
	if err != nil {
		return Result{}, fmt.Errorf("connect to %s: %w", region, err)
	}
	res, err := in.apply(ctx, integ, fn, apis)
	st := fn.State
	st.UpdatedAt = in.now()
	if err != nil {
		st.Status = statusError
		st.ErrorCode, st.Error = errorCode(err), errorMessage(err)
		slog.WarnContext(ctx, "instrumentation failed", "function", fn, "code", st.ErrorCode, "err", err)
	} else {
		st = res.state
		st.UpdatedAt = in.now()
	}
	if perr := in.Store.PutState(ctx, integ.ID, region, name, st); perr != nil {
		return res.Result, errors.Join(err, perr)
	}
	return res.Result, err
}

type applied struct {
	Result
	state integration.InstrumentState
}

func (in *Instrumenter) apply(ctx context.Context, integ *integration.Integration, fn *integration.Function, apis *AccountAPIs) (applied, error) {
	cfg, err := in.readLive(ctx, apis, fn.Region, fn.Name)
	if err != nil {
		return applied{}, err
	}
	fc := integration.ConfigFromLambda(integ, fn.Region, cfg, in.now())
	if err := in.Store.PutFunctionConfig(ctx, &fc); err != nil {
		return applied{}, err
	}
	fn.FunctionConfig = fc
	l := liveOf(cfg)
	owns := func(arn string) bool { return in.Config.Layers.Owns(fn.Region, arn) }
	if fn.Instrument {
		return in.instrument(ctx, integ, fn, l, apis, owns, aws.ToString(cfg.RevisionId))
	}
	return in.uninstrument(ctx, fn, l, apis, owns, aws.ToString(cfg.RevisionId))
}

func (in *Instrumenter) readLive(ctx context.Context, apis *AccountAPIs, region, name string) (*lambdatypes.FunctionConfiguration, error) {
	var out *lambda.GetFunctionOutput
	err := in.retry(ctx, func(ctx context.Context) error {
		var err error
		out, err = apis.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get function %s/%s: %w", region, name, err)
	}
	if out.Configuration == nil {
		return nil, fmt.Errorf("get function %s/%s: no configuration", region, name)
	}
	return out.Configuration, nil
}

func liveOf(c *lambdatypes.FunctionConfiguration) live {
	l := live{Runtime: string(c.Runtime), Arch: architectureX86, PackageType: string(c.PackageType), CodeSize: c.CodeSize}
	if len(c.Architectures) > 0 {
		l.Arch = string(c.Architectures[0])
	}
	if c.Environment != nil && c.Environment.Variables != nil {
		l.Env = c.Environment.Variables
	}
	for _, layer := range c.Layers {
		l.Layers = append(l.Layers, integration.Layer{ARN: aws.ToString(layer.Arn), CodeSize: layer.CodeSize})
	}
	return l
}

func (in *Instrumenter) instrument(ctx context.Context, integ *integration.Integration, fn *integration.Function, l live, apis *AccountAPIs, owns func(string) bool, revision string) (applied, error) {
	fam := family(l.Runtime, l.PackageType)
	var p plan
	st := integration.InstrumentState{Status: statusLogsOnly, Saved: fn.State.Saved, Repairs: fn.State.Repairs}
	if w, ok := in.wanted(integ, fam, l.Arch, fn.Region); ok && fam != "" {
		var err error
		if p, err = planInstrument(l, w, fn.State.Saved, owns); err != nil {
			return applied{}, err
		}
		st.Status, st.Saved, st.Layer, st.Warning = statusInstrumented, p.Saved, w.Layer, p.Warning
	}
	// Check the subscription filter slot before changing anything.
	filterOK, err := in.filterPresent(ctx, apis, fn.LogGroup)
	if err != nil {
		return applied{}, err
	}
	stream, err := in.ensureRegion(ctx, integ, fn.Region, apis)
	if err != nil {
		return applied{}, err
	}
	updated := false
	if !filterOK {
		if err := in.putFilter(ctx, apis, fn.Account, fn.LogGroup, stream); err != nil {
			return applied{}, err
		}
		updated = true
	}
	st.FilterLogGroup = fn.LogGroup
	if p.Changed {
		if err := in.update(ctx, apis, fn.Name, p, revision); err != nil {
			return applied{}, err
		}
		updated = true
	}
	return applied{Result: Result{Status: st.Status, Updated: updated, Warning: st.Warning}, state: st}, nil
}

func (in *Instrumenter) uninstrument(ctx context.Context, fn *integration.Function, l live, apis *AccountAPIs, owns func(string) bool, revision string) (applied, error) {
	st := integration.InstrumentState{Status: statusRemoved, Repairs: fn.State.Repairs}
	if fn.State.Status == "" {
		// Never instrumented: nothing to undo.
		st.Status = ""
		return applied{Result: Result{Status: ""}, state: st}, nil
	}
	updated := false
	p := planUninstrument(l, fn.State.Saved, owns)
	if p.Changed {
		if err := in.update(ctx, apis, fn.Name, p, revision); err != nil {
			return applied{}, err
		}
		updated = true
	}
	for _, lg := range uniq(fn.State.FilterLogGroup, fn.LogGroup) {
		removed, err := in.deleteFilter(ctx, apis, lg)
		if err != nil {
			return applied{}, err
		}
		updated = updated || removed
	}
	return applied{Result: Result{Status: st.Status, Updated: updated}, state: st}, nil
}

func uniq(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// update writes layers and environment, nothing else. RevisionId guards against
// overwriting a concurrent deploy (a stale revision is retried after re-reading
// by the caller's next event).
func (in *Instrumenter) update(ctx context.Context, apis *AccountAPIs, name string, p plan, revision string) error {
	input := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name),
		Layers:       p.Layers,
		Environment:  &lambdatypes.Environment{Variables: p.Env},
	}
	if revision != "" {
		input.RevisionId = aws.String(revision)
	}
	err := in.retry(ctx, func(ctx context.Context) error {
		_, err := apis.Lambda.UpdateFunctionConfiguration(ctx, input)
		return err
	})
	if err != nil {
		return fmt.Errorf("update function configuration of %s: %w", name, err)
	}
	return nil
}

// filterPresent reports whether Sightline's filter is on the log group; it fails
// with a SubscriptionFilterLimit error naming the existing filters when there is
// no free slot for it.
func (in *Instrumenter) filterPresent(ctx context.Context, apis *AccountAPIs, logGroup string) (bool, error) {
	var filters []logstypes.SubscriptionFilter
	err := in.retry(ctx, func(ctx context.Context) error {
		out, err := apis.Logs.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: &logGroup})
		if err != nil {
			return err
		}
		filters = out.SubscriptionFilters
		return nil
	})
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false, nil // no log group yet: putFilter creates it
	}
	if err != nil {
		return false, fmt.Errorf("describe subscription filters of %s: %w", logGroup, err)
	}
	var others []string
	for _, f := range filters {
		if aws.ToString(f.FilterName) == in.Config.FilterName {
			return true, nil
		}
		others = append(others, fmt.Sprintf("%q -> %s", aws.ToString(f.FilterName), aws.ToString(f.DestinationArn)))
	}
	if len(others) >= in.Config.MaxFilters {
		return false, &LimitError{Code: "SubscriptionFilterLimit", Message: fmt.Sprintf(
			"log group %s already has %d subscription filters (%s), the most CloudWatch Logs allows; remove one so Sightline can collect logs",
			logGroup, len(others), strings.Join(others, ", "))}
	}
	return false, nil
}

func (in *Instrumenter) putFilter(ctx context.Context, apis *AccountAPIs, account, logGroup, stream string) error {
	_, err := apis.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &logGroup})
	var exists *logstypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create log group %s: %w", logGroup, err)
	}
	err = in.retry(ctx, func(ctx context.Context) error {
		_, err := apis.Logs.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{
			LogGroupName:   &logGroup,
			FilterName:     aws.String(in.Config.FilterName),
			FilterPattern:  aws.String(""),
			DestinationArn: &stream,
			RoleArn:        aws.String(roleARN(account, in.Config.LogsRoleName)),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("put subscription filter on %s: %w", logGroup, err)
	}
	return nil
}

func (in *Instrumenter) deleteFilter(ctx context.Context, apis *AccountAPIs, logGroup string) (bool, error) {
	err := in.retry(ctx, func(ctx context.Context) error {
		_, err := apis.Logs.DeleteSubscriptionFilter(ctx, &cloudwatchlogs.DeleteSubscriptionFilterInput{
			LogGroupName: &logGroup, FilterName: aws.String(in.Config.FilterName)})
		return err
	})
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete subscription filter on %s: %w", logGroup, err)
	}
	return true, nil
}

func roleARN(account, name string) string { return "arn:aws:iam::" + account + ":role/" + name }

func backupBucket(account, region string) string {
	return "sightline-logs-backup-" + account + "-" + region
}

// lambdaChangePattern selects Lambda's CloudTrail events drift repair needs.
const lambdaChangePattern = `{"source":["aws.lambda"],"detail-type":["AWS API Call via CloudTrail"],` +
	`"detail":{"eventSource":["lambda.amazonaws.com"],"eventName":["CreateFunction20150331","UpdateFunctionConfiguration20150331v2","UpdateFunctionCode20150331v2"]}}`

// ensureRegion creates the region's access-key copy (outside the home region),
// Firehose stream and EventBridge forwarding rule on first use and returns the
// stream's ARN. The copy is refreshed on every first use of the region by an
// Instrumenter, even when the stream exists, so a key rotated in the home secret
// reaches the other regions.
func (in *Instrumenter) ensureRegion(ctx context.Context, integ *integration.Integration, region string, apis *AccountAPIs) (string, error) {
	k := integ.ID + "|" + region
	if v, ok := in.ready.Load(k); ok {
		return v.(string), nil
	}
	account := integ.Account()
	stream := ""
	if region == integ.HomeRegion && integ.FirehoseARN != "" {
		stream = integ.FirehoseARN
	} else {
		// The home region's stack-created secret; elsewhere Sightline's copy of it.
		secret := "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + in.Config.AccessKeySecretName
		if copiesSecret(integ, region) {
			var err error
			if secret, err = in.copyAccessKey(ctx, integ, region, apis); err != nil {
				return "", err
			}
		}
		var err error
		if stream, err = in.ensureStream(ctx, integ, account, region, secret, apis); err != nil {
			return "", err
		}
	}
	if in.Config.EventBusARN != "" {
		if _, err := apis.Events.PutRule(ctx, &eventbridge.PutRuleInput{
			Name:         aws.String(in.Config.RuleName),
			Description:  aws.String("Sightline: forward Lambda configuration changes (drift repair)"),
			EventPattern: aws.String(lambdaChangePattern),
			State:        ebtypes.RuleStateEnabled,
		}); err != nil {
			return "", fmt.Errorf("put forwarding rule in %s: %w", region, err)
		}
		out, err := apis.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(in.Config.RuleName),
			Targets: []ebtypes.Target{{Id: aws.String("sightline"), Arn: aws.String(in.Config.EventBusARN),
				RoleArn: aws.String(roleARN(account, in.Config.EventsRoleName))}},
		})
		if err != nil {
			return "", fmt.Errorf("put forwarding target in %s: %w", region, err)
		}
		if out.FailedEntryCount > 0 {
			return "", fmt.Errorf("put forwarding target in %s: %s", region, aws.ToString(out.FailedEntries[0].ErrorMessage))
		}
	}
	in.ready.Store(k, stream)
	return stream, nil
}

// ensureStream returns the region's stream, creating it (with its backup bucket)
// with the access key of secretARN when it does not exist.
func (in *Instrumenter) ensureStream(ctx context.Context, integ *integration.Integration, account, region, secretARN string, apis *AccountAPIs) (string, error) {
	name := in.Config.StreamName
	desc, err := apis.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: &name})
	var nf *fhtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return aws.ToString(desc.DeliveryStreamDescription.DeliveryStreamARN), nil
	case !errors.As(err, &nf):
		return "", fmt.Errorf("describe firehose %s in %s: %w", name, region, err)
	}
	bucket := backupBucket(account, region)
	bin := &s3.CreateBucketInput{Bucket: &bucket}
	if region != "us-east-1" {
		bin.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := apis.S3.CreateBucket(ctx, bin); err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return "", fmt.Errorf("create backup bucket in %s: %w", region, err)
		}
	}
	firehoseRole := roleARN(account, in.Config.FirehoseRoleName)
	out, err := apis.Firehose.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: &name,
		DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		HttpEndpointDestinationConfiguration: &fhtypes.HttpEndpointDestinationConfiguration{
			EndpointConfiguration: &fhtypes.HttpEndpointConfiguration{Url: aws.String(in.Config.ReceiverURL), Name: aws.String("Sightline")},
			RequestConfiguration: &fhtypes.HttpEndpointRequestConfiguration{
				ContentEncoding: fhtypes.ContentEncodingGzip,
				CommonAttributes: []fhtypes.HttpEndpointCommonAttribute{
					{AttributeName: aws.String("region"), AttributeValue: aws.String(region)},
					{AttributeName: aws.String("integration"), AttributeValue: aws.String(integ.ID)},
				},
			},
			SecretsManagerConfiguration: &fhtypes.SecretsManagerConfiguration{
				Enabled:   aws.Bool(true),
				SecretARN: aws.String(secretARN),
				RoleARN:   aws.String(firehoseRole),
			},
			RoleARN:      aws.String(firehoseRole),
			S3BackupMode: fhtypes.HttpEndpointS3BackupModeFailedDataOnly,
			S3Configuration: &fhtypes.S3DestinationConfiguration{
				BucketARN: aws.String("arn:aws:s3:::" + bucket),
				RoleARN:   aws.String(firehoseRole),
			},
		},
	})
	if err != nil {
		return "", fmt.Errorf("create firehose %s in %s: %w", name, region, err)
	}
	arn := aws.ToString(out.DeliveryStreamARN)
	// A new stream is CREATING for a while; a subscription filter needs it ACTIVE.
	for i := 0; i < 60; i++ {
		d, err := apis.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: &name})
		if err != nil {
			return "", fmt.Errorf("describe firehose %s in %s: %w", name, region, err)
		}
		if d.DeliveryStreamDescription.DeliveryStreamStatus == fhtypes.DeliveryStreamStatusActive {
			return arn, nil
		}
		if err := in.sleep(ctx, in.Config.Backoff); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("firehose %s in %s not active", name, region)
}

// marshalPattern is used by tests to check the rule's pattern is valid JSON.
func marshalPattern() (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal([]byte(lambdaChangePattern), &m)
	return m, err
}
