package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

type fakeLister map[string][]lambdatypes.FunctionConfiguration

func (f fakeLister) ListFunctions(_ context.Context, in *lambda.ListFunctionsInput, _ ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error) {
	return &lambda.ListFunctionsOutput{Functions: f["fns"]}, nil
}

type optInLister struct{}

func (optInLister) ListFunctions(context.Context, *lambda.ListFunctionsInput, ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."}
}

func activeIntegration(t *testing.T, st *Store, tenant, account string) (*Integration, string) {
	t.Helper()
	ctx := context.Background()
	c, err := (&Service{Store: st, Regions: []string{"us-east-1", "ap-east-1"}}).Create(ctx, CreateRequest{Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	in, err := st.Activate(ctx, c.Integration.ID, account, "arn:aws:iam::"+account+":role/SightlineIntegrationRole", "us-east-1", "", "stack", "1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return in, c.AccessKey
}

func TestInventoryAndDirectory(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	in, key := activeIntegration(t, st, "acme", "220000000001")
	fns := fakeLister{"fns": {
		{FunctionName: aws.String("api"), FunctionArn: aws.String("arn:aws:lambda:us-east-1:220000000001:function:api"), Runtime: lambdatypes.RuntimeNodejs20x,
			Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64}, Timeout: aws.Int32(15), MemorySize: aws.Int32(512), CodeSize: 2048,
			Environment: &lambdatypes.EnvironmentResponse{Variables: map[string]string{"SECRET_TOKEN": "s3cr3t", "A": "1"}},
			Layers:      []lambdatypes.Layer{{Arn: aws.String("arn:aws:lambda:us-east-1:220000000001:layer:u:1"), CodeSize: 10}}},
		{FunctionName: aws.String("worker"), FunctionArn: aws.String("arn:aws:lambda:us-east-1:220000000001:function:worker"), Runtime: lambdatypes.RuntimePython312,
			Timeout: aws.Int32(60), MemorySize: aws.Int32(1024), LoggingConfig: &lambdatypes.LoggingConfig{LogGroup: aws.String("/shared/workers")}},
	}}
	inv := &Inventory{Store: st, Lambda: func(_ context.Context, _ *Integration, region string) (FunctionLister, error) {
		if region == "ap-east-1" {
			return optInLister{}, nil
		}
		return fns, nil
	}}
	res, err := inv.Sync(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Functions != 2 || len(res.SkippedRegions) != 1 || res.SkippedRegions[0] != "ap-east-1" {
		t.Fatalf("sync %+v", res)
	}
	got, err := st.GetFunction(ctx, in.ID, "us-east-1", "api")
	if err != nil {
		t.Fatal(err)
	}
	if got.TimeoutSeconds != 15 || got.MemoryMB != 512 || got.Architecture != "arm64" || got.LogGroup != "/aws/lambda/api" ||
		len(got.EnvNames) != 2 || got.EnvNames[0] != "A" || got.EnvNames[1] != "SECRET_TOKEN" || got.Layers[0].CodeSize != 10 {
		t.Fatalf("inventory item %+v", got)
	}

	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	dir := NewDirectory(st, time.Minute, clock)
	for name, tc := range map[string]struct {
		key  string
		want error
	}{
		"valid key":       {key, nil},
		"wrong secret":    {in.ID + ".wrong", ErrUnauthorized},
		"unknown id":      {"nosuchid.secret", ErrUnauthorized},
		"malformed":       {"garbage", ErrUnauthorized},
		"empty":           {"", ErrUnauthorized},
		"key of other id": {"x" + key, ErrUnauthorized},
	} {
		t.Run("authenticate "+name, func(t *testing.T) {
			got, err := dir.Authenticate(ctx, tc.key)
			if !errors.Is(err, tc.want) || err == nil && got.ID != in.ID {
				t.Fatalf("Authenticate: %v %v", got, err)
			}
		})
	}
	for name, tc := range map[string]struct {
		region, logGroup, want string
		ok                     bool
	}{
		"default log group":         {"us-east-1", "/aws/lambda/api", "api", true},
		"custom log group":          {"us-east-1", "/shared/workers", "worker", true},
		"not in inventory, default": {"us-east-1", "/aws/lambda/new-fn", "new-fn", true},
		"unknown custom group":      {"us-east-1", "/other/group", "", false},
		"custom group other region": {"eu-west-1", "/shared/workers", "", false},
	} {
		t.Run("log group "+name, func(t *testing.T) {
			got, ok, err := dir.FunctionByLogGroup(ctx, "220000000001", tc.region, tc.logGroup)
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("FunctionByLogGroup = %q %v %v", got, ok, err)
			}
		})
	}
	if _, _, err := dir.FunctionByLogGroup(ctx, "999999999999", "us-east-1", "/aws/lambda/x"); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("unknown account: %v", err)
	}
	fc, err := dir.FunctionConfig(ctx, "acme", "220000000001", "us-east-1", "worker")
	if err != nil || fc.TimeoutSeconds != 60 || fc.MemoryMB != 1024 || fc.Runtime != "python3.12" || fc.Architecture != "x86_64" {
		t.Fatalf("FunctionConfig %+v %v", fc, err)
	}
	if _, err := dir.FunctionConfig(ctx, "other-tenant", "220000000001", "us-east-1", "worker"); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("another tenant read the config: %v", err)
	}
	if _, err := dir.FunctionConfig(ctx, "acme", "220000000001", "us-east-1", "nope"); !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("unknown function: %v", err)
	}

	// The cache holds for the TTL, then reloads.
	if err := st.MarkRemoved(ctx, in.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Authenticate(ctx, key); err != nil {
		t.Fatalf("within TTL the cached integration answers: %v", err)
	}
	now = now.Add(61 * time.Second)
	if _, err := dir.Authenticate(ctx, key); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("after TTL a removed integration must be unauthorized: %v", err)
	}
	if _, err := dir.ByAccount(ctx, "220000000001"); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("removed integration still owns the account: %v", err)
	}

	// A function gone from the account leaves the inventory on the next sync.
	in2, _ := activeIntegration(t, st, "acme", "220000000002")
	fns["fns"] = fns["fns"][:1]
	if _, err := inv.Sync(ctx, in2); err != nil {
		t.Fatal(err)
	}
	fns["fns"] = nil
	res, err = inv.Sync(ctx, in2)
	if err != nil || res.Removed != 1 {
		t.Fatalf("resync %+v %v", res, err)
	}
}

func TestListAndLogValue(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	svc := &Service{Store: st, Regions: []string{"us-east-1"}}
	var ids []string
	for range 3 {
		c, err := svc.Create(ctx, CreateRequest{Tenant: "lister", InstrumentNewFunctions: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.Integration.ID)
		if got := c.LogValue().String(); contains(got, c.AccessKey) || contains(got, c.Integration.ExternalID) {
			t.Fatalf("LogValue leaks a secret: %s", got)
		}
	}
	list, err := st.List(ctx, "lister")
	if err != nil || len(list) != 3 || !list[0].InstrumentNewFunctions {
		t.Fatalf("list %v %v", list, err)
	}
	for name, req := range map[string]CreateRequest{
		"bad tenant":     {Tenant: "a#b"},
		"gov region":     {Tenant: "t", Regions: []string{"us-gov-west-1"}},
		"unknown region": {Tenant: "t", Regions: []string{"mars-1"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := svc.Create(ctx, req); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func contains(s, sub string) bool {
	return sub != "" && len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
