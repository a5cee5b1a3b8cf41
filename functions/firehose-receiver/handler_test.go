package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/ingest/ingesttest"
)

type oneKey struct{}

func (oneKey) Authenticate(_ context.Context, key string) (ingest.Integration, error) {
	if key != "i1.s3cret" {
		return ingest.Integration{}, ingest.ErrUnauthorized
	}
	return ingest.Integration{TenantID: "acme", Accounts: []string{"123456789012"}}, nil
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestFunctionURLRequestAsFirehoseSendsIt: a gzip'd Firehose delivery reaches the
// function URL base64-encoded, with lower-case headers; the answer is the spec's
// JSON with the request id, and the invocation is stored.
func TestFunctionURLRequestAsFirehoseSendsIt(t *testing.T) {
	doc := `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/echo","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1552518348220,"message":"REPORT RequestId: 6234bffe-149a-b642-81ff-2e8e376d8aff\tDuration: 46.84 ms\tBilled Duration: 47 ms\tMemory Size: 192 MB\tMax Memory Used: 72 MB\t\n"}]}`
	body, _ := json.Marshal(map[string]any{"requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", "timestamp": 1578090901599,
		"records": []map[string][]byte{{"data": gz([]byte(doc))}}})
	st := &ingesttest.Store{}
	p := ingest.NewPipeline(st, ingest.Config{Prices: cost.DefaultPrices})
	h := &handler{ingest: &ingest.FirehoseReceiver{Pipeline: p, Auth: oneKey{}}}
	for name, tc := range map[string]struct {
		key    string
		status int
		stored int64
	}{
		"right key": {"i1.s3cret", 200, 1},
		"wrong key": {"i1.nope", 401, 0},
	} {
		t.Run(name, func(t *testing.T) {
			before := st.Invocations()
			req := events.LambdaFunctionURLRequest{
				Version: "2.0",
				Headers: map[string]string{
					"content-encoding":                 "gzip",
					"content-type":                     "application/json",
					"x-amz-firehose-access-key":        tc.key,
					"x-amz-firehose-request-id":        "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
					"x-amz-firehose-common-attributes": `{"commonAttributes":{"region":"eu-west-1"}}`,
				},
				Body:            base64.StdEncoding.EncodeToString(gz(body)),
				IsBase64Encoded: true,
				RequestContext:  events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}},
			}
			payload, _ := json.Marshal(req)
			out, err := lambda.NewHandler(h.handle).Invoke(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			var answer struct {
				RequestID string `json:"requestId"`
				Timestamp int64  `json:"timestamp"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil || answer.RequestID != "ed4acda5-034f-9f42-bba1-f29aea6d7d8f" || answer.Timestamp == 0 {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if stored := st.Invocations() - before; resp.StatusCode != tc.status || stored != tc.stored {
				t.Fatalf("status %d, %d invocations stored; want %d, %d", resp.StatusCode, stored, tc.status, tc.stored)
			}
		})
	}
}
