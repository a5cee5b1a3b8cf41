package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	cat := &fakeCatalog{in: map[string]*integration.Integration{
		"i1":      {ID: "i1", Tenant: "acme", Status: integration.StatusActive, Accounts: []string{"111122223333"}},
		"pending": {ID: "pending", Tenant: "acme", Status: integration.StatusPending},
	}, desired: map[string]bool{}}
	cfg := config{templateURL: "https://t.example/integration.yaml", stackRegion: "us-east-1"}
	var revoked []string
	h := &handler{
		reissue: func(_ context.Context, id string) (*integration.Created, error) {
			if id != "pending" {
				return nil, integration.ErrInvalid
			}
			return &integration.Created{Integration: &integration.Integration{ID: id, Tenant: "acme", ExternalID: "ext"}, AccessKey: id + ".fresh"}, nil
		},
		revoke: func(_ context.Context, a string) error { revoked = append(revoked, a); return nil },
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
		"reissue link":          {"POST", "/integrations/pending/link", "acme", "", http.StatusOK, `param_FirehoseAccessKey=pending.fresh`},
		"reissue active":        {"POST", "/integrations/i1/link", "acme", "", http.StatusBadRequest, "invalid"},
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
	if len(revoked) != 1 || revoked[0] != "111122223333" {
		t.Fatalf("removal revoked %v, want the integration's account", revoked)
	}
}

// TestLinkHasOnlyTemplateParameters: the link carries exactly the parameters the
// customer template declares without a default (infra/stack checks the names
// against the synthesized template).
func TestLinkHasOnlyTemplateParameters(t *testing.T) {
	link, err := config{templateURL: "https://t.example/x.json", stackRegion: "eu-west-1"}.linker(nil)(context.Background(),
		&integration.Created{Integration: &integration.Integration{ID: "abcdefgh12345678", ExternalID: "e"}, AccessKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var params []string
	for _, kv := range strings.Split(link, "&") {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "param_") {
			params = append(params, strings.TrimPrefix(k, "param_"))
		}
	}
	want := []string{integration.ParamExternalID, integration.ParamAccessKey, integration.ParamIntegrationID}
	if strings.Join(params, ",") != "ExternalId,FirehoseAccessKey,IntegrationId" || len(params) != len(want) {
		t.Fatalf("link parameters %v, want %v", params, want)
	}
}

type presignRecorder struct{ ttl time.Duration }

func (p *presignRecorder) PresignGetObject(_ context.Context, in *s3.GetObjectInput, opts ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error) {
	var o s3.PresignOptions
	for _, f := range opts {
		f(&o)
	}
	p.ttl = o.Expires
	return &v4.PresignedHTTPRequest{URL: "https://" + *in.Bucket + ".s3.amazonaws.com/" + *in.Key + "?X-Amz-Expires=3600"}, nil
}

func TestS3TemplateIsPresignedForTheDocumentedTTL(t *testing.T) {
	p := &presignRecorder{}
	link, err := config{templateURL: "s3://templates/customer/1/SightlineCustomer.template.json", stackRegion: "us-east-1"}.linker(p)(context.Background(),
		&integration.Created{Integration: &integration.Integration{ID: "abcdefgh12345678", ExternalID: "e"}, AccessKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ttl != integration.TemplateURLTTL || p.ttl > time.Hour {
		t.Errorf("presigned for %v, want %v", p.ttl, integration.TemplateURLTTL)
	}
	if !strings.Contains(link, "templateURL=https%3A%2F%2Ftemplates.s3.amazonaws.com%2Fcustomer%2F1%2FSightlineCustomer.template.json") {
		t.Errorf("link %s", link)
	}
}

func TestInvokeDispatchesTheResyncSchedule(t *testing.T) {
	runs := 0
	h := &handler{resync: func(context.Context) (integration.ResyncResult, error) {
		runs++
		return integration.ResyncResult{Active: 2, Synced: 2}, nil
	}, store: &fakeCatalog{in: map[string]*integration.Integration{}}}
	for name, tc := range map[string]struct {
		payload  string
		runs     int
		contains string
	}{
		"schedule":        {`{"sightline":"resync-inventory"}`, 1, `"synced":2`},
		"unknown input":   {`{"sightline":"reboot"}`, 0, `null`},
		"function URL":    {`{"rawPath":"/integrations","requestContext":{"http":{"method":"GET"}}}`, 0, `tenant is required`},
		"not an object":   {`[1]`, 0, `not a function URL request`},
		"scheduled event": {`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, 0, `not found`},
	} {
		t.Run(name, func(t *testing.T) {
			runs = 0
			out, err := lambda.NewHandler(h.invoke).Invoke(context.Background(), []byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			if runs != tc.runs || !strings.Contains(string(out), tc.contains) {
				t.Fatalf("runs %d, output %s; want %d containing %s", runs, out, tc.runs, tc.contains)
			}
		})
	}
	h.resync = func(context.Context) (integration.ResyncResult, error) {
		return integration.ResyncResult{}, errors.New("table unavailable")
	}
	if _, err := lambda.NewHandler(h.invoke).Invoke(context.Background(), []byte(`{"sightline":"resync-inventory"}`)); err == nil {
		t.Fatal("a failed resync must fail the invocation")
	}
}

func TestParseConfig(t *testing.T) {
	full := map[string]string{"TABLE_NAME": "t", "TEMPLATE_URL": "s3://templates/integration.yaml", "CUSTOMER_ROLE_NAME": "r",
		"LAYER_ARNS": "/p", "RECEIVER_URL": "https://r", "EVENT_BUS_ARN": "arn:aws:events:us-east-1:999999999999:event-bus/sightline-lambda-events",
		"LOG_DESTINATION_ARN": "arn:aws:logs:us-east-1:999999999999:destination:sightline-logs"}
	for name, tc := range map[string]struct {
		change map[string]string
		ok     bool
	}{
		"complete":        {nil, true},
		"https template":  {map[string]string{"TEMPLATE_URL": "https://b.s3.us-east-1.amazonaws.com/t.yaml?versionId=1"}, true},
		"http template":   {map[string]string{"TEMPLATE_URL": "http://x/t.yaml"}, false},
		"http receiver":   {map[string]string{"RECEIVER_URL": "http://r"}, false},
		"gov region":      {map[string]string{"STACK_REGION": "us-gov-west-1"}, false},
		"bad regions":     {map[string]string{"REGIONS": "us-east-1,nowhere"}, false},
		"no bus":          {map[string]string{"EVENT_BUS_ARN": ""}, false},
		"no destination":  {map[string]string{"LOG_DESTINATION_ARN": ""}, false},
		"bad destination": {map[string]string{"LOG_DESTINATION_ARN": "sightline-logs"}, false},
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
