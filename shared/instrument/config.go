package instrument

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/sightline/sightline/shared/integration"
)

// ParameterGetter is the part of the SSM API LoadLayers uses.
type ParameterGetter interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// LoadLayers reads the layer map (JSON, see Layers) from an SSM parameter.
func LoadLayers(ctx context.Context, api ParameterGetter, name string) (Layers, error) {
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: &name})
	if err != nil {
		return nil, fmt.Errorf("get layer ARNs parameter %s: %w", name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return nil, fmt.Errorf("layer ARNs parameter %s is empty", name)
	}
	return ParseLayers([]byte(*out.Parameter.Value))
}

// Settings are what a Lambda that instruments functions reads from its
// environment: CUSTOMER_ROLE_NAME, LAYER_ARNS (the SSM parameter holding the layer
// map), RECEIVER_URL (the Firehose HTTP endpoint of streams Sightline creates) and
// EVENT_BUS_ARN (the target of the forwarding rules it creates).
type Settings struct {
	RoleName       string
	LayerParameter string
	ReceiverURL    string
	EventBusARN    string
}

// ParseSettings reads Settings from the environment; every missing or malformed
// value is reported. EVENT_BUS_ARN may be absent unless requireBus.
func ParseSettings(getenv func(string) string, requireBus bool) (Settings, error) {
	s := Settings{RoleName: getenv("CUSTOMER_ROLE_NAME"), LayerParameter: getenv("LAYER_ARNS"),
		ReceiverURL: getenv("RECEIVER_URL"), EventBusARN: getenv("EVENT_BUS_ARN")}
	var errs []error
	for _, v := range []struct{ name, value string }{
		{"CUSTOMER_ROLE_NAME", s.RoleName}, {"LAYER_ARNS", s.LayerParameter}, {"RECEIVER_URL", s.ReceiverURL},
	} {
		if v.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", v.name))
		}
	}
	if u, err := url.Parse(s.ReceiverURL); s.ReceiverURL != "" && (err != nil || u.Scheme != "https") {
		errs = append(errs, errors.New("RECEIVER_URL must be an https URL"))
	}
	switch {
	case s.EventBusARN == "" && requireBus:
		errs = append(errs, errors.New("EVENT_BUS_ARN is required"))
	case s.EventBusARN != "" && !strings.HasPrefix(s.EventBusARN, "arn:aws:events:"):
		errs = append(errs, errors.New("EVENT_BUS_ARN must be an event bus ARN"))
	}
	return s, errors.Join(errs...)
}

// New builds the Instrumenter a Lambda uses: the integrations and inventory in
// store, customer accounts reached through the customer role from base, and the
// layer map read once from SSM.
func New(ctx context.Context, base aws.Config, store *integration.Store, s Settings) (*Instrumenter, error) {
	layers, err := LoadLayers(ctx, ssm.NewFromConfig(base), s.LayerParameter)
	if err != nil {
		return nil, err
	}
	return &Instrumenter{
		Store:   store,
		Connect: RoleConnector(&integration.Roles{Base: base}),
		Config:  Config{Layers: layers, RoleName: s.RoleName, ReceiverURL: s.ReceiverURL, EventBusARN: s.EventBusARN},
	}, nil
}
