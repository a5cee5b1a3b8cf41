package instrument

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sightline/sightline/shared/integration"
)

const (
	sightlineNode = "arn:aws:lambda:us-east-1:999999999999:layer:sightline-node-arm64:7"
	oldSightline  = "arn:aws:lambda:us-east-1:999999999999:layer:sightline-node-arm64:6"
	custLayer     = "arn:aws:lambda:us-east-1:111122223333:layer:utils:3"
)

var testLayers = Layers{"nodejs/arm64": "arn:aws:lambda:{region}:999999999999:layer:sightline-node-arm64:7"}

func owns(arn string) bool { return testLayers.Owns("us-east-1", arn) }

func nodeWant() want {
	return want{Layer: sightlineNode, LayerUnzipped: 1 << 20, Env: map[string]string{
		WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"}}
}

func layers(arns ...string) []integration.Layer {
	var ls []integration.Layer
	for _, a := range arns {
		ls = append(ls, integration.Layer{ARN: a, CodeSize: 1000})
	}
	return ls
}

func TestPlanInstrument(t *testing.T) {
	for name, tc := range map[string]struct {
		live       live
		saved      map[string]integration.SavedValue
		wantLayers []string
		wantEnv    map[string]string
		wantSaved  map[string]integration.SavedValue
		wantWarn   string
		changed    bool
		errCode    string
	}{
		"no environment, no layers": {
			live:       live{},
			wantLayers: []string{sightlineNode},
			wantEnv:    map[string]string{WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {}, OrgIDVar: {}, IntegrationIDVar: {}},
			changed:    true,
		},
		"customer env and layers are kept, in order": {
			live:       live{Env: map[string]string{"DB": "x"}, Layers: layers(custLayer, "arn:aws:lambda:us-east-1:111122223333:layer:b:1")},
			wantLayers: []string{custLayer, "arn:aws:lambda:us-east-1:111122223333:layer:b:1", sightlineNode},
			wantEnv:    map[string]string{"DB": "x", WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {}, OrgIDVar: {}, IntegrationIDVar: {}},
			changed:    true,
		},
		"another wrapper is saved and warned about": {
			live:       live{Env: map[string]string{WrapperVar: "/opt/otel-instrument"}},
			wantLayers: []string{sightlineNode},
			wantEnv:    map[string]string{WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {Present: true, Value: "/opt/otel-instrument"}, OrgIDVar: {}, IntegrationIDVar: {}},
			wantWarn:   "/opt/otel-instrument",
			changed:    true,
		},
		"an older Sightline layer is replaced in place of appending": {
			live:       live{Layers: layers(oldSightline, custLayer), Env: map[string]string{WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"}},
			saved:      map[string]integration.SavedValue{WrapperVar: {}, OrgIDVar: {}, IntegrationIDVar: {}},
			wantLayers: []string{custLayer, sightlineNode},
			wantEnv:    map[string]string{WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {}, OrgIDVar: {}, IntegrationIDVar: {}},
			changed:    true,
		},
		"already instrumented: no change, saved values kept": {
			live:       live{Layers: layers(custLayer, sightlineNode), Env: map[string]string{"A": "1", WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"}},
			saved:      map[string]integration.SavedValue{WrapperVar: {Present: true, Value: "/opt/x"}, OrgIDVar: {}, IntegrationIDVar: {}},
			wantLayers: []string{custLayer, sightlineNode},
			wantEnv:    map[string]string{"A": "1", WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {Present: true, Value: "/opt/x"}, OrgIDVar: {}, IntegrationIDVar: {}},
			wantWarn:   "/opt/x",
		},
		"drift: a deploy dropped everything; the deploy is the new baseline": {
			live:       live{Layers: layers(custLayer), Env: map[string]string{"A": "2"}},
			saved:      map[string]integration.SavedValue{WrapperVar: {Present: true, Value: "/opt/x"}, OrgIDVar: {}, IntegrationIDVar: {}},
			wantLayers: []string{custLayer, sightlineNode},
			wantEnv:    map[string]string{"A": "2", WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {}, OrgIDVar: {}, IntegrationIDVar: {}},
			changed:    true,
		},
		"five customer layers": {
			live:    live{Layers: layers("arn:aws:lambda:us-east-1:1:layer:a:1", "arn:aws:lambda:us-east-1:1:layer:b:1", "arn:aws:lambda:us-east-1:1:layer:c:1", "arn:aws:lambda:us-east-1:1:layer:d:1", "arn:aws:lambda:us-east-1:1:layer:e:1")},
			errCode: "TooManyLayers",
		},
		"five layers including an old Sightline one fit": {
			live:       live{Layers: layers("arn:aws:lambda:us-east-1:1:layer:a:1", "arn:aws:lambda:us-east-1:1:layer:b:1", "arn:aws:lambda:us-east-1:1:layer:c:1", "arn:aws:lambda:us-east-1:1:layer:d:1", oldSightline)},
			wantLayers: []string{"arn:aws:lambda:us-east-1:1:layer:a:1", "arn:aws:lambda:us-east-1:1:layer:b:1", "arn:aws:lambda:us-east-1:1:layer:c:1", "arn:aws:lambda:us-east-1:1:layer:d:1", sightlineNode},
			wantEnv:    map[string]string{WrapperVar: nodeWrapperPath, OrgIDVar: "org-1", IntegrationIDVar: "int1"},
			wantSaved:  map[string]integration.SavedValue{WrapperVar: {}, OrgIDVar: {}, IntegrationIDVar: {}},
			changed:    true,
		},
		"environment over 4 KB": {
			live:    live{Env: map[string]string{"BLOB": strings.Repeat("x", 4000)}},
			errCode: "EnvironmentTooLarge",
		},
		"code over 250 MB": {
			live:    live{CodeSize: 249 << 20, Layers: layers(custLayer)},
			errCode: "CodeTooLarge",
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := planInstrument(tc.live, nodeWant(), tc.saved, owns)
			if tc.errCode != "" {
				var le *LimitError
				if !errors.As(err, &le) || le.Code != tc.errCode || !errors.Is(err, ErrLimit) {
					t.Fatalf("err %v, want %s", err, tc.errCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Layers, tc.wantLayers) {
				t.Errorf("layers %v, want %v", p.Layers, tc.wantLayers)
			}
			if !maps.Equal(p.Env, tc.wantEnv) {
				t.Errorf("env %v, want %v", p.Env, tc.wantEnv)
			}
			if !maps.Equal(p.Saved, tc.wantSaved) {
				t.Errorf("saved %v, want %v", p.Saved, tc.wantSaved)
			}
			if (tc.wantWarn == "") != (p.Warning == "") || !strings.Contains(p.Warning, tc.wantWarn) {
				t.Errorf("warning %q, want one containing %q", p.Warning, tc.wantWarn)
			}
			if p.Changed != tc.changed {
				t.Errorf("changed %v, want %v", p.Changed, tc.changed)
			}
		})
	}
}

// Instrumenting then un-instrumenting with no change in between gives back the original.
func TestPlanRoundTrip(t *testing.T) {
	for name, l := range map[string]live{
		"nil env":             {},
		"customer everything": {Env: map[string]string{"A": "1", WrapperVar: "/opt/other"}, Layers: layers(custLayer)},
		"customer org id var": {Env: map[string]string{OrgIDVar: "theirs"}},
		"already has ours":    {Env: map[string]string{WrapperVar: nodeWrapperPath}},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := planInstrument(l, nodeWant(), nil, owns)
			if err != nil {
				t.Fatal(err)
			}
			after := live{Env: p.Env}
			for _, a := range p.Layers {
				after.Layers = append(after.Layers, integration.Layer{ARN: a})
			}
			u := planUninstrument(after, p.Saved, owns)
			if !envEqual(u.Env, l.Env) || !slices.Equal(u.Layers, append([]string{}, layerARNs(l.Layers)...)) {
				t.Fatalf("round trip: env %v layers %v, want %v %v", u.Env, u.Layers, l.Env, layerARNs(l.Layers))
			}
		})
	}
}

func TestEnvSizeIsLambdasJSONMeasure(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want int
	}{
		"empty":   {nil, 0},
		"one":     {map[string]string{"A": "1"}, len(`{"A":"1"}`)},
		"two":     {map[string]string{"A": "1", "BB": "22"}, len(`{"A":"1","BB":"22"}`)},
		"escaped": {map[string]string{"Q": `"`}, len(`{"Q":"\""}`)},
	} {
		t.Run(name, func(t *testing.T) {
			if got := EnvSize(tc.env); got != tc.want {
				t.Fatalf("EnvSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLayers(t *testing.T) {
	for name, tc := range map[string]struct {
		json string
		ok   bool
	}{
		"valid":        {`{"nodejs/arm64":"arn:aws:lambda:{region}:999999999999:layer:sightline-node-arm64:7"}`, true},
		"bad family":   {`{"java/arm64":"arn:aws:lambda:{region}:999999999999:layer:x:7"}`, false},
		"no version":   {`{"nodejs/arm64":"arn:aws:lambda:{region}:999999999999:layer:x"}`, false},
		"not json":     {`nodejs`, false},
		"bad arch key": {`{"nodejs/arm":"arn:aws:lambda:{region}:999999999999:layer:x:1"}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseLayers([]byte(tc.json))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if got, _ := testLayers.For("nodejs", "arm64", "eu-west-1"); got != "arn:aws:lambda:eu-west-1:999999999999:layer:sightline-node-arm64:7" {
		t.Fatalf("For = %s", got)
	}
	if !owns(oldSightline) || owns(custLayer) {
		t.Fatal("Owns")
	}
	if _, err := marshalPattern(); err != nil {
		t.Fatalf("forwarding rule pattern: %v", err)
	}
}

func TestFamily(t *testing.T) {
	for rt, want := range map[string]string{"nodejs20.x": familyNode, "nodejs22.x": familyNode, "python3.12": familyPython,
		"provided.al2023": "", "java21": "", "go1.x": "", "dotnet8": "", "ruby3.3": ""} {
		if got := family(rt, "Zip"); got != want {
			t.Errorf("family(%s) = %q, want %q", rt, got, want)
		}
	}
	if family("nodejs20.x", "Image") != "" {
		t.Error("container images cannot take layers")
	}
}
