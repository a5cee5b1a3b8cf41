package instrument_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

const (
	otherRegion = "eu-central-1"
	secretName  = "sightline/firehose-access-key"
)

// regional is the stand-in customer account's clients in one region.
type regional struct {
	lambda  *lambda.Client
	logs    *cloudwatchlogs.Client
	fh      *firehose.Client
	secrets *secretsmanager.Client
}

func (c *customer) in(r string) regional {
	cfg := c.cfg.Copy()
	cfg.Region = r
	return regional{lambda: lambda.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		fh: firehose.NewFromConfig(cfg), secrets: secretsmanager.NewFromConfig(cfg)}
}

// secretCalls counts the Secrets Manager calls Sightline makes, per region.
type secretCalls struct {
	mu    sync.Mutex
	calls map[string]int // "<region> <operation>"
}

func (s *secretCalls) add(region, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[region+" "+op]++
}

func (s *secretCalls) get(region, op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[region+" "+op]
}

type countingSecrets struct {
	instrument.SecretsAPI
	region string
	calls  *secretCalls
}

func (c countingSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls.add(c.region, "GetSecretValue")
	return c.SecretsAPI.GetSecretValue(ctx, in, opts...)
}

func (c countingSecrets) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	c.calls.add(c.region, "CreateSecret")
	return c.SecretsAPI.CreateSecret(ctx, in, opts...)
}

func (c countingSecrets) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	c.calls.add(c.region, "PutSecretValue")
	return c.SecretsAPI.PutSecretValue(ctx, in, opts...)
}

// regionInstrumenter is a fresh Instrumenter (a cold start) acting through the
// customer role in any region, counting its Secrets Manager calls.
func regionInstrumenter(h *harness, calls *secretCalls) *instrument.Instrumenter {
	connect := instrument.RoleConnector(&integration.Roles{Base: emulator.Config(emu.moto, region)})
	return &instrument.Instrumenter{
		Store:  h.store,
		Config: h.inst.Config,
		Sleep:  h.inst.Sleep,
		Connect: func(ctx context.Context, in *integration.Integration, r string) (*instrument.AccountAPIs, error) {
			apis, err := connect(ctx, in, r)
			if err != nil {
				return nil, err
			}
			apis.Secrets = countingSecrets{SecretsAPI: apis.Secrets, region: r, calls: calls}
			return apis, nil
		},
	}
}

// putHomeSecret creates or updates the access-key secret in the home region,
// shaped as the customer stack writes it.
func putHomeSecret(t *testing.T, c *customer, value string) {
	t.Helper()
	sm := c.in(region).secrets
	ctx := context.Background()
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretName), SecretString: &value}); err != nil {
		var exists *smtypes.ResourceExistsException
		if !errors.As(err, &exists) {
			t.Fatal(err)
		}
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretName), SecretString: &value}); err != nil {
			t.Fatal(err)
		}
	}
}

func publishSightlineLayers(t *testing.T, r regional) {
	t.Helper()
	for _, name := range []string{"sightline-node-arm64", "sightline-node-x86", "sightline-python-arm64", "sightline-python-x86"} {
		if _, err := r.lambda.PublishLayerVersion(context.Background(), &lambda.PublishLayerVersionInput{LayerName: aws.String(name),
			Content: &lambdatypes.LayerVersionContentInput{ZipFile: zipOf(t, "sdk.js", "sdk")}}); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *harness) createIn(t *testing.T, r regional, name string, runtime lambdatypes.Runtime) {
	t.Helper()
	if _, err := r.lambda.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: runtime, Role: aws.String(h.cust.fnRole), Handler: aws.String("index.handler"),
		Code:          &lambdatypes.FunctionCode{ZipFile: zipOf(t, "index.js", "exports.handler=async()=>1")},
		Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64},
		Environment:   &lambdatypes.Environment{Variables: map[string]string{"DB_URL": "postgres://db/orders"}},
	}); err != nil {
		t.Fatal(err)
	}
}

func setIn(t *testing.T, h *harness, inst *instrument.Instrumenter, r, name string, on bool) (instrument.Result, error) {
	t.Helper()
	if err := h.store.SetDesired(context.Background(), h.integ.ID, r, name, on); err != nil {
		t.Fatal(err)
	}
	return inst.Apply(context.Background(), h.integ, r, name)
}

type copyState struct {
	arn, value, description string
	versions                int
}

func copyIn(t *testing.T, r regional) (copyState, bool) {
	t.Helper()
	ctx := context.Background()
	d, err := r.secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretName)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return copyState{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretName)})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.secrets.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(secretName), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return copyState{arn: aws.ToString(d.ARN), value: aws.ToString(v.SecretString), description: aws.ToString(d.Description), versions: len(vs.Versions)}, true
}

// TestOtherRegionGetsACopyOfTheAccessKey: instrumenting a function outside the
// home region copies the home access-key secret into the region, creates the
// region's stream reading that copy and the function's subscription filter; a
// second function reuses them; a later cold start refreshes a rotated key
// without duplicating versions; un-instrument and Remove clean up, leaving the
// home secret.
func TestOtherRegionGetsACopyOfTheAccessKey(t *testing.T) {
	needEmulators(t)
	ctx := context.Background()
	h := newHarnessIn(t, false, region, otherRegion)
	home, far := h.cust.in(region), h.cust.in(otherRegion)
	const key1, key2 = `{"api_key":"abcdefghijklmnop.first-key-0123456789"}`, `{"api_key":"abcdefghijklmnop.rotated-key-987654"}`
	putHomeSecret(t, h.cust, key1)
	publishSightlineLayers(t, far)
	h.createIn(t, far, "far-node", lambdatypes.RuntimeNodejs20x)
	h.createIn(t, far, "far-go", lambdatypes.RuntimeProvidedal2023)
	h.sync(t)
	before := map[string]*lambda.GetFunctionOutput{}
	for _, n := range []string{"far-node", "far-go"} {
		out, err := far.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(n)})
		if err != nil {
			t.Fatal(err)
		}
		before[n] = out
	}
	calls := &secretCalls{}
	inst := regionInstrumenter(h, calls)
	streamARN := "arn:aws:firehose:" + otherRegion + ":" + h.cust.account + ":deliverystream/sightline-logs"

	res, err := setIn(t, h, inst, otherRegion, "far-node", true)
	if err != nil || res.Status != "instrumented" {
		t.Fatalf("instrument far-node: %+v %v", res, err)
	}
	cp, ok := copyIn(t, far)
	if !ok {
		t.Fatal("no access-key secret in the other region")
	}
	if cp.value != key1 || cp.versions != 1 || !strings.HasPrefix(cp.description, "Sightline: copy of") {
		t.Fatalf("copy %+v, want the home value in one version with Sightline's description", cp)
	}
	if !strings.HasPrefix(cp.arn, "arn:aws:secretsmanager:"+otherRegion+":"+h.cust.account+":secret:"+secretName+"-") {
		t.Fatalf("copy ARN %s", cp.arn)
	}
	d, err := far.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("sightline-logs")})
	if err != nil {
		t.Fatalf("stream in %s: %v", otherRegion, err)
	}
	dests := d.DeliveryStreamDescription.Destinations
	if len(dests) != 1 || dests[0].HttpEndpointDestinationDescription == nil || dests[0].HttpEndpointDestinationDescription.SecretsManagerConfiguration == nil {
		t.Fatalf("stream destinations %+v", dests)
	}
	if got := aws.ToString(dests[0].HttpEndpointDestinationDescription.SecretsManagerConfiguration.SecretARN); got != cp.arn {
		t.Fatalf("stream reads secret %s, want the copy %s", got, cp.arn)
	}
	if f := h.cust.filtersIn(t, far, "/aws/lambda/far-node"); len(f) != 1 || f[0] != "sightline->"+streamARN {
		t.Fatalf("filters %v", f)
	}
	cfg, err := far.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("far-node")})
	if err != nil {
		t.Fatal(err)
	}
	if ls := cfg.Configuration.Layers; len(ls) != 1 || !strings.Contains(aws.ToString(ls[0].Arn), ":"+otherRegion+":") {
		t.Fatalf("layers %+v, want the region's Sightline layer", ls)
	}

	cases := map[string]struct {
		fresh                bool   // a new Instrumenter (cold start)
		rotate               string // new home value first
		fn                   string
		wantGets, wantWrites int // home reads, copy writes (CreateSecret, + PutSecretValue when the key changed)
		wantValue            string
		wantVersions         int
	}{
		"1 second function reuses the region": {fn: "far-go", wantValue: key1, wantVersions: 1},
		"2 cold start, unchanged key":         {fresh: true, fn: "far-go", wantGets: 1, wantWrites: 1, wantValue: key1, wantVersions: 1},
		"3 cold start after a rotation":       {fresh: true, rotate: key2, fn: "far-node", wantGets: 1, wantWrites: 2, wantValue: key2, wantVersions: 2},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) { // in order: the account's state carries over
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			if tc.rotate != "" {
				putHomeSecret(t, h.cust, tc.rotate)
			}
			in, c := inst, calls
			if tc.fresh {
				c = &secretCalls{}
				in = regionInstrumenter(h, c)
			}
			g0, w0 := c.get(region, "GetSecretValue"), c.get(otherRegion, "CreateSecret")+c.get(otherRegion, "PutSecretValue")
			if _, err := setIn(t, h, in, otherRegion, tc.fn, true); err != nil {
				t.Fatal(err)
			}
			if g := c.get(region, "GetSecretValue") - g0; g != tc.wantGets {
				t.Errorf("%d home reads, want %d", g, tc.wantGets)
			}
			if w := c.get(otherRegion, "CreateSecret") + c.get(otherRegion, "PutSecretValue") - w0; w != tc.wantWrites {
				t.Errorf("%d copy writes, want %d", w, tc.wantWrites)
			}
			got, _ := copyIn(t, far)
			if got.value != tc.wantValue || got.versions != tc.wantVersions || got.arn != cp.arn {
				t.Errorf("copy %+v, want value %s in %d versions at %s", got, tc.wantValue, tc.wantVersions, cp.arn)
			}
			if f := h.cust.filtersIn(t, far, "/aws/lambda/"+tc.fn); len(f) != 1 || f[0] != "sightline->"+streamARN {
				t.Errorf("filters %v", f)
			}
		})
	}
	if n := calls.get(otherRegion, "CreateSecret"); n != 1 {
		t.Errorf("%d CreateSecret calls by the first Instrumenter, want 1", n)
	}

	// Un-instrument restores the function and removes its filter.
	if _, err := setIn(t, h, inst, otherRegion, "far-node", false); err != nil {
		t.Fatal(err)
	}
	after, err := far.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("far-node")})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Configuration.Layers) != 0 || len(after.Configuration.Environment.Variables) != 1 ||
		after.Configuration.Environment.Variables["DB_URL"] != before["far-node"].Configuration.Environment.Variables["DB_URL"] {
		t.Fatalf("not restored: layers %v env %v", after.Configuration.Layers, after.Configuration.Environment.Variables)
	}
	if f := h.cust.filtersIn(t, far, "/aws/lambda/far-node"); len(f) != 0 {
		t.Fatalf("filter left: %v", f)
	}

	// Remove un-instruments the rest and deletes the region's stream and copy,
	// not the home secret.
	rr, err := inst.Remove(ctx, h.integ)
	if err != nil || rr.Uninstrumented != 2 || rr.Failed != 0 {
		t.Fatalf("remove: %+v %v", rr, err)
	}
	if f := h.cust.filtersIn(t, far, "/aws/lambda/far-go"); len(f) != 0 {
		t.Fatalf("filter left: %v", f)
	}
	if _, err := far.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("sightline-logs")}); err == nil {
		t.Error("stream left in the other region")
	}
	if got, ok := copyIn(t, far); ok {
		t.Errorf("copy left in the other region: %+v", got)
	}
	if got, ok := copyIn(t, home); !ok || got.value != key2 {
		t.Errorf("home secret %+v (exists %v), want it untouched", got, ok)
	}
}

// TestOtherRegionWithoutHomeSecretChangesNothing: when the home secret cannot
// be read, the AWS error is recorded on the function and nothing is created in
// the region or changed on the function.
func TestOtherRegionWithoutHomeSecretChangesNothing(t *testing.T) {
	needEmulators(t)
	ctx := context.Background()
	h := newHarnessIn(t, false, region, otherRegion)
	far := h.cust.in(otherRegion)
	publishSightlineLayers(t, far)
	h.createIn(t, far, "far-node", lambdatypes.RuntimeNodejs20x)
	h.sync(t)
	inst := regionInstrumenter(h, &secretCalls{})
	if _, err := setIn(t, h, inst, otherRegion, "far-node", true); err == nil {
		t.Fatal("instrumented without a home secret")
	}
	fn, err := h.store.GetFunction(ctx, h.integ.ID, otherRegion, "far-node")
	if err != nil {
		t.Fatal(err)
	}
	if fn.State.Status != "error" || fn.State.ErrorCode != "ResourceNotFoundException" || fn.State.Error == "" {
		t.Fatalf("recorded state %+v", fn.State)
	}
	if _, ok := copyIn(t, far); ok {
		t.Error("a copy was created")
	}
	if _, err := far.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("sightline-logs")}); err == nil {
		t.Error("a stream was created")
	}
	cfg, err := far.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("far-node")})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Configuration.Layers) != 0 || len(h.cust.filtersIn(t, far, "/aws/lambda/far-node")) != 0 {
		t.Fatalf("function changed: layers %v", cfg.Configuration.Layers)
	}
}

func (c *customer) filtersIn(t *testing.T, r regional, logGroup string) []string {
	t.Helper()
	out, err := r.logs.DescribeSubscriptionFilters(context.Background(), &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String(logGroup)})
	if err != nil {
		return nil
	}
	var names []string
	for _, f := range out.SubscriptionFilters {
		names = append(names, aws.ToString(f.FilterName)+"->"+aws.ToString(f.DestinationArn))
	}
	return names
}
