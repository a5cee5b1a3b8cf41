// Command infra is Sightline's CDK app (run by `npx cdk` through cdk.json). It
// builds the Lambda binaries with the local Go toolchain, declares the
// SightlineVendor and SightlineCustomer stacks, applies cdk-nag's AwsSolutions
// checks, and fails on any unsuppressed finding.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/sightline/sightline/infra/stack"
)

func main() {
	err := run(context.Background())
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sightline cdk app:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := os.Getwd() // cdk.json runs the app from the module root
	if err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	cfg, err := stack.ConfigFromContext(envDefaults{app.Node(), os.Getenv})
	if err != nil {
		return err
	}
	if cfg.ReceiverURL == stack.PlaceholderReceiverURL {
		fmt.Fprintln(os.Stderr, "warning: receiverUrl is not set; the customer template points at a placeholder (see docs/deploy.md)")
	}
	dirs, err := buildFunctions(ctx, root, filepath.Join(root, "build", "lambda"), stack.Functions())
	if err != nil {
		return err
	}
	env := &awscdk.Environment{Account: jsii.String(cfg.VendorAccount), Region: jsii.String(cfg.VendorRegion)}
	if _, err := stack.NewVendorStack(app, "SightlineVendor", &stack.VendorProps{
		StackProps: awscdk.StackProps{Env: env},
		Config:     cfg,
		LambdaCode: func(name string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(dirs[name]), nil) },
	}); err != nil {
		return err
	}
	if _, err := stack.NewCustomerStack(app, "SightlineCustomer", &stack.CustomerProps{Config: cfg}); err != nil {
		return err
	}
	stack.ApplyChecks(app)
	asm := app.Synth(nil)
	if f := stack.Findings(asm); len(f) > 0 {
		return fmt.Errorf("%d unsuppressed cdk-nag finding(s):\n  %s", len(f), strings.Join(f, "\n  "))
	}
	return nil
}

// envDefaults falls back to the CLI's CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (set
// when credentials are available) for an unset vendorAccount / vendorRegion; offline
// synthesis keeps the documented placeholders.
type envDefaults struct {
	ctx    stack.ContextReader
	getenv func(string) string
}

func (e envDefaults) TryGetContext(key *string) interface{} {
	v := e.ctx.TryGetContext(key)
	if s, ok := v.(string); v != nil && !(ok && s == "") {
		return v
	}
	switch *key {
	case stack.CtxVendorAccount:
		if a := e.getenv("CDK_DEFAULT_ACCOUNT"); a != "" {
			return a
		}
	case stack.CtxVendorRegion:
		if r := e.getenv("CDK_DEFAULT_REGION"); r != "" {
			return r
		}
	}
	return v
}
