package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/metrics"
)

// functionConfig is one entry of `replay --config functions.json`: what the
// integration's inventory would know about a function.
type functionConfig struct {
	Account        string `json:"account"`
	Region         string `json:"region"`
	Function       string `json:"function"`
	Runtime        string `json:"runtime"`
	Architecture   string `json:"architecture"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
	MemorySizeMB   int    `json:"memorySizeMB"`
	LogGroup       string `json:"logGroup"`
}

// inventory is the local stand-in for the integration's inventory.
type inventory struct {
	byLogGroup map[string]*functionConfig // account \x00 region \x00 log group
	byFunction map[string]*functionConfig // account \x00 region \x00 function
}

func loadInventory(path string) (*inventory, error) {
	inv := &inventory{byLogGroup: map[string]*functionConfig{}, byFunction: map[string]*functionConfig{}}
	if path == "" {
		return inv, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var fns []functionConfig
	if err := json.Unmarshal(b, &fns); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return newInventory(fns)
}

func newInventory(fns []functionConfig) (*inventory, error) {
	inv := &inventory{byLogGroup: map[string]*functionConfig{}, byFunction: map[string]*functionConfig{}}
	for i := range fns {
		f := &fns[i]
		if f.Account == "" || f.Region == "" || f.Function == "" {
			return nil, fmt.Errorf("config entry %d: account, region and function are required", i)
		}
		if _, err := cost.ParseArch(f.Architecture); err != nil {
			return nil, fmt.Errorf("config entry %d (%s): %w", i, f.Function, err)
		}
		if f.LogGroup == "" {
			f.LogGroup = "/aws/lambda/" + f.Function
		}
		inv.byLogGroup[f.Account+"\x00"+f.Region+"\x00"+f.LogGroup] = f
		inv.byFunction[f.Account+"\x00"+f.Region+"\x00"+f.Function] = f
	}
	return inv, nil
}

// FunctionByLogGroup implements ingest.Functions.
func (inv *inventory) FunctionByLogGroup(_ context.Context, _, account, region, logGroup string) (ingest.FunctionInfo, bool, error) {
	f, ok := inv.byLogGroup[account+"\x00"+region+"\x00"+logGroup]
	if !ok {
		return ingest.FunctionInfo{}, false, nil
	}
	arch, _ := cost.ParseArch(f.Architecture)
	return ingest.FunctionInfo{Name: f.Function, Architecture: arch}, true, nil
}

// Timeout returns a function's configured timeout (0: unknown).
func (inv *inventory) Timeout(_ context.Context, fn metrics.Function) (time.Duration, error) {
	f, ok := inv.byFunction[fn.Account+"\x00"+fn.Region+"\x00"+fn.Name]
	if !ok {
		return 0, nil
	}
	return time.Duration(f.TimeoutSeconds) * time.Second, nil
}
