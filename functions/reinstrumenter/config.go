package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

type config struct {
	table          string
	roleName       string // CUSTOMER_ROLE_NAME
	layerParameter string // LAYER_ARNS: the SSM parameter holding the layer map
	receiverURL    string // RECEIVER_URL: Firehose HTTP endpoint for streams created in new regions
	eventBusARN    string // EVENT_BUS_ARN (optional): target of the forwarding rules
}

func parseConfig(getenv func(string) string) (config, error) {
	c := config{table: getenv("TABLE_NAME"), roleName: getenv("CUSTOMER_ROLE_NAME"), layerParameter: getenv("LAYER_ARNS"),
		receiverURL: getenv("RECEIVER_URL"), eventBusARN: getenv("EVENT_BUS_ARN")}
	var errs []error
	for name, v := range map[string]string{"TABLE_NAME": c.table, "CUSTOMER_ROLE_NAME": c.roleName, "LAYER_ARNS": c.layerParameter, "RECEIVER_URL": c.receiverURL} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if u, err := url.Parse(c.receiverURL); c.receiverURL != "" && (err != nil || u.Scheme != "https") {
		errs = append(errs, errors.New("RECEIVER_URL must be an https URL"))
	}
	if c.eventBusARN != "" && !strings.HasPrefix(c.eventBusARN, "arn:aws:events:") {
		errs = append(errs, errors.New("EVENT_BUS_ARN must be an event bus ARN"))
	}
	return c, errors.Join(errs...)
}
