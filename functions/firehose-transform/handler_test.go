package main

import (
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

// TestAWSSampleEventAnsweredPerRecord: AWS's sample event carries plain text, not
// CloudWatch Logs documents; through the Lambda runtime's own decoding, every
// record comes back by its recordId as ProcessingFailed, with its data.
func TestAWSSampleEventAnsweredPerRecord(t *testing.T) {
	payload, err := os.ReadFile("testdata/kinesis-firehose-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var in events.KinesisFirehoseEvent
	if err := json.Unmarshal(payload, &in); err != nil {
		t.Fatal(err)
	}
	tenancy := ingest.TenantFunc(func(context.Context, string) (string, error) { return "t", nil })
	p := ingest.NewPipeline(&ingesttest.Store{}, ingest.Config{Prices: cost.DefaultPrices})
	h := &handler{ingest: &ingest.TransformHandler{Pipeline: p, Source: ingest.Source{Region: "us-east-1", Tenancy: tenancy}}}
	out, err := lambda.NewHandler(h.handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.KinesisFirehoseResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	if len(resp.Records) != len(in.Records) || len(in.Records) == 0 {
		t.Fatalf("%d response records for %d", len(resp.Records), len(in.Records))
	}
	for i, r := range resp.Records {
		if r.RecordID != in.Records[i].RecordID || r.Result != events.KinesisFirehoseTransformedStateProcessingFailed || string(r.Data) != string(in.Records[i].Data) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
}
