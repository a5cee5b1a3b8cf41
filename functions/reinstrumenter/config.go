package main

import (
	"errors"

	"github.com/sightline/sightline/shared/instrument"
)

type config struct {
	table string
	inst  instrument.Settings // EVENT_BUS_ARN optional: without it, no forwarding rules are created
}

func parseConfig(getenv func(string) string) (config, error) {
	c := config{table: getenv("TABLE_NAME")}
	var errs []error
	if c.table == "" {
		errs = append(errs, errors.New("TABLE_NAME is required"))
	}
	var err error
	c.inst, err = instrument.ParseSettings(getenv, false)
	return c, errors.Join(append(errs, err)...)
}
