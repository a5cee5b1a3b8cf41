package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

type fakeCatalog struct {
	in      map[string]*integration.Integration
	desired map[string]bool
}

func (f *fakeCatalog) Get(_ context.Context, id string) (*integration.Integration, error) {
	if in, ok := f.in[id]; ok {
		return in, nil
	}
	return nil, integration.ErrNotFound
}
func (f *fakeCatalog) List(_ context.Context, tenant string) ([]*integration.Integration, error) {
	var out []*integration.Integration
	for _, in := range f.in {
		if in.Tenant == tenant {
			out = append(out, in)
		}
	}
	return out, nil
}
func (f *fakeCatalog) Functions(context.Context, string) ([]*integration.Function, error) {
	return []*integration.Function{{FunctionConfig: integration.FunctionConfig{Name: "api"}}}, nil
}
func (f *fakeCatalog) SetDesired(_ context.Context, id, region, name string, on bool) error {
	if name == "missing" {
		return integration.ErrUnknownFunction
	}
	f.desired[region+"/"+name] = on
	return nil
}

func TestHandle(t *testing.T) {
	cat := &fakeCatalog{in: map[string]*integration.Integration{"i1": {ID: "i1", Tenant: "acme", Status: integration.StatusActive}}, desired: map[string]bool{}}
	cfg := config{templateURL: "https://t.example/integration.yaml", stackRegion: "us-east-1", reportTopicARN: "arn:aws:sns:us-east-1:999999999999:reports"}
	h := &handler{
		create: func(_ context.Context, r integration.CreateRequest) (*integration.Created, error) {
			if r.Tenant == "" {
				return nil, integration.ErrInvalid
			}
			return &integration.Created{Integration: &integration.Integration{ID: "new1", Tenant: r.Tenant, ExternalID: "ext"}, AccessKey: "new1.secret"}, nil
		},
		link:  cfg.linker(nil),
		store: cat,
		sync: func(context.Context, *integration.Integration) (integration.SyncResult, error) {
			return integration.SyncResult{Functions: 3}, nil
		},
		apply: func(_ context.Context, _ *integration.Integration, _, name string) (instrument.Result, error) {
			if name == "full" {
				return instrument.Result{}, &instrument.LimitError{Code: "SubscriptionFilterLimit", Message: "log group has 2 filters"}
			}
			return instrument.Result{Status: "instrumented", Updated: true}, nil
		},
		remove: func(context.Context, *integration.Integration) (instrument.RemoveResult, error) {
			return instrument.RemoveResult{Uninstrumented: 1}, nil
		},
	}
	for name, tc := range map[string]struct {
		method, path, tenant, body string
		status                     int
		contains                   string
	}{
		"create":                {"POST", "/integrations", "", `{"tenant":"acme"}`, http.StatusCreated, `param_FirehoseAccessKey=new1.secret`},
		"create bad body":       {"POST", "/integrations", "", `{`, http.StatusBadRequest, "JSON"},
		"create invalid":        {"POST", "/integrations", "", `{}`, http.StatusBadRequest, "invalid"},
		"list":                  {"GET", "/integrations", "acme", "", http.StatusOK, `"id":"i1"`},
		"list needs tenant":     {"GET", "/integrations", "", "", http.StatusBadRequest, "tenant"},
		"other tenant's":        {"POST", "/integrations/i1/sync", "evil", "", http.StatusNotFound, "not found"},
		"sync":                  {"POST", "/integrations/i1/sync", "acme", "", http.StatusOK, `"functions":3`},
		"functions":             {"GET", "/integrations/i1/functions", "acme", "", http.StatusOK, `"name":"api"`},
		"instrument":            {"PUT", "/integrations/i1/functions/us-east-1/api", "acme", `{"instrument":true}`, http.StatusOK, `"Updated":true`},
		"instrument bad body":   {"PUT", "/integrations/i1/functions/us-east-1/api", "acme", `{}`, http.StatusBadRequest, "instrument"},
		"instrument limit":      {"PUT", "/integrations/i1/functions/us-east-1/full", "acme", `{"instrument":true}`, http.StatusConflict, "SubscriptionFilterLimit"},
		"instrument unknown fn": {"PUT", "/integrations/i1/functions/us-east-1/missing", "acme", `{"instrument":true}`, http.StatusNotFound, "not found"},
		"remove":                {"DELETE", "/integrations/i1", "acme", "", http.StatusOK, `"uninstrumented":1`},
		"unknown route":         {"GET", "/nope", "", "", http.StatusNotFound, "not found"},
		"unknown sub-route":     {"PATCH", "/integrations/i1", "acme", "", http.StatusNotFound, "not found"},
	} {
		t.Run(name, func(t *testing.T) {
			req := events.LambdaFunctionURLRequest{RawPath: tc.path, Body: tc.body, QueryStringParameters: map[string]string{}}
			req.RequestContext.HTTP.Method = tc.method
			if tc.tenant != "" {
				req.QueryStringParameters["tenant"] = tc.tenant
			}
			resp, err := h.handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.contains) {
				t.Fatalf("%d %s, want %d containing %s", resp.StatusCode, resp.Body, tc.status, tc.contains)
			}
			if !json.Valid([]byte(resp.Body)) {
				t.Fatalf("body is not JSON: %s", resp.Body)
			}
		})
	}
	if !cat.desired["us-east-1/api"] {
		t.Fatal("desired state not stored")
	}
	_ = errors.New
}

func TestParseConfig(t *testing.T) {
	full := map[string]string{"TABLE_NAME": "t", "TEMPLATE_URL": "s3://templates/integration.yaml", "CUSTOMER_ROLE_NAME": "r",
		"LAYER_ARNS": "/p", "RECEIVER_URL": "https://r", "REPORT_TOPIC_ARN": "arn:aws:sns:us-east-1:999999999999:reports"}
	for name, tc := range map[string]struct {
		change map[string]string
		ok     bool
	}{
		"complete":       {nil, true},
		"https template": {map[string]string{"TEMPLATE_URL": "https://b.s3.us-east-1.amazonaws.com/t.yaml?versionId=1"}, true},
		"http template":  {map[string]string{"TEMPLATE_URL": "http://x/t.yaml"}, false},
		"gov region":     {map[string]string{"STACK_REGION": "us-gov-west-1"}, false},
		"bad regions":    {map[string]string{"REGIONS": "us-east-1,nowhere"}, false},
		"no topic":       {map[string]string{"REPORT_TOPIC_ARN": ""}, false},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			if _, err := parseConfig(func(k string) string { return env[k] }); (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
		})
	}
}
