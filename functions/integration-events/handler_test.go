package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sightline/sightline/shared/integration"
)

type fakeReports struct {
	got []*integration.StackRequest
	err error
}

func (f *fakeReports) Handle(_ context.Context, r *integration.StackRequest) (integration.StackResponse, error) {
	f.got = append(f.got, r)
	return integration.StackResponse{Status: "SUCCESS"}, f.err
}

const request = `{"RequestType":"Create","ResponseURL":"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
"StackId":"arn:aws:cloudformation:us-east-1:111122223333:stack/Sightline-Integration/1","RequestId":"r1","LogicalResourceId":"SightlineReport",
"ResourceType":"Custom::SightlineIntegration","ResourceProperties":{"RoleArn":"arn:aws:iam::111122223333:role/SightlineIntegrationRole",
"ExternalId":"e","IntegrationId":"i","Region":"us-east-1","StackVersion":"3","FirehoseArn":""}}`

func snsEvent(t *testing.T, messages ...string) []byte {
	t.Helper()
	var ev events.SNSEvent
	for i, m := range messages {
		ev.Records = append(ev.Records, events.SNSEventRecord{EventSource: "aws:sns", SNS: events.SNSEntity{MessageID: string(rune('a' + i)), Message: m}})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandle(t *testing.T) {
	for name, tc := range map[string]struct {
		messages  []string
		err       error
		wantCalls int
		wantErr   bool
	}{
		"one request":          {[]string{request}, nil, 1, false},
		"malformed is dropped": {[]string{"not json", request}, nil, 1, false},
		"undelivered response": {[]string{request}, errors.New("HTTP 500"), 1, true},
		"no records":           {nil, nil, 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeReports{err: tc.err}
			h := &handler{reports: f}
			_, err := lambda.NewHandler(h.handle).Invoke(context.Background(), snsEvent(t, tc.messages...))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if len(f.got) != tc.wantCalls {
				t.Fatalf("%d calls", len(f.got))
			}
			if tc.wantCalls > 0 && f.got[0].ResourceProperties.StackVersion != "3" {
				t.Fatalf("request %+v", f.got[0])
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	full := map[string]string{"TABLE_NAME": "t", "EVENT_BUS_ARN": "arn:aws:events:us-east-1:999999999999:event-bus/sightline-lambda-events",
		"LOG_DESTINATION_ARN": "arn:aws:logs:us-east-1:999999999999:destination:sightline-logs"}
	for name, tc := range map[string]struct {
		change map[string]string
		ok     bool
	}{
		"complete":        {nil, true},
		"no table":        {map[string]string{"TABLE_NAME": ""}, false},
		"no bus":          {map[string]string{"EVENT_BUS_ARN": ""}, false},
		"no destination":  {map[string]string{"LOG_DESTINATION_ARN": ""}, false},
		"bus name only":   {map[string]string{"EVENT_BUS_ARN": "sightline-lambda-events"}, false},
		"bad destination": {map[string]string{"LOG_DESTINATION_ARN": "arn:aws:logs:us-east-1:999999999999:log-group:x"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			if _, err := parseConfig(func(k string) string { return env[k] }); (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
		})
	}
}
