package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/store"
)

// replayOptions configure one replay.
type replayOptions struct {
	Region  string
	Tenant  string
	Repeat  int
	Workers int
	Prices  cost.Prices
}

// replayResult is what a replay computed, read back from the store.
type replayResult struct {
	Totals []FunctionTotals
	Alerts []insights.Alert
	Ticks  int
	// Requests are the ingest path's DynamoDB requests by operation; RuleRequests
	// the alert rules' (immediate and scheduled).
	Requests     map[string]int
	RuleRequests map[string]int
	Took         time.Duration
}

// localIntegration is the replay's one local tenant: its integration owns every
// account in the input, and Firehose bodies are accepted with its access key.
type localIntegration struct {
	key      string
	tenant   string
	accounts []string
}

func newLocalIntegration(tenant string, accounts []string) (*localIntegration, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &localIntegration{key: "local." + hex.EncodeToString(b), tenant: tenant, accounts: accounts}, nil
}

// Authenticate implements ingest.Authenticator.
func (l *localIntegration) Authenticate(_ context.Context, key string) (ingest.Integration, error) {
	if subtle.ConstantTimeCompare([]byte(key), []byte(l.key)) != 1 {
		return ingest.Integration{}, ingest.ErrUnauthorized
	}
	return ingest.Integration{TenantID: l.tenant, Accounts: l.accounts}, nil
}

// Tenant implements ingest.Tenancy for the Kinesis and transformation paths.
func (l *localIntegration) Tenant(ctx context.Context, account string) (string, error) {
	return ingest.Integration{TenantID: l.tenant, Accounts: l.accounts}.Tenant(ctx, account)
}

// replay runs deliveries through the Lambdas' handlers against env, with the
// immediate rules in the ingest path and the scheduled rules on the simulated clock.
func replay(ctx context.Context, log *slog.Logger, env *localEnv, inv *inventory, opts replayOptions, deliveries []delivery) (*replayResult, error) {
	t0 := time.Now()
	accounts, err := ownersOf(deliveries)
	if err != nil {
		return nil, err
	}
	integ, err := newLocalIntegration(opts.Tenant, accounts)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	table := store.New(env.ddb, env.table, store.Options{Logger: log})
	obs := newObserver(table)
	alerts := &insights.Collector{}
	ruleTable := store.New(env.rules, env.table, store.Options{Logger: log})
	alertTable := &insights.Table{API: env.rules, Name: env.table}
	immediate := &insights.Immediate{Alerts: alertTable, Sink: alerts, Logger: log}
	evaluator := &insights.Evaluator{
		Config:   insights.DefaultConfig(),
		Active:   ruleTable,
		Windows:  insights.StoreWindows{Store: ruleTable},
		States:   alertTable,
		Alerts:   alertTable,
		Timeouts: inv.Timeout,
		Sink:     alerts,
		Logger:   quiet,
	}
	r := &replayer{
		log:       log,
		workers:   make(chan *handlers, opts.Workers),
		repeat:    opts.Repeat,
		accessKey: integ.key,
		region:    opts.Region,
		scheduled: evaluatorRuns{evaluator},
		observed:  obs,
	}
	for range opts.Workers {
		p := ingest.NewPipeline(obs, ingest.Config{
			Limits:    logs.DefaultLimits(),
			Prices:    opts.Prices,
			Functions: inv,
			Rules:     ingest.InsightsRules{Evaluator: immediate},
			Logger:    quiet,
		})
		src := ingest.Source{Region: opts.Region, Tenancy: integ}
		r.workers <- &handlers{
			kinesis:   &ingest.KinesisHandler{Pipeline: p, Source: src},
			firehose:  &ingest.FirehoseReceiver{Pipeline: p, Auth: integ, MaxBody: 64 << 20, Logger: log},
			transform: &ingest.TransformHandler{Pipeline: p, Source: src},
		}
	}
	if err := r.run(ctx, deliveries); err != nil {
		return nil, err
	}
	tot, err := totals(ctx, obs)
	if err != nil {
		return nil, err
	}
	res := &replayResult{Totals: tot, Alerts: alerts.Alerts(), Ticks: r.ticks, Requests: env.requests.snapshot(), RuleRequests: env.ruleReqs.snapshot(), Took: time.Since(t0)}
	slices.SortStableFunc(res.Alerts, func(a, b insights.Alert) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		key := func(x insights.Alert) string {
			return strings.Join([]string{string(x.Rule), x.Account, x.Region, x.Function, x.ErrorType}, "\x00")
		}
		return strings.Compare(key(a), key(b))
	})
	return res, nil
}

// evaluatorRuns adapts the scheduled evaluator to the replayer's clock ticks.
type evaluatorRuns struct{ e *insights.Evaluator }

func (r evaluatorRuns) Run(ctx context.Context, now time.Time) error {
	_, err := r.e.Run(ctx, now)
	return err
}

// ownersOf lists the owner accounts of every document in the deliveries: the local
// integration owns exactly these.
func ownersOf(deliveries []delivery) ([]string, error) {
	seen := map[string]bool{}
	h := ownerCollector(seen)
	dec := logs.NewDecoder(logs.DefaultLimits())
	scan := func(recs []logs.Record) {
		for _, r := range recs {
			_ = dec.Decode(r.Data, h) // bad records are the pipeline's to count
		}
	}
	for i := range deliveries {
		d := &deliveries[i]
		switch d.kind {
		case viaKinesis:
			scan(logs.KinesisRecords(d.kinesis))
		case viaTransform:
			scan(logs.FirehoseTransformRecords(d.transform))
		case viaFirehose:
			fr, err := logs.ParseFirehoseRequest(d.firehose, "", 64<<20)
			if err != nil {
				continue // the receiver answers 400 for it
			}
			scan(fr.Records)
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no DATA_MESSAGE documents in the input")
	}
	return out, nil
}

type ownerCollector map[string]bool

func (o ownerCollector) Document(d *logs.Document) bool {
	if d.Type == logs.MessageData {
		o[string(d.Owner)] = true
	}
	return false
}
func (o ownerCollector) Event(*logs.Document, *logs.Event) {}
func (o ownerCollector) EndDocument(*logs.Document)        {}
