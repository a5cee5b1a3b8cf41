package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

type config struct {
	table          string
	templateURL    string              // TEMPLATE_URL: https://... (public, versioned) or s3://bucket/key (presigned per link)
	inst           instrument.Settings // EVENT_BUS_ARN: forwarding target, and the bus accounts are admitted to
	destinationARN string              // LOG_DESTINATION_ARN: the log destination accounts are admitted to
	stackRegion    string              // STACK_REGION (default us-east-1)
	regions        []string
}

// defaultRegions are the commercial regions a new integration covers unless REGIONS says otherwise.
var defaultRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
	"eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2", "sa-east-1"}

func parseConfig(getenv func(string) string) (config, error) {
	c := config{table: getenv("TABLE_NAME"), templateURL: getenv("TEMPLATE_URL"),
		destinationARN: getenv("LOG_DESTINATION_ARN"), stackRegion: getenv("STACK_REGION"), regions: defaultRegions}
	inst, err := instrument.ParseSettings(getenv, true)
	c.inst = inst
	errs := []error{err}
	for name, v := range map[string]string{"TABLE_NAME": c.table, "TEMPLATE_URL": c.templateURL, "LOG_DESTINATION_ARN": c.destinationARN} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if u, err := url.Parse(c.templateURL); c.templateURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "s3") || u.Host == "") {
		errs = append(errs, errors.New("TEMPLATE_URL must be https://... or s3://bucket/key"))
	}
	if c.inst.EventBusARN != "" && c.destinationARN != "" {
		if _, err := integration.NewAdmission(nil, nil, nil, c.inst.EventBusARN, c.destinationARN); err != nil {
			errs = append(errs, fmt.Errorf("EVENT_BUS_ARN / LOG_DESTINATION_ARN: %w", err))
		}
	}
	if c.stackRegion == "" {
		c.stackRegion = "us-east-1"
	}
	if !integration.ValidRegion(c.stackRegion) {
		errs = append(errs, errors.New("STACK_REGION must be a commercial region"))
	}
	if r := getenv("REGIONS"); r != "" {
		c.regions = strings.Split(r, ",")
		for _, region := range c.regions {
			if !integration.ValidRegion(region) {
				errs = append(errs, fmt.Errorf("REGIONS: %q is not a commercial region", region))
			}
		}
	}
	return c, errors.Join(errs...)
}

// linker builds the quick-create link of a new (or reissued) integration. The
// access key goes to the stack as the NoEcho parameter FirehoseAccessKey (the
// stack keeps it in a Secrets Manager secret the Firehose stream reads). An
// s3:// template is presigned now, for integration.TemplateURLTTL.
func (c config) linker(p integration.Presigner) func(ctx context.Context, created *integration.Created) (string, error) {
	return func(ctx context.Context, created *integration.Created) (string, error) {
		tu := c.templateURL
		if u, err := url.Parse(tu); err == nil && u.Scheme == "s3" {
			signed, err := integration.PresignedTemplateURL(ctx, p, u.Host, strings.TrimPrefix(u.Path, "/"), integration.TemplateURLTTL)
			if err != nil {
				return "", err
			}
			tu = signed
		}
		return integration.IntegrationLink(c.stackRegion, tu, created)
	}
}
