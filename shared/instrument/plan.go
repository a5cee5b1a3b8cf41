package instrument

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sightline/sightline/shared/integration"
)

// Lambda limits checked before any update.
const (
	MaxLayers          = 5
	MaxEnvBytes        = 4 * 1024
	MaxUnzippedBytes   = 250 * 1024 * 1024
	WrapperVar         = "AWS_LAMBDA_EXEC_WRAPPER"
	OrgIDVar           = "SIGHTLINE_ORG_ID"
	IntegrationIDVar   = "SIGHTLINE_INTEGRATION_ID"
	nodeWrapperPath    = "/opt/sightline-node/exec-wrapper.sh"
	pythonWrapperPath  = "/opt/sightline-python/exec_wrapper.py"
	familyNode         = "nodejs"
	familyPython       = "python"
	architectureX86    = "x86_64"
	architectureArm64  = "arm64"
	statusInstrumented = "instrumented"
	statusLogsOnly     = "logs-only"
	statusRemoved      = "uninstrumented"
	statusError        = "error"
)

// LimitError is a Lambda or CloudWatch Logs limit that instrumenting would exceed.
// Nothing is changed when it is returned.
type LimitError struct {
	Code    string // TooManyLayers, EnvironmentTooLarge, CodeTooLarge, SubscriptionFilterLimit
	Message string
}

func (e *LimitError) Error() string { return e.Code + ": " + e.Message }

// ErrLimit matches every *LimitError with errors.Is.
var ErrLimit = errors.New("instrument: limit exceeded")

func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// live is the part of a function's configuration instrumentation changes.
type live struct {
	Runtime     string
	Arch        string
	PackageType string
	// Env is nil when the function has no environment.
	Env      map[string]string
	Layers   []integration.Layer
	CodeSize int64
}

// want is what Sightline adds to a Node.js or Python function.
type want struct {
	Layer         string
	LayerUnzipped int64
	Env           map[string]string
}

// plan is the next configuration and what to record.
type plan struct {
	Env     map[string]string
	Layers  []string
	Saved   map[string]integration.SavedValue
	Warning string
	Changed bool
}

func family(runtime, packageType string) string {
	if packageType == "Image" {
		return ""
	}
	switch {
	case strings.HasPrefix(runtime, "nodejs"):
		return familyNode
	case strings.HasPrefix(runtime, "python"):
		return familyPython
	}
	return ""
}

func wrapperPath(fam string) string {
	if fam == familyPython {
		return pythonWrapperPath
	}
	return nodeWrapperPath
}

// EnvSize is the size Lambda measures against the 4 KB limit: the JSON encoding of
// the variables map (Lambda's error message shows the "String measured" as that JSON).
func EnvSize(env map[string]string) int {
	if len(env) == 0 {
		return 0
	}
	b, _ := json.Marshal(env) // map[string]string never fails
	return len(b)
}

// planInstrument merges Sightline's layer and variables into the live configuration:
// the customer's layers keep their order (an older Sightline layer is replaced),
// the customer's variables are all kept, and the customer's own values of the
// variables Sightline sets are saved so un-instrumenting restores them. Limits are
// checked on the result.
func planInstrument(l live, w want, saved map[string]integration.SavedValue, owns func(string) bool) (plan, error) {
	p := plan{Env: maps.Clone(l.Env), Saved: maps.Clone(saved)}
	if p.Env == nil {
		p.Env = map[string]string{}
	}
	if p.Saved == nil {
		p.Saved = map[string]integration.SavedValue{}
	}
	var customerLayers []string
	var customerBytes int64
	for _, layer := range l.Layers {
		if owns(layer.ARN) {
			continue
		}
		customerLayers = append(customerLayers, layer.ARN)
		customerBytes += layer.CodeSize
	}
	p.Layers = append(slices.Clone(customerLayers), w.Layer)
	if len(p.Layers) > MaxLayers {
		return plan{}, &LimitError{Code: "TooManyLayers", Message: fmt.Sprintf(
			"the function has %d layers (%s); Lambda allows %d, so the Sightline layer cannot be added — remove a layer",
			len(customerLayers), strings.Join(customerLayers, ", "), MaxLayers)}
	}
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		v := w.Env[k]
		cur, present := l.Env[k]
		if present && cur == v {
			continue // already ours (or identical): keep what was saved
		}
		p.Saved[k] = integration.SavedValue{Present: present, Value: cur}
		p.Env[k] = v
	}
	if s, ok := p.Saved[WrapperVar]; ok && s.Present && s.Value != w.Env[WrapperVar] {
		p.Warning = fmt.Sprintf("%s was %q (another tool's wrapper); Sightline replaced it and restores it when the function is un-instrumented", WrapperVar, s.Value)
	}
	if n := EnvSize(p.Env); n > MaxEnvBytes {
		return plan{}, &LimitError{Code: "EnvironmentTooLarge", Message: fmt.Sprintf(
			"with Sightline's variables the environment would measure %d bytes; Lambda allows %d — remove some environment variables", n, MaxEnvBytes)}
	}
	// Lambda reports zipped sizes only; the zipped function and layers plus the
	// Sightline layer's unzipped size is a lower bound of the unzipped total.
	if total := l.CodeSize + customerBytes + w.LayerUnzipped; total > MaxUnzippedBytes {
		return plan{}, &LimitError{Code: "CodeTooLarge", Message: fmt.Sprintf(
			"code and layers would be at least %d bytes unzipped; Lambda allows %d", total, MaxUnzippedBytes)}
	}
	p.Changed = !envEqual(l.Env, p.Env) || !slices.Equal(layerARNs(l.Layers), p.Layers)
	return p, nil
}

// planUninstrument removes Sightline's layers and restores the saved values of the
// variables it set (removing those that did not exist). Only variables with a saved
// entry are touched: a variable Sightline found already set to its value was not
// Sightline's change. Anything else the customer changed since stays as they left it.
func planUninstrument(l live, saved map[string]integration.SavedValue, owns func(string) bool) plan {
	p := plan{Env: maps.Clone(l.Env)}
	if p.Env == nil {
		p.Env = map[string]string{}
	}
	for _, layer := range l.Layers {
		if !owns(layer.ARN) {
			p.Layers = append(p.Layers, layer.ARN)
		}
	}
	if p.Layers == nil {
		p.Layers = []string{}
	}
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		if s := saved[k]; s.Present {
			p.Env[k] = s.Value
		} else {
			delete(p.Env, k)
		}
	}
	p.Changed = !envEqual(l.Env, p.Env) || !slices.Equal(layerARNs(l.Layers), p.Layers)
	return p
}

func layerARNs(ls []integration.Layer) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.ARN)
	}
	return out
}

// envEqual treats a missing environment and an empty one as equal.
func envEqual(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}
