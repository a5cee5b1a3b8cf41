package main

import (
	"errors"
	"fmt"

	"github.com/sightline/sightline/shared/integration"
)

type config struct {
	table          string // TABLE_NAME
	eventBusARN    string // EVENT_BUS_ARN: the bus integrated accounts are admitted to
	destinationARN string // LOG_DESTINATION_ARN: the log destination integrated accounts are admitted to
}

func parseConfig(getenv func(string) string) (config, error) {
	c := config{table: getenv("TABLE_NAME"), eventBusARN: getenv("EVENT_BUS_ARN"), destinationARN: getenv("LOG_DESTINATION_ARN")}
	var errs []error
	for _, v := range []struct{ name, value string }{{"TABLE_NAME", c.table}, {"EVENT_BUS_ARN", c.eventBusARN}, {"LOG_DESTINATION_ARN", c.destinationARN}} {
		if v.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", v.name))
		}
	}
	if c.eventBusARN != "" && c.destinationARN != "" {
		if _, err := integration.NewAdmission(nil, nil, nil, c.eventBusARN, c.destinationARN); err != nil {
			errs = append(errs, fmt.Errorf("EVENT_BUS_ARN / LOG_DESTINATION_ARN: %w", err))
		}
	}
	return c, errors.Join(errs...)
}
