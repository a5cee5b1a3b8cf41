// Command integration-api serves the integration API (IAM-authorized function URL):
// create, list and remove integrations, sync the inventory, set the Instrument toggle;
// and, on the vendor stack's schedule, the resync of every active integration.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := parseConfig(getenv)
	if err != nil {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	store := &integration.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.table}
	roles := &integration.Roles{Base: awsCfg}
	inst, err := instrument.New(ctx, awsCfg, store, cfg.inst)
	if err != nil {
		return err
	}
	inv := &integration.Inventory{Store: store, Lambda: func(ctx context.Context, in *integration.Integration, region string) (integration.FunctionLister, error) {
		c, err := roles.Config(in, "inventory", region)
		if err != nil {
			return nil, err
		}
		return awslambda.NewFromConfig(c), nil
	}}
	adm, err := integration.NewAdmission(eventbridge.NewFromConfig(awsCfg), cloudwatchlogs.NewFromConfig(awsCfg), store, cfg.inst.EventBusARN, cfg.destinationARN)
	if err != nil {
		return err
	}
	svc := &integration.Service{Store: store, Regions: cfg.regions}
	resync := &integration.Resync{Store: store, Sync: inv.Sync, Admission: adm}
	h := &handler{
		create:  svc.Create,
		reissue: svc.Reissue,
		link:    cfg.linker(s3.NewPresignClient(s3.NewFromConfig(awsCfg))),
		store:   store,
		sync:    inv.Sync,
		apply:   inst.Apply,
		remove:  inst.Remove,
		revoke:  adm.Revoke,
		resync:  resync.Run,
	}
	lambda.Start(h.invoke)
	return nil
}
