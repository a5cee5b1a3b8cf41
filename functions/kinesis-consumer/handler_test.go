package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/ingest/ingesttest"
)

func invoke(t *testing.T, st *ingesttest.Store, payload []byte) events.KinesisEventResponse {
	t.Helper()
	p := ingest.NewPipeline(st, ingest.Config{Prices: cost.DefaultPrices})
	tenancy := ingest.TenantFunc(func(context.Context, string) (string, error) { return "t", nil })
	h := &handler{ingest: &ingest.KinesisHandler{Pipeline: p, Source: ingest.Source{Region: "us-east-1", Tenancy: tenancy}}}
	out, err := lambda.NewHandler(h.handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.KinesisEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp
}

// TestAWSSampleEventIsCountedNotRetried: AWS's sample event carries plain text, not
// CloudWatch Logs documents: its records are permanent failures, never retried.
func TestAWSSampleEventIsCountedNotRetried(t *testing.T) {
	payload, err := os.ReadFile("testdata/kinesis-event.json")
	if err != nil {
		t.Fatal(err)
	}
	if resp := invoke(t, &ingesttest.Store{}, payload); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("bad bytes were reported for retry: %+v", resp)
	}
}

// TestThrottledWriteNamesFirstRecord: the response names the first record whose
// data could not be stored, so Lambda retries from it.
func TestThrottledWriteNamesFirstRecord(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/echo","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1552518348220,"message":"REPORT RequestId: 6234bffe-149a-b642-81ff-2e8e376d8aff\tDuration: 46.84 ms\tBilled Duration: 47 ms\tMemory Size: 192 MB\tMax Memory Used: 72 MB\t\n"}]}`))
	zw.Close()
	ev := events.KinesisEvent{Records: []events.KinesisEventRecord{
		{Kinesis: events.KinesisRecord{SequenceNumber: "49590338271490256608559692538361571095921575989136588801", Data: []byte("not a document")}},
		{Kinesis: events.KinesisRecord{SequenceNumber: "49590338271490256608559692538361571095921575989136588802", Data: z.Bytes()}},
	}}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	resp := invoke(t, &ingesttest.Store{Throttled: true}, payload)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[1].Kinesis.SequenceNumber {
		t.Fatalf("response %+v, want the second record's sequence number", resp)
	}
}
