package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

// Context keys read by ConfigFromContext. Their defaults live in cdk.json and are
// documented in docs/deploy.md.
const (
	CtxVendorAccount    = "vendorAccount"
	CtxVendorRegion     = "vendorRegion"
	CtxLogRetentionDays = "logRetentionDays"
	CtxKinesisShards    = "kinesisShards"
	CtxLayerArns        = "layerArns"
	CtxReceiverURL      = "receiverUrl"
	CtxDashboardURL     = "dashboardUrl"
	CtxAlarmEmail       = "alarmEmail"
	CtxCustomerAccounts = "customerAccounts"
	CtxCustomerVersion  = "customerStackVersion"
	CtxMemoryMB         = "lambdaMemoryMb"
	CtxLambdaPrices     = "lambdaPrices"
)

// PlaceholderReceiverURL is baked into the customer template when the receiverUrl
// context is not set (before the vendor stack has been deployed once).
const PlaceholderReceiverURL = "https://receiver.invalid/"

// Config is the deploy-time configuration of both stacks.
type Config struct {
	VendorAccount    string // 12-digit account that runs the vendor stack
	VendorRegion     string // region of the vendor stack; customers launch their stack here too
	LogRetentionDays int    // retention of every log group
	KinesisShards    int    // provisioned shards of the log stream
	// Layers maps "<nodejs|python>/<x86_64|arm64>" to the instrumentation layer
	// version ARN ("{region}" stands for the function's region). Stored as JSON in
	// the SSM parameter LayerArnsParameter, read by instrument.LoadLayers.
	Layers           map[string]string
	ReceiverURL      string // the firehose-receiver function URL (known after the first vendor deploy)
	DashboardURL     string
	AlarmEmail       string   // optional: subscribed to the operations alarm topic
	CustomerAccounts []string // optional static list admitted by the bus and destination policies
	CustomerVersion  string   // version reported by the customer stack
	MemoryMB         int      // memory of every Lambda function
	// LambdaPrices are the customers' Lambda prices the cost estimates use
	// (cost.Parse syntax "x86_64=<USD per GB-s>,arm64=<USD per GB-s>,request=<USD>"):
	// LAMBDA_PRICES of the three ingest functions.
	LambdaPrices string
}

// DefaultLambdaPrices renders cost.DefaultPrices (us-east-1) in cost.Parse syntax.
func DefaultLambdaPrices() string {
	p := cost.DefaultPrices
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return "x86_64=" + f(p.X86GBSecond) + ",arm64=" + f(p.ARMGBSecond) + ",request=" + f(p.Request)
}

// DefaultConfig is the configuration used when no context is given.
func DefaultConfig() Config {
	return Config{
		VendorAccount:    "123456789012",
		VendorRegion:     "us-east-1",
		LogRetentionDays: 30,
		KinesisShards:    1,
		ReceiverURL:      PlaceholderReceiverURL,
		DashboardURL:     "https://sightline.example.com",
		CustomerVersion:  "1",
		MemoryMB:         256,
		LambdaPrices:     DefaultLambdaPrices(),
	}
}

// ErrInvalidConfig is wrapped by every validation failure.
var ErrInvalidConfig = errors.New("invalid configuration")

var (
	accountRe = regexp.MustCompile(`^\d{12}$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	versionRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
)

// retentions maps the day counts CloudWatch Logs accepts to the CDK enum.
var retentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, a...))
	}
	if !accountRe.MatchString(c.VendorAccount) {
		return bad(CtxVendorAccount, "%q is not a 12-digit account id", c.VendorAccount)
	}
	if !regionRe.MatchString(c.VendorRegion) {
		return bad(CtxVendorRegion, "%q is not a region", c.VendorRegion)
	}
	if _, ok := retentions[c.LogRetentionDays]; !ok {
		return bad(CtxLogRetentionDays, "%d is not a CloudWatch Logs retention", c.LogRetentionDays)
	}
	if c.KinesisShards < 1 || c.KinesisShards > 64 {
		return bad(CtxKinesisShards, "%d not in 1..64", c.KinesisShards)
	}
	if !integration.ValidRegion(c.VendorRegion) {
		// STACK_REGION of the integration API: its quick-create links use this region.
		return bad(CtxVendorRegion, "%q is not a region the integration API accepts", c.VendorRegion)
	}
	// The exact parser the reinstrumenter and the integration API run at cold start.
	if _, err := instrument.ParseLayers([]byte(c.LayersJSON())); err != nil {
		return bad(CtxLayerArns, "%v", err)
	}
	if !strings.HasPrefix(c.ReceiverURL, "https://") {
		return bad(CtxReceiverURL, "%q must be an https URL (Firehose only delivers over TLS)", c.ReceiverURL)
	}
	if !strings.HasPrefix(c.DashboardURL, "https://") {
		return bad(CtxDashboardURL, "%q must be an https URL", c.DashboardURL)
	}
	if c.AlarmEmail != "" && !strings.Contains(c.AlarmEmail, "@") {
		return bad(CtxAlarmEmail, "%q is not an e-mail address", c.AlarmEmail)
	}
	for _, a := range c.CustomerAccounts {
		if !accountRe.MatchString(a) {
			return bad(CtxCustomerAccounts, "%q is not a 12-digit account id", a)
		}
		if a == c.VendorAccount {
			return bad(CtxCustomerAccounts, "the vendor account cannot be a customer")
		}
	}
	if !versionRe.MatchString(c.CustomerVersion) {
		return bad(CtxCustomerVersion, "%q is not a version label", c.CustomerVersion)
	}
	if c.MemoryMB < 128 || c.MemoryMB > 10240 {
		return bad(CtxMemoryMB, "%d not in 128..10240", c.MemoryMB)
	}
	// The exact parser the ingest functions run at cold start (LAMBDA_PRICES).
	if strings.TrimSpace(c.LambdaPrices) == "" {
		return bad(CtxLambdaPrices, "empty (the default is %q)", DefaultLambdaPrices())
	}
	if _, err := cost.Parse(c.LambdaPrices); err != nil {
		return bad(CtxLambdaPrices, "%v", err)
	}
	return nil
}

// LayersJSON is the value of the layer parameter: the Layers map as a JSON object
// (keys sorted), "{}" when no layer is configured.
func (c Config) LayersJSON() string {
	if len(c.Layers) == 0 {
		return "{}"
	}
	b, err := json.Marshal(c.Layers)
	if err != nil { // a map[string]string always marshals
		return "{}"
	}
	return string(b)
}

// ContextReader is the part of a construct node ConfigFromContext uses
// (constructs.Node satisfies it).
type ContextReader interface {
	TryGetContext(key *string) interface{}
}

// ConfigFromContext reads the configuration from CDK context over DefaultConfig and
// validates it. Values may come from cdk.json (typed JSON) or from `-c key=value`
// (always strings; lists as JSON arrays or comma-separated).
func ConfigFromContext(node ContextReader) (Config, error) {
	c := DefaultConfig()
	get := func(key string) (any, bool) {
		k := key
		v := node.TryGetContext(&k)
		if v == nil {
			return nil, false
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, false
		}
		return v, true
	}
	var err error
	str := func(key string, dst *string) {
		if v, ok := get(key); ok && err == nil {
			s, isStr := v.(string)
			if !isStr {
				err = fmt.Errorf("%w: %s: want a string, got %T", ErrInvalidConfig, key, v)
				return
			}
			*dst = s
		}
	}
	num := func(key string, dst *int) {
		if v, ok := get(key); ok && err == nil {
			var n int
			n, err = toInt(v)
			if err != nil {
				err = fmt.Errorf("%w: %s: %w", ErrInvalidConfig, key, err)
				return
			}
			*dst = n
		}
	}
	list := func(key string, dst *[]string) {
		if v, ok := get(key); ok && err == nil {
			var l []string
			l, err = toList(v)
			if err != nil {
				err = fmt.Errorf("%w: %s: %w", ErrInvalidConfig, key, err)
				return
			}
			*dst = l
		}
	}
	str(CtxVendorAccount, &c.VendorAccount)
	str(CtxVendorRegion, &c.VendorRegion)
	num(CtxLogRetentionDays, &c.LogRetentionDays)
	num(CtxKinesisShards, &c.KinesisShards)
	if v, ok := get(CtxLayerArns); ok && err == nil {
		c.Layers, err = toLayers(v)
		if err != nil {
			err = fmt.Errorf("%w: %s: %w", ErrInvalidConfig, CtxLayerArns, err)
		}
	}
	str(CtxReceiverURL, &c.ReceiverURL)
	str(CtxDashboardURL, &c.DashboardURL)
	str(CtxAlarmEmail, &c.AlarmEmail)
	list(CtxCustomerAccounts, &c.CustomerAccounts)
	str(CtxCustomerVersion, &c.CustomerVersion)
	num(CtxMemoryMB, &c.MemoryMB)
	str(CtxLambdaPrices, &c.LambdaPrices)
	if err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case float64:
		if n != float64(int(n)) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int(n), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", n)
		}
		return i, nil
	default:
		return 0, fmt.Errorf("want a number, got %T", v)
	}
}

// toLayers reads the layerArns context: a JSON object {"nodejs/arm64": "arn:...", ...}
// from cdk.json or as a -c string; an empty list (the old default) means none.
func toLayers(v any) (map[string]string, error) {
	switch l := v.(type) {
	case map[string]any:
		out := make(map[string]string, len(l))
		for k, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("layer %q is %T, want a string", k, e)
			}
			out[k] = s
		}
		return out, nil
	case []any:
		if len(l) == 0 {
			return nil, nil
		}
	case string:
		var out map[string]string
		if err := json.Unmarshal([]byte(strings.TrimSpace(l)), &out); err != nil {
			return nil, fmt.Errorf(`want a JSON object {"nodejs/arm64": "arn:aws:lambda:{region}:...:layer:name:1", ...}: %w`, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf(`want an object mapping "<nodejs|python>/<x86_64|arm64>" to a layer version ARN, got %T`, v)
}

func toList(v any) ([]string, error) {
	switch l := v.(type) {
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list element %v is %T, want string", e, e)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		s := strings.TrimSpace(l)
		if strings.HasPrefix(s, "[") {
			var out []string
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("bad JSON list: %w", err)
			}
			return out, nil
		}
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("want a list, got %T", v)
	}
}
