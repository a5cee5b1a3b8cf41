package instrument_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
	"github.com/sightline/sightline/shared/store"
)

const (
	region       = "us-east-1"
	roleName     = "SightlineIntegrationRole"
	fixtureAcct  = "111122223333"
	receiverURL  = "https://receiver.sightline.example/firehose"
	eventBusARN  = "arn:aws:events:us-east-1:999999999999:event-bus/sightline"
	otherWrapper = "/opt/other-apm/wrapper"
)

var emu struct {
	once  sync.Once
	stop  []func() error
	ddb   *dynamodb.Client
	moto  string
	table string
	err   error
	next  atomic.Int64
}

// TestMain stops the emulators the tests started. They start on first use, so
// fuzz workers and unit-test-only runs never start them.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, stop := range emu.stop {
		stop()
	}
	os.Exit(code)
}

func startEmulators() {
	ctx := context.Background()
	db, err := emulator.StartDynamoDB(ctx)
	if err != nil {
		emu.err = err
		return
	}
	emu.stop = append(emu.stop, db.Stop)
	moto, err := emulator.StartMoto(ctx)
	if err != nil {
		emu.err = err
		return
	}
	emu.stop = append(emu.stop, moto.Stop)
	emu.ddb = dynamodb.NewFromConfig(emulator.Config(db.Endpoint, region))
	emu.moto = moto.Endpoint
	emu.table = "sightline-instrument-test"
	emu.err = store.CreateTable(ctx, emu.ddb, store.MainTable, emu.table)
}

func needEmulators(t *testing.T) {
	t.Helper()
	emu.once.Do(startEmulators)
	if emu.err != nil {
		if errors.Is(emu.err, emulator.ErrNotInstalled) {
			t.Skipf("emulators not installed: %v", emu.err)
		}
		t.Fatalf("emulators: %v", emu.err)
	}
}

// customer is a stand-in customer account in moto, acting through its own deploy session.
type customer struct {
	account string
	cfg     aws.Config // the deploy session in the home region
	lambda  *lambda.Client
	logs    *cloudwatchlogs.Client
	fh      *firehose.Client
	iam     *iam.Client
	events  *eventbridge.Client
	fnRole  string
	layer   string // the customer's own layer
}

func zipOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	z.Close()
	return b.Bytes()
}

func newCustomer(t *testing.T) *customer {
	t.Helper()
	needEmulators(t)
	ctx := context.Background()
	acct := fmt.Sprintf("%012d", 200000000000+emu.next.Add(1))
	base := emulator.Config(emu.moto, region)
	base.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
		"arn:aws:iam::"+acct+":role/deploy-role", func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "GitHubActions" }))
	c := &customer{account: acct, cfg: base, lambda: lambda.NewFromConfig(base), logs: cloudwatchlogs.NewFromConfig(base),
		fh: firehose.NewFromConfig(base), iam: iam.NewFromConfig(base), events: eventbridge.NewFromConfig(base)}
	out, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fn-role"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	c.fnRole = aws.ToString(out.Role.Arn)
	// moto resolves layers only in the function's own account, so the "Sightline"
	// layers are published in the customer account here (in AWS they live in
	// Sightline's account and are shared).
	for _, name := range []string{"sightline-node-arm64", "sightline-node-x86", "sightline-python-arm64", "sightline-python-x86"} {
		if _, err := c.lambda.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String(name),
			Content: &lambdatypes.LayerVersionContentInput{ZipFile: zipOf(t, "sdk.js", "sdk")}}); err != nil {
			t.Fatal(err)
		}
	}
	lv, err := c.lambda.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("customer-utils"),
		Content: &lambdatypes.LayerVersionContentInput{ZipFile: zipOf(t, "utils.js", "utils")}})
	if err != nil {
		t.Fatal(err)
	}
	c.layer = aws.ToString(lv.LayerVersionArn)
	return c
}

func (c *customer) createFunction(t *testing.T, name string, runtime lambdatypes.Runtime, arch lambdatypes.Architecture, env map[string]string, layers ...string) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: runtime, Role: aws.String(c.fnRole), Handler: aws.String("index.handler"),
		Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t, "index.js", "exports.handler=async()=>1")}, Architectures: []lambdatypes.Architecture{arch},
		Layers: layers, Timeout: aws.Int32(10), MemorySize: aws.Int32(256),
	}
	if env != nil {
		in.Environment = &lambdatypes.Environment{Variables: env}
	}
	if _, err := c.lambda.CreateFunction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// snapshot is the part of the configuration instrumentation touches, as JSON.
func (c *customer) snapshot(t *testing.T, name string) string {
	t.Helper()
	out, err := c.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(struct {
		Env    *lambdatypes.EnvironmentResponse
		Layers []lambdatypes.Layer
	}{out.Configuration.Environment, out.Configuration.Layers})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (c *customer) config(t *testing.T, name string) *lambdatypes.FunctionConfiguration {
	t.Helper()
	out, err := c.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Configuration
}

func (c *customer) filters(t *testing.T, logGroup string) []string {
	t.Helper()
	out, err := c.logs.DescribeSubscriptionFilters(context.Background(), &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String(logGroup)})
	if err != nil {
		return nil
	}
	var names []string
	for _, f := range out.SubscriptionFilters {
		names = append(names, aws.ToString(f.FilterName)+"->"+aws.ToString(f.DestinationArn))
	}
	return names
}

// countingLambda counts UpdateFunctionConfiguration calls and can fail the first
// ones with the SDK's real ResourceConflictException type (moto never produces it).
type countingLambda struct {
	instrument.LambdaAPI
	mu        sync.Mutex
	updates   int
	conflicts int
}

func (l *countingLambda) UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	l.mu.Lock()
	l.updates++
	fail := l.conflicts > 0
	if fail {
		l.conflicts--
	}
	l.mu.Unlock()
	if fail {
		return nil, &lambdatypes.ResourceConflictException{
			Message: aws.String("The operation cannot be performed at this time. An update is in progress for resource: " + aws.ToString(in.FunctionName)),
			Type:    aws.String("User"),
		}
	}
	return l.LambdaAPI.UpdateFunctionConfiguration(ctx, in, opts...)
}

func (l *countingLambda) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.updates
}

type harness struct {
	cust   *customer
	store  *integration.Store
	integ  *integration.Integration
	inst   *instrument.Instrumenter
	lambda *countingLambda
	sleeps []time.Duration
}

func newHarness(t *testing.T, instrumentNew bool) *harness {
	t.Helper()
	return newHarnessIn(t, instrumentNew, region)
}

// newHarnessIn is newHarness with the integration enabled in regions (the first
// one, region, is its home).
func newHarnessIn(t *testing.T, instrumentNew bool, regions ...string) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{cust: newCustomer(t)}
	h.store = &integration.Store{DB: emu.ddb, Table: emu.table}
	svc := &integration.Service{Store: h.store, Regions: regions}
	created, err := svc.Create(ctx, integration.CreateRequest{Tenant: "acme", OrgID: "org-acme", InstrumentNewFunctions: instrumentNew})
	if err != nil {
		t.Fatal(err)
	}
	h.integ, err = h.store.Activate(ctx, created.Integration.ID, h.cust.account, "arn:aws:iam::"+h.cust.account+":role/"+roleName,
		region, "", "arn:aws:cloudformation:us-east-1:"+h.cust.account+":stack/sightline/1", "1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roles := &integration.Roles{Base: emulator.Config(emu.moto, region)}
	connect := instrument.RoleConnector(roles)
	var once sync.Once
	h.inst = &instrument.Instrumenter{
		Store: h.store,
		Connect: func(ctx context.Context, in *integration.Integration, r string) (*instrument.AccountAPIs, error) {
			apis, err := connect(ctx, in, r)
			if err != nil {
				return nil, err
			}
			once.Do(func() { h.lambda = &countingLambda{LambdaAPI: apis.Lambda} })
			apis.Lambda = h.lambda
			return apis, nil
		},
		Config: instrument.Config{
			Layers: instrument.Layers{
				"nodejs/arm64":  "arn:aws:lambda:{region}:" + h.cust.account + ":layer:sightline-node-arm64:1",
				"nodejs/x86_64": "arn:aws:lambda:{region}:" + h.cust.account + ":layer:sightline-node-x86:1",
				"python/arm64":  "arn:aws:lambda:{region}:" + h.cust.account + ":layer:sightline-python-arm64:1",
				"python/x86_64": "arn:aws:lambda:{region}:" + h.cust.account + ":layer:sightline-python-x86:1",
			},
			RoleName: roleName, ReceiverURL: receiverURL, EventBusARN: eventBusARN,
		},
		Sleep: func(_ context.Context, d time.Duration) error { h.sleeps = append(h.sleeps, d); return nil },
	}
	return h
}

func (h *harness) sync(t *testing.T) {
	t.Helper()
	roles := &integration.Roles{Base: emulator.Config(emu.moto, region)}
	inv := &integration.Inventory{Store: h.store, Lambda: func(ctx context.Context, in *integration.Integration, r string) (integration.FunctionLister, error) {
		cfg, err := roles.Config(in, "inventory", r)
		if err != nil {
			return nil, err
		}
		return lambda.NewFromConfig(cfg), nil
	}}
	if _, err := inv.Sync(context.Background(), h.integ); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) setInstrument(t *testing.T, name string, on bool) (instrument.Result, error) {
	t.Helper()
	if err := h.store.SetDesired(context.Background(), h.integ.ID, region, name, on); err != nil {
		t.Fatal(err)
	}
	return h.inst.Apply(context.Background(), h.integ, region, name)
}

func (h *harness) event(t *testing.T, fixture string) instrument.APICall {
	t.Helper()
	b, err := os.ReadFile("testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	call, err := instrument.ParseEvent([]byte(strings.ReplaceAll(string(b), fixtureAcct, h.cust.account)))
	if err != nil {
		t.Fatal(err)
	}
	return call
}

func (h *harness) state(t *testing.T, name string) integration.InstrumentState {
	t.Helper()
	fn, err := h.store.GetFunction(context.Background(), h.integ.ID, region, name)
	if err != nil {
		t.Fatal(err)
	}
	return fn.State
}

func TestInstrumentMergesAndUninstrumentRestoresByteForByte(t *testing.T) {
	h := newHarness(t, false)
	env := map[string]string{"DB_URL": "postgres://db:5432/orders", "LOG_LEVEL": "debug", instrument.WrapperVar: otherWrapper}
	h.cust.createFunction(t, "orders-api", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, env, h.cust.layer)
	h.cust.createFunction(t, "reports", lambdatypes.RuntimePython312, lambdatypes.ArchitectureX8664, nil)
	h.cust.createFunction(t, "ingest-go", lambdatypes.RuntimeProvidedal2023, lambdatypes.ArchitectureArm64, map[string]string{"MODE": "fast"})
	h.sync(t)
	before := map[string]string{}
	for _, n := range []string{"orders-api", "reports", "ingest-go"} {
		before[n] = h.cust.snapshot(t, n)
	}

	for name, tc := range map[string]struct {
		status     string
		wantLayer  string
		wantEnv    map[string]string
		wantWarn   bool
		wantUpdate bool
	}{
		"node with the customer's env, layer and wrapper": {
			status: "instrumented", wantLayer: "sightline-node-arm64", wantWarn: true, wantUpdate: true,
			wantEnv: map[string]string{"DB_URL": env["DB_URL"], "LOG_LEVEL": "debug", instrument.WrapperVar: "/opt/sightline-node/exec-wrapper.sh", instrument.OrgIDVar: "org-acme"},
		},
		"python without environment": {
			status: "instrumented", wantLayer: "sightline-python-x86", wantUpdate: true,
			wantEnv: map[string]string{instrument.WrapperVar: "/opt/sightline-python/exec_wrapper.py", instrument.OrgIDVar: "org-acme"},
		},
		"go gets log collection only": {status: "logs-only", wantEnv: map[string]string{"MODE": "fast"}},
	} {
		fn := map[string]string{"node with the customer's env, layer and wrapper": "orders-api", "python without environment": "reports", "go gets log collection only": "ingest-go"}[name]
		t.Run(name, func(t *testing.T) {
			res, err := h.setInstrument(t, fn, true)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status {
				t.Fatalf("status %q, want %q", res.Status, tc.status)
			}
			if (res.Warning != "") != tc.wantWarn || tc.wantWarn && !strings.Contains(res.Warning, otherWrapper) {
				t.Fatalf("warning %q, want one naming %s: %v", res.Warning, otherWrapper, tc.wantWarn)
			}
			cfg := h.cust.config(t, fn)
			for k, v := range tc.wantEnv {
				if got := cfg.Environment.Variables[k]; got != v {
					t.Errorf("env %s = %q, want %q", k, got, v)
				}
			}
			var layers []string
			for _, l := range cfg.Layers {
				layers = append(layers, aws.ToString(l.Arn))
			}
			if fn == "orders-api" && (len(layers) != 2 || layers[0] != h.cust.layer) {
				t.Errorf("layers %v: the customer's layer must stay first", layers)
			}
			if tc.wantLayer != "" && (len(layers) == 0 || !strings.Contains(layers[len(layers)-1], tc.wantLayer)) {
				t.Errorf("layers %v, want %s last", layers, tc.wantLayer)
			}
			if tc.wantLayer == "" && h.cust.snapshot(t, fn) != before[fn] {
				t.Errorf("logs-only function changed: %s", h.cust.snapshot(t, fn))
			}
			if f := h.cust.filters(t, "/aws/lambda/"+fn); len(f) != 1 || !strings.HasPrefix(f[0], "sightline->arn:aws:firehose:us-east-1:"+h.cust.account+":deliverystream/sightline-logs") {
				t.Errorf("subscription filters %v", f)
			}
		})
	}
	// The region's stream and forwarding rule exist.
	d, err := h.cust.fh.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("sightline-logs")})
	if err != nil || d.DeliveryStreamDescription.DeliveryStreamStatus != fhtypes.DeliveryStreamStatusActive {
		t.Fatalf("firehose: %v", err)
	}
	if _, err := h.cust.events.DescribeRule(context.Background(), &eventbridge.DescribeRuleInput{Name: aws.String("sightline-lambda-changes")}); err != nil {
		t.Fatalf("forwarding rule: %v", err)
	}
	// Instrumenting again changes nothing.
	n := h.lambda.count()
	if res, err := h.setInstrument(t, "orders-api", true); err != nil || res.Updated {
		t.Fatalf("second instrument: updated=%v err=%v", res.Updated, err)
	}
	if h.lambda.count() != n {
		t.Fatalf("second instrument called UpdateFunctionConfiguration")
	}

	for _, fn := range []string{"orders-api", "reports", "ingest-go"} {
		t.Run("uninstrument "+fn, func(t *testing.T) {
			if _, err := h.setInstrument(t, fn, false); err != nil {
				t.Fatal(err)
			}
			if got := h.cust.snapshot(t, fn); got != before[fn] {
				t.Fatalf("not restored byte for byte:\n got %s\nwant %s", got, before[fn])
			}
			if f := h.cust.filters(t, "/aws/lambda/"+fn); len(f) != 0 {
				t.Fatalf("subscription filter left: %v", f)
			}
			if st := h.state(t, fn); st.Status != "uninstrumented" || len(st.Saved) != 0 {
				t.Fatalf("state %+v", st)
			}
		})
	}
}

func TestDriftRepairedOnceAndOwnChangesIgnored(t *testing.T) {
	h := newHarness(t, false)
	h.cust.createFunction(t, "orders-api", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, map[string]string{"DB_URL": "x"}, h.cust.layer)
	h.sync(t)
	if _, err := h.setInstrument(t, "orders-api", true); err != nil {
		t.Fatal(err)
	}
	instrumented := h.cust.snapshot(t, "orders-api")
	updates := h.lambda.count()
	ctx := context.Background()

	// Sightline's own update, as CloudTrail reports it: ignored, no second update.
	if o, err := h.inst.HandleAPICall(ctx, h.event(t, "sightline_own_update.json")); err != nil || o != instrument.OutcomeIgnoredOwn {
		t.Fatalf("own update: %v %v", o, err)
	}
	if h.lambda.count() != updates {
		t.Fatal("Sightline's own change caused an update")
	}
	// A deploy that wipes the layer and Sightline's variables.
	if _, err := h.cust.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("orders-api"), Layers: []string{h.cust.layer},
		Environment: &lambdatypes.Environment{Variables: map[string]string{"DB_URL": "x", "NEW_VAR": "y"}},
	}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		fixture string
		want    instrument.Outcome
		updates int // UpdateFunctionConfiguration calls it may make
	}{
		"1 deploy dropped the layer": {"update_function_configuration.json", instrument.OutcomeRepaired, 1},
		"2 same event again":         {"update_function_configuration.json", instrument.OutcomeInSync, 0},
		"3 code update":              {"update_function_code.json", instrument.OutcomeInSync, 0},
		"4 own update":               {"sightline_own_update.json", instrument.OutcomeIgnoredOwn, 0},
		"5 failed call":              {"update_failed_call.json", instrument.OutcomeIgnoredFailed, 0},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) { // in order: each case sees the account the previous left
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			n := h.lambda.count()
			o, err := h.inst.HandleAPICall(ctx, h.event(t, tc.fixture))
			if err != nil || o != tc.want {
				t.Fatalf("outcome %v err %v, want %v", o, err, tc.want)
			}
			if got := h.lambda.count() - n; got != tc.updates {
				t.Fatalf("%d updates, want %d", got, tc.updates)
			}
		})
	}
	cfg := h.cust.config(t, "orders-api")
	if cfg.Environment.Variables["NEW_VAR"] != "y" || cfg.Environment.Variables[instrument.WrapperVar] == "" {
		t.Fatalf("repair lost the deploy's variable or missed the wrapper: %v", cfg.Environment.Variables)
	}
	if len(cfg.Layers) != 2 {
		t.Fatalf("layers after repair: %v", cfg.Layers)
	}
	if st := h.state(t, "orders-api"); st.Repairs != 1 {
		t.Fatalf("repairs %d, want 1", st.Repairs)
	}
	_ = instrumented
	// Un-instrumenting now restores the deploy's configuration, not the older one.
	if _, err := h.setInstrument(t, "orders-api", false); err != nil {
		t.Fatal(err)
	}
	cfg = h.cust.config(t, "orders-api")
	if len(cfg.Environment.Variables) != 2 || cfg.Environment.Variables["NEW_VAR"] != "y" || len(cfg.Layers) != 1 {
		t.Fatalf("after un-instrument: env %v layers %v", cfg.Environment.Variables, cfg.Layers)
	}
}

func TestCreateFunctionInstrumentedWhenAccountInstrumentsNewFunctions(t *testing.T) {
	for name, tc := range map[string]struct {
		instrumentNew bool
		want          instrument.Outcome
	}{
		"on":  {true, instrument.OutcomeInstrumentedNew},
		"off": {false, instrument.OutcomeNotInstrumented},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tc.instrumentNew)
			h.cust.createFunction(t, "billing-worker", lambdatypes.RuntimePython312, lambdatypes.ArchitectureX8664, nil)
			o, err := h.inst.HandleAPICall(context.Background(), h.event(t, "create_function.json"))
			if err != nil || o != tc.want {
				t.Fatalf("outcome %v err %v, want %v", o, err, tc.want)
			}
			cfg := h.cust.config(t, "billing-worker")
			if got := len(cfg.Layers) == 1; got != tc.instrumentNew {
				t.Fatalf("layers %v", cfg.Layers)
			}
			fn, err := h.store.GetFunction(context.Background(), h.integ.ID, region, "billing-worker")
			if err != nil || fn.Instrument != tc.instrumentNew {
				t.Fatalf("inventory item %+v %v", fn, err)
			}
		})
	}
}

func TestUnknownAccountIsDropped(t *testing.T) {
	h := newHarness(t, false)
	call := h.event(t, "update_function_configuration.json")
	call.Account = "999988887777"
	if o, err := h.inst.HandleAPICall(context.Background(), call); err != nil || o != instrument.OutcomeUnknownAccount {
		t.Fatalf("outcome %v err %v", o, err)
	}
}

func TestLimitsReportedAndNothingChanges(t *testing.T) {
	h := newHarness(t, false)
	ctx := context.Background()
	h.cust.createFunction(t, "full-filters", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, map[string]string{"A": "1"})
	h.cust.createFunction(t, "big-env", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, map[string]string{"BLOB": strings.Repeat("x", 4000)})
	// The customer's own two subscription filters.
	if _, err := h.cust.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/full-filters")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"datadog", "splunk"} {
		s, err := h.cust.fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(n),
			ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::" + n), RoleARN: aws.String(h.cust.fnRole)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.cust.logs.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{LogGroupName: aws.String("/aws/lambda/full-filters"),
			FilterName: aws.String(n), FilterPattern: aws.String(""), DestinationArn: s.DeliveryStreamARN, RoleArn: aws.String(h.cust.fnRole)}); err != nil {
			t.Fatal(err)
		}
	}
	h.sync(t)
	for name, tc := range map[string]struct {
		fn       string
		code     string
		mentions []string
	}{
		"full subscription filter slots": {"full-filters", "SubscriptionFilterLimit", []string{`"datadog"`, `"splunk"`}},
		"4 KB environment overflow":      {"big-env", "EnvironmentTooLarge", []string{"4096"}},
	} {
		t.Run(name, func(t *testing.T) {
			before := h.cust.snapshot(t, tc.fn)
			filters := h.cust.filters(t, "/aws/lambda/"+tc.fn)
			_, err := h.setInstrument(t, tc.fn, true)
			if !errors.Is(err, instrument.ErrLimit) {
				t.Fatalf("err %v, want a limit error", err)
			}
			st := h.state(t, tc.fn)
			if st.Status != "error" || st.ErrorCode != tc.code {
				t.Fatalf("state %+v, want error %s", st, tc.code)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(st.Error, m) {
					t.Errorf("error %q does not mention %s", st.Error, m)
				}
			}
			if got := h.cust.snapshot(t, tc.fn); got != before {
				t.Errorf("configuration changed:\n%s\n%s", got, before)
			}
			if got := h.cust.filters(t, "/aws/lambda/"+tc.fn); fmt.Sprint(got) != fmt.Sprint(filters) {
				t.Errorf("filters changed: %v -> %v", filters, got)
			}
		})
	}
}

func TestResourceConflictIsRetried(t *testing.T) {
	for name, tc := range map[string]struct {
		conflicts int
		wantErr   bool
		wantCalls int
	}{
		"update in progress once":  {1, false, 2},
		"update in progress twice": {2, false, 3},
		"never settles":            {10, true, 5},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, false)
			h.cust.createFunction(t, "orders-api", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, nil)
			h.sync(t)
			// Connect once so the counting wrapper exists, then arm it.
			if _, err := h.inst.Connect(context.Background(), h.integ, region); err != nil {
				t.Fatal(err)
			}
			h.lambda.conflicts = tc.conflicts
			_, err := h.setInstrument(t, "orders-api", true)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if h.lambda.count() != tc.wantCalls {
				t.Fatalf("%d calls, want %d", h.lambda.count(), tc.wantCalls)
			}
			if len(h.sleeps) != tc.wantCalls-1 || h.sleeps[0] != 200*time.Millisecond || len(h.sleeps) > 1 && h.sleeps[1] != 400*time.Millisecond {
				t.Fatalf("backoff %v", h.sleeps)
			}
			st := h.state(t, "orders-api")
			if tc.wantErr && (st.ErrorCode != "ResourceConflictException" || !strings.Contains(st.Error, "update is in progress")) {
				t.Fatalf("recorded %+v", st)
			}
			if !tc.wantErr && st.Status != "instrumented" {
				t.Fatalf("state %+v", st)
			}
		})
	}
}

func TestRemoveUninstrumentsEverything(t *testing.T) {
	h := newHarness(t, false)
	before := ""
	h.cust.createFunction(t, "orders-api", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, map[string]string{"A": "1"}, h.cust.layer)
	h.sync(t)
	before = h.cust.snapshot(t, "orders-api")
	if _, err := h.setInstrument(t, "orders-api", true); err != nil {
		t.Fatal(err)
	}
	res, err := h.inst.Remove(context.Background(), h.integ)
	if err != nil || res.Uninstrumented != 1 {
		t.Fatalf("remove: %+v %v", res, err)
	}
	if got := h.cust.snapshot(t, "orders-api"); got != before {
		t.Fatalf("not restored: %s", got)
	}
	if _, err := h.cust.fh.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("sightline-logs")}); err == nil {
		t.Fatal("firehose stream left behind")
	}
	got, err := h.store.Get(context.Background(), h.integ.ID)
	if err != nil || got.Status != integration.StatusRemoved {
		t.Fatalf("integration %+v %v", got, err)
	}
	if _, err := h.store.IntegrationIDForAccount(context.Background(), h.cust.account); !errors.Is(err, integration.ErrUnknownAccount) {
		t.Fatalf("account still claimed: %v", err)
	}
}
