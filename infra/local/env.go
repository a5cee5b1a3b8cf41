package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/store"
)

// localEnv is the embedded default environment: DynamoDB Local (unless
// DYNAMODB_ENDPOINT names one) with a fresh table, and moto_server when asked for.
type localEnv struct {
	log      *slog.Logger
	ddbProc  *emulator.Process
	motoProc *emulator.Process
	endpoint string
	region   string
	// ddb is the ingest path's client; rules is the alert rules' client (alerts,
	// the scheduled evaluator's reads and state). Each counts its own requests.
	ddb      *dynamodb.Client
	rules    *dynamodb.Client
	table    string
	requests *requestCounter
	ruleReqs *requestCounter
}

func startEnv(ctx context.Context, log *slog.Logger, region string, withMoto bool) (*localEnv, error) {
	e := &localEnv{log: log, region: region, requests: newRequestCounter(), ruleReqs: newRequestCounter()}
	e.endpoint = os.Getenv("DYNAMODB_ENDPOINT")
	if e.endpoint == "" {
		t0 := time.Now()
		p, err := emulator.StartDynamoDB(ctx)
		if err != nil {
			return nil, fmt.Errorf("start DynamoDB Local: %w", err)
		}
		e.ddbProc, e.endpoint = p, p.Endpoint
		log.Info("DynamoDB Local started", "endpoint", p.Endpoint, "pid", p.PID(), "took", time.Since(t0).Round(time.Millisecond))
	}
	cfg := emulator.Config(e.endpoint, region)
	e.ddb = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, e.requests.middleware)
	})
	e.rules = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, e.ruleReqs.middleware)
	})
	e.table = fmt.Sprintf("sightline-local-%d", time.Now().UnixNano())
	if err := store.CreateTable(ctx, e.ddb, store.MainTable, e.table); err != nil {
		e.Close()
		return nil, err
	}
	if withMoto {
		if ep := os.Getenv("MOTO_ENDPOINT"); ep == "" {
			p, err := emulator.StartMoto(ctx)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("start moto_server: %w", err)
			}
			e.motoProc = p
			log.Info("moto_server started", "endpoint", p.Endpoint, "pid", p.PID())
		}
	}
	return e, nil
}

func (e *localEnv) motoEndpoint() string {
	if e.motoProc != nil {
		return e.motoProc.Endpoint
	}
	return os.Getenv("MOTO_ENDPOINT")
}

// Close stops the emulators this environment started.
func (e *localEnv) Close() {
	if e.ddbProc != nil {
		_ = e.ddbProc.Stop()
		e.log.Info("DynamoDB Local stopped", "pid", e.ddbProc.PID())
	}
	if e.motoProc != nil {
		_ = e.motoProc.Stop()
		e.log.Info("moto_server stopped", "pid", e.motoProc.PID())
	}
}

// requestCounter counts DynamoDB requests by operation.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func newRequestCounter() *requestCounter { return &requestCounter{counts: map[string]int{}} }

func (c *requestCounter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("SightlineCountRequests",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.counts[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// snapshot returns the counts so far.
func (c *requestCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// writes counts the write requests among counts.
func writes(counts map[string]int) int {
	n := 0
	for op, c := range counts {
		switch op {
		case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
			n += c
		}
	}
	return n
}

func sortedOps(counts map[string]int) []string {
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}
