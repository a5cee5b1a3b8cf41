package stack

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sightline/sightline/shared/cost"
)

// fakeContext is a ContextReader over a map, as cdk.json or -c would fill it.
type fakeContext map[string]any

func (f fakeContext) TryGetContext(key *string) interface{} { return f[*key] }

func TestConfigFromContext(t *testing.T) {
	tests := map[string]struct {
		ctx     fakeContext
		check   func(Config) bool
		wantErr bool
	}{
		"defaults": {ctx: fakeContext{}, check: func(c Config) bool { return reflect.DeepEqual(c, DefaultConfig()) }},
		"cdk.json types": {
			ctx: fakeContext{CtxVendorAccount: "111122223333", CtxLogRetentionDays: float64(14),
				CtxLayerArns: map[string]any{"nodejs/arm64": "arn:aws:lambda:{region}:111122223333:layer:x:3"}},
			check: func(c Config) bool {
				return c.VendorAccount == "111122223333" && c.LogRetentionDays == 14 &&
					c.LayersJSON() == `{"nodejs/arm64":"arn:aws:lambda:{region}:111122223333:layer:x:3"}`
			},
		},
		"-c strings": {
			ctx: fakeContext{CtxKinesisShards: "2", CtxCustomerAccounts: "444455556666, 777788889999"},
			check: func(c Config) bool {
				return c.KinesisShards == 2 && reflect.DeepEqual(c.CustomerAccounts, []string{"444455556666", "777788889999"})
			},
		},
		"-c JSON list":          {ctx: fakeContext{CtxCustomerAccounts: `["444455556666"]`}, check: func(c Config) bool { return len(c.CustomerAccounts) == 1 }},
		"empty string is unset": {ctx: fakeContext{CtxReceiverURL: ""}, check: func(c Config) bool { return c.ReceiverURL == PlaceholderReceiverURL }},
		"bad account":           {ctx: fakeContext{CtxVendorAccount: "12345"}, wantErr: true},
		"bad region":            {ctx: fakeContext{CtxVendorRegion: "mars"}, wantErr: true},
		"bad retention":         {ctx: fakeContext{CtxLogRetentionDays: float64(10)}, wantErr: true},
		"fractional number":     {ctx: fakeContext{CtxKinesisShards: 1.5}, wantErr: true},
		"http receiver":         {ctx: fakeContext{CtxReceiverURL: "http://x.example"}, wantErr: true},
		"-c layer object": {ctx: fakeContext{CtxLayerArns: `{"python/x86_64": "arn:aws:lambda:eu-west-1:111122223333:layer:p:9"}`},
			check: func(c Config) bool {
				return c.Layers["python/x86_64"] == "arn:aws:lambda:eu-west-1:111122223333:layer:p:9"
			}},
		"empty list is none":    {ctx: fakeContext{CtxLayerArns: []any{}}, check: func(c Config) bool { return c.LayersJSON() == "{}" }},
		"layer list":            {ctx: fakeContext{CtxLayerArns: []any{"arn:aws:lambda:us-east-1:111122223333:layer:x:3"}}, wantErr: true},
		"bad layer ARN":         {ctx: fakeContext{CtxLayerArns: `{"nodejs/arm64": "arn:aws:lambda:us-east-1:1:layer:x"}`}, wantErr: true},
		"bad layer key":         {ctx: fakeContext{CtxLayerArns: `{"java/arm64": "arn:aws:lambda:us-east-1:111122223333:layer:x:3"}`}, wantErr: true},
		"non-commercial region": {ctx: fakeContext{CtxVendorRegion: "us-gov-west-1"}, wantErr: true},
		"vendor as customer":    {ctx: fakeContext{CtxCustomerAccounts: "123456789012"}, wantErr: true},
		"wrong type":            {ctx: fakeContext{CtxVendorAccount: float64(1)}, wantErr: true},
		"bad JSON list":         {ctx: fakeContext{CtxCustomerAccounts: "[oops"}, wantErr: true},
		"bad layer JSON":        {ctx: fakeContext{CtxLayerArns: "{oops"}, wantErr: true},
		"memory too small":      {ctx: fakeContext{CtxMemoryMB: "64"}, wantErr: true},
		"default prices parse": {ctx: fakeContext{}, check: func(c Config) bool {
			p, err := cost.Parse(c.LambdaPrices)
			return err == nil && p == cost.DefaultPrices
		}},
		"prices": {ctx: fakeContext{CtxLambdaPrices: "x86_64=0.0000166667,arm64=0.0000133334,request=0.00000025"}, check: func(c Config) bool {
			p, _ := cost.Parse(c.LambdaPrices)
			return p.Request == 0.00000025
		}},
		"prices per million by mistake": {ctx: fakeContext{CtxLambdaPrices: "request=2"}, wantErr: true},
		"unknown price":                 {ctx: fakeContext{CtxLambdaPrices: "gpu=0.1"}, wantErr: true},
		"prices not key=value":          {ctx: fakeContext{CtxLambdaPrices: "cheap"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := ConfigFromContext(tc.ctx)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestStackConstructorsValidate(t *testing.T) {
	if _, err := NewVendorStack(nil, "X", &VendorProps{Config: DefaultConfig()}); !errors.Is(err, ErrNoLambdaCode) {
		t.Errorf("vendor without LambdaCode: err = %v", err)
	}
	bad := DefaultConfig()
	bad.VendorAccount = "x"
	if _, err := NewCustomerStack(nil, "X", &CustomerProps{Config: bad}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("customer with bad config: err = %v", err)
	}
}

func TestPascal(t *testing.T) {
	for in, want := range map[string]string{"kinesis-consumer": "KinesisConsumer", "notifier": "Notifier", "a--b": "AB"} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
}
