package stack

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// -templates DIR writes the synthesized templates (for cfn-lint) into DIR.
var templatesDir = flag.String("templates", "", "write SightlineVendor/SightlineCustomer templates into this directory")

// The jsii runtime is slow to start and synthesis takes seconds: both stacks are
// synthesized once per test binary, in TestMain, and every test reads the result.
var synth struct {
	cfg      Config
	vendor   map[string]any
	customer map[string]any
	vT, cT   assertions.Template
	findings []string
}

func testConfig() Config {
	c := DefaultConfig()
	c.VendorAccount = "111122223333"
	c.VendorRegion = "eu-west-1"
	c.ReceiverURL = "https://abc123.lambda-url.eu-west-1.on.aws/"
	c.Layers = map[string]string{
		"nodejs/arm64":  "arn:aws:lambda:{region}:111122223333:layer:sightline-node-arm64:7",
		"python/x86_64": "arn:aws:lambda:{region}:111122223333:layer:sightline-python-x86:7",
	}
	c.CustomerAccounts = []string{"444455556666"}
	c.AlarmEmail = "ops@example.com"
	return c
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		defer jsii.Close()
		if err := synthesize(); err != nil {
			fmt.Fprintln(os.Stderr, "synthesize:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func synthesize() error {
	out, err := os.MkdirTemp("", "sightline-cdk-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	stub, err := filepath.Abs(filepath.Join("testdata", "stub"))
	if err != nil {
		return err
	}
	synth.cfg = testConfig()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
	env := &awscdk.Environment{Account: jsii.String(synth.cfg.VendorAccount), Region: jsii.String(synth.cfg.VendorRegion)}
	if _, err := NewVendorStack(app, "SightlineVendor", &VendorProps{
		StackProps: awscdk.StackProps{Env: env},
		Config:     synth.cfg,
		LambdaCode: func(string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(stub), nil) },
	}); err != nil {
		return err
	}
	if _, err := NewCustomerStack(app, "SightlineCustomer", &CustomerProps{Config: synth.cfg}); err != nil {
		return err
	}
	ApplyChecks(app)
	asm := app.Synth(nil)
	synth.findings = Findings(asm)
	for _, st := range *asm.Stacks() {
		raw, err := os.ReadFile(*st.TemplateFullPath())
		if err != nil {
			return err
		}
		var tmpl map[string]any
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			return err
		}
		switch *st.StackName() {
		case "SightlineVendor":
			synth.vendor = tmpl
		case "SightlineCustomer":
			synth.customer = tmpl
		}
		if *templatesDir != "" {
			if err := os.WriteFile(filepath.Join(*templatesDir, *st.StackName()+".template.json"), raw, 0o644); err != nil {
				return err
			}
		}
	}
	if synth.vendor == nil || synth.customer == nil {
		return fmt.Errorf("assembly lacks a stack")
	}
	synth.vT = assertions.Template_FromJSON(&synth.vendor, nil)
	synth.cT = assertions.Template_FromJSON(&synth.customer, nil)
	return nil
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	for _, f := range synth.findings {
		t.Error(f)
	}
}

// nagFindingsOfBadStack synthesizes a small stack that breaks AwsSolutions rules.
func nagFindingsOfBadStack(t *testing.T) []string {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st := awscdk.NewStack(app, jsii.String("Bad"), nil)
	awssqs.NewQueue(st, jsii.String("Plain"), &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_UNENCRYPTED})
	ApplyChecks(app)
	return Findings(app.Synth(nil))
}

// TestVendorWithoutStaticAccounts covers the SaaS default: no customer accounts in
// context, so CloudFormation writes no bus or destination policy (the integration
// functions admit accounts at runtime; see docs/deploy.md) and the template still
// passes cdk-nag.
func TestVendorWithoutStaticAccounts(t *testing.T) {
	cfg := testConfig()
	cfg.CustomerAccounts = nil
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stub, _ := filepath.Abs(filepath.Join("testdata", "stub"))
	v, err := NewVendorStack(app, "SightlineVendor", &VendorProps{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(cfg.VendorAccount), Region: jsii.String(cfg.VendorRegion)}},
		Config:     cfg,
		LambdaCode: func(string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(stub), nil) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ApplyChecks(app)
	if f := Findings(app.Synth(nil)); len(f) > 0 {
		t.Errorf("findings: %v", f)
	}
	tmpl := assertions.Template_FromStack(v.Stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), jsii.Number(0))
	tmpl.HasResourceProperties(jsii.String("AWS::Logs::Destination"), &map[string]any{
		"DestinationPolicy": assertions.Match_Absent(),
	})
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]any{
		"AssumeRolePolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": []any{assertions.Match_ObjectLike(&map[string]any{
			"Principal": map[string]any{"Service": "logs.amazonaws.com"},
			"Condition": map[string]any{"StringLike": map[string]any{"aws:SourceArn": []any{
				map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":logs:eu-west-1:*:*"}}},
			}}},
		})}}),
	})
}
