package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/klauspost/compress/gzip"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
	"github.com/sightline/sightline/shared/workload"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// smallWorkload is a generated workload small enough for a unit test run: every
// runtime and log format, cold starts, errors, timeouts and OOMs.
func smallWorkload(t testing.TB) *workload.Workload {
	t.Helper()
	w, err := workload.Generate(workload.Config{Seed: 7, Invocations: 4000, Duration: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// inventoryOf maps every function's log group, as the integration's inventory does.
type inventoryOf []workload.Function

func (inv inventoryOf) FunctionByLogGroup(_ context.Context, _, account, region, group string) (ingest.FunctionInfo, bool, error) {
	for _, f := range inv {
		if f.Account == account && f.Region == region && f.LogGroup == group {
			arch, err := cost.ParseArch(f.Architecture)
			return ingest.FunctionInfo{Name: f.Name, Architecture: arch}, true, err
		}
	}
	return ingest.FunctionInfo{}, false, nil
}

func everyAccount(tenant string) ingest.TenantFunc {
	return func(context.Context, string) (string, error) { return tenant, nil }
}

func kinesisEvent(recs []logs.Record) events.KinesisEvent {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(recs))}
	for i, r := range recs {
		ev.Records[i] = events.KinesisEventRecord{
			EventID: "shardId-000000000000:" + r.ID,
			Kinesis: events.KinesisRecord{SequenceNumber: r.ID, Data: r.Data, PartitionKey: "p"},
		}
	}
	return ev
}

// totals reads every function of the workload back from the store.
func totals(t *testing.T, tbl *store.Table, w *workload.Workload, tenant string) map[string]workload.Truth {
	t.Helper()
	ctx := context.Background()
	out := map[string]workload.Truth{}
	for _, f := range w.Functions {
		fn := metrics.Function{Tenant: tenant, Account: f.Account, Region: f.Region, Name: f.Name}
		ms, err := tbl.Minutes(ctx, fn, 0, allTime)
		if err != nil {
			t.Fatal(err)
		}
		var a metrics.Aggregate
		for i := range ms {
			a.Merge(&ms[i].Agg)
		}
		ets, err := tbl.ErrorTypes(ctx, fn)
		if err != nil {
			t.Fatal(err)
		}
		types := []string{}
		for _, e := range ets {
			types = append(types, e.Type)
		}
		slices.Sort(types)
		out[f.Name] = workload.Truth{
			Account: f.Account, Region: f.Region, Function: f.Name,
			Invocations: a.Invocations, Errors: a.Errors, Timeouts: a.Timeouts, OutOfMemory: a.OutOfMemory,
			ColdStarts: a.ColdStarts, DurationSumUs: a.DurationSumUs, DurationMinUs: a.DurationMinUs,
			DurationMaxUs: a.DurationMaxUs, BilledDurationMs: a.BilledDurationMs, MemorySizeMB: a.MemorySizeMB,
			MaxMemoryUsedMB: a.MaxMemoryUsedMB, ErrorTypes: types,
		}
	}
	return out
}

func compareTruth(t *testing.T, got map[string]workload.Truth, w *workload.Workload) {
	t.Helper()
	for _, want := range w.Truth {
		g := got[want.Function]
		want.TelemetryEvents = 0
		if want.ErrorTypes == nil {
			want.ErrorTypes = []string{}
		}
		if fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("function %s:\n got %+v\nwant %+v", want.Function, g, want)
		}
	}
}

// TestPipelineMatchesGroundTruth runs a generated workload (every runtime, both log
// formats) through the Kinesis handler into DynamoDB Local, then delivers every batch
// twice more and re-batched with other boundaries: the stored aggregates equal the
// generator's ground truth each time.
func TestPipelineMatchesGroundTruth(t *testing.T) {
	ctx := context.Background()
	w := smallWorkload(t)
	tbl := store.New(ddb, newTable(t), store.Options{Logger: quiet})
	p := ingest.NewPipeline(tbl, ingest.Config{Prices: cost.DefaultPrices, Functions: inventoryOf(w.Functions), Logger: quiet})
	h := &ingest.KinesisHandler{Pipeline: p, Source: ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t1")}}

	deliver := func(batches []workload.Batch) {
		for _, b := range batches {
			resp, err := h.Handle(ctx, kinesisEvent(b.Records))
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("batch at %d: %v %+v", b.First, err, resp)
			}
		}
	}
	deliver(w.Batches(100))
	compareTruth(t, totals(t, tbl, w, "t1"), w)

	t.Run("replayed twice", func(t *testing.T) {
		deliver(w.Batches(100))
		deliver(w.Batches(100))
		compareTruth(t, totals(t, tbl, w, "t1"), w)
	})
	t.Run("redelivered with other batch boundaries", func(t *testing.T) {
		deliver(w.Batches(37))
		deliver(w.Batches(1000))
		compareTruth(t, totals(t, tbl, w, "t1"), w)
	})
}

// throttling fails the writes of chosen functions with DynamoDB's throttling error.
type throttling struct {
	store.API
	mu       sync.Mutex
	function string // pk substring whose writes are throttled
	calls    int
}

func (f *throttling) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	fn := f.function
	f.mu.Unlock()
	if pk, ok := in.Item[store.PartitionKey].(*ddbtypes.AttributeValueMemberS); ok && fn != "" && bytes.Contains([]byte(pk.Value), []byte(fn)) {
		f.mu.Lock()
		f.calls++
		f.mu.Unlock()
		return nil, &ddbtypes.ProvisionedThroughputExceededException{Message: strPtr("throttled by test")}
	}
	return f.API.PutItem(ctx, in, opts...)
}

func strPtr(s string) *string { return &s }

// TestThrottledWriteRetriesOnlyFromFirstFailedRecord: a throttled item makes the
// handler report the first record that contributed to it; Lambda's retry from that
// record (with everything after it, some already applied) gives exact totals.
func TestThrottledWriteRetriesOnlyFromFirstFailedRecord(t *testing.T) {
	ctx := context.Background()
	w := smallWorkload(t)
	api := &throttling{API: ddb}
	tbl := store.New(api, newTable(t), store.Options{Logger: quiet, MaxAttempts: 1})
	p := ingest.NewPipeline(tbl, ingest.Config{Prices: cost.DefaultPrices, Functions: inventoryOf(w.Functions), Logger: quiet})
	h := &ingest.KinesisHandler{Pipeline: p, Source: ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t1")}}

	victim := w.Functions[3].Name
	retries := 0
	for _, b := range w.Batches(200) {
		recs := b.Records
		api.mu.Lock()
		api.function = "#" + victim
		api.mu.Unlock()
		resp, err := h.Handle(ctx, kinesisEvent(recs))
		if err != nil {
			t.Fatal(err)
		}
		api.mu.Lock()
		api.function = ""
		api.mu.Unlock()
		for len(resp.BatchItemFailures) > 0 {
			retries++
			from := slices.IndexFunc(recs, func(r logs.Record) bool { return r.ID == resp.BatchItemFailures[0].ItemIdentifier })
			if from < 0 {
				t.Fatalf("failure names unknown record %q", resp.BatchItemFailures[0].ItemIdentifier)
			}
			// Only the victim's records may be reported: every record before the
			// first one of the victim's must have been applied.
			for _, r := range recs[:from] {
				if bytes.Contains(inflate(t, r.Data), []byte("/"+victim+`"`)) {
					t.Fatalf("record %s of %s precedes the reported failure", r.ID, victim)
				}
			}
			recs = recs[from:]
			if resp, err = h.Handle(ctx, kinesisEvent(recs)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if retries == 0 || api.calls == 0 {
		t.Fatalf("the test throttled nothing (retries %d, throttled writes %d)", retries, api.calls)
	}
	compareTruth(t, totals(t, tbl, w, "t1"), w)
}

func inflate(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

const reportDoc = `{"messageType":"DATA_MESSAGE","owner":"%s","logGroup":"/aws/lambda/%s","logStream":"2026/03/04/[$LATEST]%s","subscriptionFilters":["sightline"],"logEvents":[` +
	`{"id":"%s1","timestamp":1772582400000,"message":"START RequestId: 6234bffe-149a-b642-81ff-2e8e376d8aff Version: $LATEST\n"},` +
	`{"id":"%s2","timestamp":1772582400050,"message":"REPORT RequestId: 6234bffe-149a-b642-81ff-2e8e376d8aff\tDuration: 46.84 ms\tBilled Duration: 47 ms\tMemory Size: 192 MB\tMax Memory Used: 72 MB\t\n"}]}`

func doc(owner, fn, stream string) []byte {
	return []byte(fmt.Sprintf(reportDoc, owner, fn, stream, stream, stream))
}

// TestBadRecordsAreCountedAndSkipped: a corrupt record, a gzip bomb, a document of
// another tenant's account and an unknown custom log group each cost only themselves.
func TestBadRecordsAreCountedAndSkipped(t *testing.T) {
	ctx := context.Background()
	tbl := store.New(ddb, newTable(t), store.Options{Logger: quiet})
	p := ingest.NewPipeline(tbl, ingest.Config{Prices: cost.DefaultPrices, Logger: quiet})
	integ := ingest.Integration{TenantID: "acme", Accounts: []string{"111111111111"}}

	bomb := gz(bytes.Repeat([]byte(" "), 64<<20))
	custom := bytes.Replace(doc("111111111111", "x", "s5"), []byte("/aws/lambda/x"), []byte("/custom/group"), 1)
	recs := []logs.Record{
		{ID: "0", Data: gz(doc("111111111111", "orders", "s0"))},
		{ID: "1", Data: []byte(`{"messageType":"DATA_MESSAGE","owner":"1111`)},
		{ID: "2", Data: gz(doc("222222222222", "intruder", "s2"))},
		{ID: "3", Data: bomb},
		{ID: "4", Data: doc("111111111111", "orders", "s4")},
		{ID: "5", Data: custom},
		{ID: "6", Data: gz([]byte(`{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1680683189085,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`))},
	}
	b := p.Process(ctx, ingest.Source{Region: "eu-west-1", Tenancy: integ}, recs)

	want := ingest.Stats{Records: 7, Documents: 5, ControlMessages: 1, LogEvents: 4, Invocations: 2,
		MalformedRecords: 1, OversizedRecords: 1, WrongTenantDocs: 1, UnknownLogGroups: 1, AggregateItems: 1}
	if b.Stats != want {
		t.Errorf("stats\n got %+v\nwant %+v", b.Stats, want)
	}
	kinds := map[string]error{"1": logs.ErrMalformed, "2": ingest.ErrWrongTenant, "3": logs.ErrTooLarge, "5": ingest.ErrUnknownLogGroup}
	fails := b.Failures()
	if len(fails) != len(kinds) {
		t.Fatalf("failures %v, want records %v", fails, kinds)
	}
	for _, f := range fails {
		if f.Transient || !errors.Is(f.Err, kinds[f.ID]) {
			t.Errorf("record %s: %v (transient %v), want permanent %v", f.ID, f.Err, f.Transient, kinds[f.ID])
		}
	}
	ms, err := tbl.Minutes(ctx, metrics.Function{Tenant: "acme", Account: "111111111111", Region: "eu-west-1", Name: "orders"}, 0, allTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Agg.Invocations != 2 {
		t.Fatalf("orders minutes %+v, want one minute with 2 invocations", ms)
	}
	intruder, err := tbl.Minutes(ctx, metrics.Function{Tenant: "acme", Account: "222222222222", Region: "eu-west-1", Name: "intruder"}, 0, allTime)
	if err != nil || len(intruder) != 0 {
		t.Fatalf("another tenant's account was stored: %v %v", intruder, err)
	}
}

type keys map[string]ingest.Integration

func (k keys) Authenticate(_ context.Context, key string) (ingest.Integration, error) {
	if i, ok := k[key]; ok {
		return i, nil
	}
	return ingest.Integration{}, ingest.ErrUnauthorized
}

type failingAuth struct{}

func (failingAuth) Authenticate(context.Context, string) (ingest.Integration, error) {
	return ingest.Integration{}, errors.New("dynamodb unavailable")
}

func firehoseBody(t *testing.T, docs ...[]byte) string {
	t.Helper()
	type rec struct {
		Data []byte `json:"data"`
	}
	body := struct {
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
		Records   []rec  `json:"records"`
	}{RequestID: "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", Timestamp: 1578090901599}
	for _, d := range docs {
		body.Records = append(body.Records, rec{Data: gz(d)})
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFirehoseReceiverAnswersAsTheSpecAsks checks the status codes and bodies of the
// Firehose HTTP endpoint receiver.
func TestFirehoseReceiverAnswersAsTheSpecAsks(t *testing.T) {
	ctx := context.Background()
	tbl := store.New(ddb, newTable(t), store.Options{Logger: quiet})
	p := ingest.NewPipeline(tbl, ingest.Config{Prices: cost.DefaultPrices, Logger: quiet})
	integ := ingest.Integration{TenantID: "acme", Accounts: []string{"111111111111"}}
	now := func() time.Time { return time.UnixMilli(1578090903599) }
	good := firehoseBody(t, doc("111111111111", "orders", "f1"))

	tests := map[string]struct {
		auth    ingest.Authenticator
		headers map[string]string
		body    string
		base64  bool
		status  int
		errMsg  bool
	}{
		"ok":               {keys{"k": integ}, map[string]string{"X-Amz-Firehose-Access-Key": "k"}, good, false, 200, false},
		"wrong key":        {keys{"k": integ}, map[string]string{"X-Amz-Firehose-Access-Key": "nope"}, good, false, 401, true},
		"missing key":      {keys{"k": integ}, map[string]string{}, good, false, 401, true},
		"malformed body":   {keys{"k": integ}, map[string]string{"X-Amz-Firehose-Access-Key": "k"}, `{"requestId":`, false, 400, true},
		"bad base64":       {keys{"k": integ}, map[string]string{"X-Amz-Firehose-Access-Key": "k"}, "!!!", true, 400, true},
		"too large":        {keys{"k": integ}, map[string]string{"X-Amz-Firehose-Access-Key": "k"}, good + string(bytes.Repeat([]byte(" "), 2<<20)), false, 413, true},
		"auth unavailable": {failingAuth{}, map[string]string{"X-Amz-Firehose-Access-Key": "k"}, good, false, 503, true},
		"no region":        {keys{"k": integ}, map[string]string{"X-Amz-Firehose-Access-Key": "k", "X-Amz-Firehose-Common-Attributes": `{"commonAttributes":{}}`}, good, false, 400, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := &ingest.FirehoseReceiver{Pipeline: p, Auth: tc.auth, MaxBody: 1 << 20, Now: now, Logger: quiet}
			headers := map[string]string{
				"x-amz-firehose-request-id":        "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
				"x-amz-firehose-common-attributes": `{"commonAttributes":{"region":"eu-west-1"}}`,
			}
			for k, v := range tc.headers {
				delete(headers, http_lower(k))
				headers[k] = v
			}
			resp, err := h.Handle(ctx, events.LambdaFunctionURLRequest{Headers: headers, Body: tc.body, IsBase64Encoded: tc.base64,
				RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, resp.Body)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("response body %q: %v", resp.Body, err)
			}
			if body["requestId"] != "ed4acda5-034f-9f42-bba1-f29aea6d7d8f" || body["timestamp"] != float64(1578090903599) {
				t.Errorf("response body %s lacks the request id and timestamp", resp.Body)
			}
			if _, has := body["errorMessage"]; has != tc.errMsg {
				t.Errorf("response body %s: errorMessage present %v, want %v", resp.Body, has, tc.errMsg)
			}
			if resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("content type %q", resp.Headers["Content-Type"])
			}
		})
	}
}

func http_lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// TestTransformDropsIngestedAndFailsBadRecords: the transformation answers Dropped
// for what it ingested and ProcessingFailed (with the data) for bad bytes.
func TestTransformDropsIngestedAndFailsBadRecords(t *testing.T) {
	ctx := context.Background()
	tbl := store.New(ddb, newTable(t), store.Options{Logger: quiet})
	p := ingest.NewPipeline(tbl, ingest.Config{Prices: cost.DefaultPrices, Logger: quiet})
	h := &ingest.TransformHandler{Pipeline: p, Source: ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t")}}
	ev := events.KinesisFirehoseEvent{InvocationID: "i", DeliveryStreamArn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/sightline",
		Records: []events.KinesisFirehoseEventRecord{
			{RecordID: "a", Data: gz(doc("123456789012", "orders", "t1"))},
			{RecordID: "b", Data: []byte("not json")},
		}}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Records) != 2 || resp.Records[0].Result != "Dropped" || resp.Records[1].Result != "ProcessingFailed" ||
		string(resp.Records[1].Data) != "not json" || resp.Records[0].RecordID != "a" || resp.Records[1].RecordID != "b" {
		t.Fatalf("response %+v", resp)
	}
}

// allTime is the largest minute the store's keys hold.
const allTime = metrics.Minute(9_999_999_999)
