package instrument

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
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
