package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

// InstrumentationSummary is the instrumentation part of the demo's JSON summary.
type InstrumentationSummary struct {
	Functions         int `json:"functions"`
	Instrumented      int `json:"instrumented"`
	DriftEvents       int `json:"driftEvents"`
	Repaired          int `json:"repaired"`
	IgnoredOwnChanges int `json:"ignoredOwnChanges"`
}

const (
	demoAccount  = "111122223333" // the stand-in customer account in moto
	demoRegion   = "us-east-1"
	demoRoleName = "SightlineIntegrationRole"
)

// demoCustomer is the customer's side: their deploy pipeline's clients.
type demoCustomer struct {
	lambda *lambda.Client
	iam    *iam.Client
}

// runInstrumentationDemo plays an integration end to end against moto and
// DynamoDB Local: a customer account with Node.js, Python and Go functions, the
// customer stack's report, the inventory, instrumentation, a deploy that drops the
// Sightline layer, its CloudTrail event, and the repair.
func runInstrumentationDemo(ctx context.Context, log *slog.Logger, table string, ddb *dynamodb.Client, motoEndpoint string) (InstrumentationSummary, error) {
	var sum InstrumentationSummary
	base := emulator.Config(motoEndpoint, demoRegion)
	cust := customerClients(base)
	st := &integration.Store{DB: ddb, Table: table}

	// 1. The customer's account: three functions, one with its own env vars and layer.
	fnRole, custLayer, err := demoAccountSetup(ctx, cust)
	if err != nil {
		return sum, err
	}
	custEnv := map[string]string{"DB_URL": "postgres://orders-db:5432/orders", "LOG_LEVEL": "info"}
	functions := []struct {
		name    string
		runtime lambdatypes.Runtime
		arch    lambdatypes.Architecture
		env     map[string]string
		layers  []string
	}{
		{"orders-api", lambdatypes.RuntimeNodejs20x, lambdatypes.ArchitectureArm64, custEnv, []string{custLayer}},
		{"reports", lambdatypes.RuntimePython312, lambdatypes.ArchitectureX8664, nil, nil},
		{"ingest", lambdatypes.RuntimeProvidedal2023, lambdatypes.ArchitectureArm64, nil, nil},
	}
	for _, f := range functions {
		if err := createDemoFunction(ctx, cust.lambda, fnRole, f.name, f.runtime, f.arch, f.env, f.layers); err != nil {
			return sum, err
		}
		log.InfoContext(ctx, "instrumentation: customer function created", "function", f.name, "runtime", f.runtime, "architecture", f.arch)
	}
	sum.Functions = len(functions)

	// 2. A new integration; the customer stack reports through its custom resource.
	created, err := (&integration.Service{Store: st, Regions: []string{demoRegion}}).Create(ctx,
		integration.CreateRequest{Tenant: "local", OrgID: "local-org"})
	if err != nil {
		return sum, err
	}
	link, err := integration.QuickCreateURL(integration.QuickCreateParams{Region: demoRegion, StackName: "Sightline-Integration",
		TemplateURL: integration.PublicTemplateURL("sightline-templates", demoRegion, "integration.yaml", "1"),
		ExternalID:  created.Integration.ExternalID, IntegrationID: created.Integration.ID})
	if err != nil {
		return sum, err
	}
	log.InfoContext(ctx, "instrumentation: integration created", "integration", created.Integration.ID, "quickCreateUrlBytes", len(link))
	in, err := reportStack(ctx, st, created.Integration)
	if err != nil {
		return sum, err
	}
	log.InfoContext(ctx, "instrumentation: customer stack reported its role", "integration", in.ID, "status", in.Status)

	// 3. Inventory through the customer role.
	roles := &integration.Roles{Base: base}
	inv := &integration.Inventory{Store: st, Lambda: func(ctx context.Context, in *integration.Integration, region string) (integration.FunctionLister, error) {
		cfg, err := roles.Config(in, "inventory", region)
		if err != nil {
			return nil, err
		}
		return lambda.NewFromConfig(cfg), nil
	}}
	synced, err := inv.Sync(ctx, in)
	if err != nil {
		return sum, err
	}
	log.InfoContext(ctx, "instrumentation: inventory synced", "functions", synced.Functions, "regions", synced.Regions)

	// 4. Instrument every function.
	inst := &instrument.Instrumenter{
		Store:   st,
		Connect: instrument.RoleConnector(roles),
		Config: instrument.Config{
			// moto resolves layers only in the function's account, so the demo
			// publishes the Sightline layers in the customer account.
			Layers: instrument.Layers{
				"nodejs/arm64":  "arn:aws:lambda:{region}:" + demoAccount + ":layer:sightline-node-arm64:1",
				"nodejs/x86_64": "arn:aws:lambda:{region}:" + demoAccount + ":layer:sightline-node-x86:1",
				"python/arm64":  "arn:aws:lambda:{region}:" + demoAccount + ":layer:sightline-python-arm64:1",
				"python/x86_64": "arn:aws:lambda:{region}:" + demoAccount + ":layer:sightline-python-x86:1",
			},
			RoleName:    demoRoleName,
			ReceiverURL: "https://receiver.sightline.example/firehose",
			EventBusARN: "arn:aws:events:us-east-1:999999999999:event-bus/sightline",
		},
	}
	var ownUpdates []string
	for _, f := range functions {
		if err := st.SetDesired(ctx, in.ID, demoRegion, f.name, true); err != nil {
			return sum, err
		}
		res, err := inst.Apply(ctx, in, demoRegion, f.name)
		if err != nil {
			return sum, fmt.Errorf("instrument %s: %w", f.name, err)
		}
		if res.Status == "instrumented" {
			ownUpdates = append(ownUpdates, f.name) // an UpdateFunctionConfiguration by Sightline's role session
		}
		sum.Instrumented++
		log.InfoContext(ctx, "instrumentation: function instrumented", "function", f.name, "status", res.Status)
	}

	// 5. A deploy (the customer's CI) drops the Sightline layer and variables.
	if _, err := cust.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("orders-api"), Layers: []string{custLayer},
		Environment: &lambdatypes.Environment{Variables: custEnv},
	}); err != nil {
		return sum, fmt.Errorf("simulated deploy: %w", err)
	}
	log.InfoContext(ctx, "instrumentation: a deploy replaced orders-api's layers and environment (Sightline's layer is gone)")

	// 6. CloudTrail events, as EventBridge forwards them: Sightline's own updates
	// (ignored) and the deploy (repaired).
	var events [][]byte
	for _, name := range ownUpdates {
		events = append(events, cloudTrailEvent(demoAccount, demoRegion, instrument.EventUpdateFunctionConfiguration, name, demoRoleName, "sightline-instrument"))
	}
	events = append(events, cloudTrailEvent(demoAccount, demoRegion, instrument.EventUpdateFunctionConfiguration, "orders-api", "deploy-role", "GitHubActions"))
	for _, ev := range events {
		call, err := instrument.ParseEvent(ev)
		if err != nil {
			return sum, err
		}
		sum.DriftEvents++
		outcome, err := inst.HandleAPICall(ctx, call)
		if err != nil {
			return sum, fmt.Errorf("drift repair: %w", err)
		}
		switch outcome {
		case instrument.OutcomeRepaired:
			sum.Repaired++
			// The repair is itself an update by Sightline: its event is ignored too.
			again, _ := instrument.ParseEvent(cloudTrailEvent(demoAccount, demoRegion, instrument.EventUpdateFunctionConfiguration, call.Function, demoRoleName, "sightline-instrument"))
			sum.DriftEvents++
			if o, err := inst.HandleAPICall(ctx, again); err == nil && o == instrument.OutcomeIgnoredOwn {
				sum.IgnoredOwnChanges++
			}
		case instrument.OutcomeIgnoredOwn:
			sum.IgnoredOwnChanges++
		}
		log.InfoContext(ctx, "instrumentation: cloudtrail event handled", "function", call.Function, "session", call.SessionName, "outcome", outcome)
	}

	// 7. Show the repaired configuration.
	out, err := cust.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")})
	if err != nil {
		return sum, err
	}
	var layers []string
	for _, l := range out.Configuration.Layers {
		layers = append(layers, aws.ToString(l.Arn))
	}
	log.InfoContext(ctx, "instrumentation: orders-api after repair", "layers", layers,
		"wrapper", out.Configuration.Environment.Variables[instrument.WrapperVar], "DB_URL kept", out.Configuration.Environment.Variables["DB_URL"] != "")
	return sum, nil
}

func customerClients(base aws.Config) demoCustomer {
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
		"arn:aws:iam::"+demoAccount+":role/deploy-role", func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "GitHubActions" }))
	return demoCustomer{lambda: lambda.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg)}
}

func demoZip(name, body string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create(name)
	_, _ = w.Write([]byte(body))
	_ = z.Close()
	return b.Bytes()
}

// demoAccountSetup creates the functions' execution role and publishes the layers.
func demoAccountSetup(ctx context.Context, c demoCustomer) (role, custLayer string, err error) {
	out, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("demo-function-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		return "", "", fmt.Errorf("create function role: %w", err)
	}
	for _, name := range []string{"sightline-node-arm64", "sightline-node-x86", "sightline-python-arm64", "sightline-python-x86"} {
		if _, err := c.lambda.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String(name),
			Content: &lambdatypes.LayerVersionContentInput{ZipFile: demoZip("sdk.js", "// sightline sdk")}}); err != nil {
			return "", "", fmt.Errorf("publish %s: %w", name, err)
		}
	}
	lv, err := c.lambda.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("customer-utils"),
		Content: &lambdatypes.LayerVersionContentInput{ZipFile: demoZip("utils.js", "// customer utils")}})
	if err != nil {
		return "", "", fmt.Errorf("publish customer layer: %w", err)
	}
	return aws.ToString(out.Role.Arn), aws.ToString(lv.LayerVersionArn), nil
}

func createDemoFunction(ctx context.Context, api *lambda.Client, role, name string, rt lambdatypes.Runtime, arch lambdatypes.Architecture, env map[string]string, layers []string) error {
	in := &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: rt, Role: aws.String(role), Handler: aws.String("index.handler"),
		Code: &lambdatypes.FunctionCode{ZipFile: demoZip("index.js", "exports.handler=async()=>({ok:true})")}, Architectures: []lambdatypes.Architecture{arch},
		Layers: layers, Timeout: aws.Int32(10), MemorySize: aws.Int32(256)}
	if env != nil {
		in.Environment = &lambdatypes.Environment{Variables: env}
	}
	if _, err := api.CreateFunction(ctx, in); err != nil {
		return fmt.Errorf("create function %s: %w", name, err)
	}
	return nil
}

// reportStack delivers the customer stack's custom resource Create request, its
// response going to a loopback server standing in for the presigned S3 URL.
func reportStack(ctx context.Context, st *integration.Store, in *integration.Integration) (*integration.Integration, error) {
	got := make(chan integration.StackResponse, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var resp integration.StackResponse
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&resp)
		got <- resp
	}))
	defer srv.Close()
	req := &integration.StackRequest{RequestType: integration.RequestCreate, ResponseURL: srv.URL + "/response",
		StackID: "arn:aws:cloudformation:us-east-1:" + demoAccount + ":stack/Sightline-Integration/1", RequestID: "demo-1",
		LogicalResourceID: "SightlineReport", ResourceType: "Custom::SightlineIntegration",
		ResourceProperties: integration.StackProperties{RoleArn: "arn:aws:iam::" + demoAccount + ":role/" + demoRoleName,
			Region: demoRegion, StackVersion: "1", ExternalID: in.ExternalID, IntegrationID: in.ID}}
	rep := &integration.Reporter{Store: st, HTTP: srv.Client(), AllowHTTPResponseURL: true}
	if _, err := rep.Handle(ctx, req); err != nil {
		return nil, err
	}
	if resp := <-got; resp.Status != "SUCCESS" {
		return nil, fmt.Errorf("customer stack report failed: %s", resp.Reason)
	}
	return st.Get(ctx, in.ID)
}

// cloudTrailEvent is an EventBridge "AWS API Call via CloudTrail" event in the
// documented shape (see shared/instrument/testdata), made by an assumed-role session.
func cloudTrailEvent(account, region, eventName, function, role, session string) []byte {
	now := time.Now().UTC().Format(time.RFC3339)
	ev := map[string]any{
		"version": "0", "id": fmt.Sprintf("demo-%d", time.Now().UnixNano()), "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.lambda", "account": account, "time": now, "region": region, "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.09",
			"userIdentity": map[string]any{
				"type": "AssumedRole", "principalId": "AROADEMO:" + session,
				"arn":       "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session,
				"accountId": account,
				"sessionContext": map[string]any{"sessionIssuer": map[string]any{
					"type": "Role", "arn": "arn:aws:iam::" + account + ":role/" + role, "accountId": account, "userName": role}},
			},
			"eventTime": now, "eventSource": "lambda.amazonaws.com", "eventName": eventName, "awsRegion": region,
			"requestParameters": map[string]any{"functionName": function},
			"responseElements":  map[string]any{"functionName": function, "functionArn": "arn:aws:lambda:" + region + ":" + account + ":function:" + function},
			"eventType":         "AwsApiCall", "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management",
		},
	}
	b, _ := json.Marshal(ev)
	return b
}

// runQuickCreateLink is `local quick-create-link --tenant T`: a new integration's
// ids and quick-create link (not stored: the local runner has no table here).
func runQuickCreateLink(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quick-create-link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "the tenant the integration belongs to")
	region := fs.String("region", "us-east-1", "the region the customer stack is created in")
	templateURL := fs.String("template-url", integration.PublicTemplateURL("sightline-templates", "us-east-1", "integration.yaml", ""), "the template (https)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		return errors.New("quick-create-link: --tenant is required")
	}
	c, err := integration.NewPending(integration.CreateRequest{Tenant: *tenant, Regions: []string{*region}}, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("quick-create-link: %w", err)
	}
	link, err := integration.QuickCreateURL(integration.QuickCreateParams{Region: *region, TemplateURL: *templateURL,
		StackName: "Sightline-Integration", ExternalID: c.Integration.ExternalID, IntegrationID: c.Integration.ID,
		Parameters: map[string]string{"FirehoseAccessKey": c.AccessKey}})
	if err != nil {
		return fmt.Errorf("quick-create-link: %w", err)
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"integrationId": c.Integration.ID, "accessKey": c.AccessKey, "quickCreateUrl": link})
}
