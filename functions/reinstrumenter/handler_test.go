package main

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sightline/sightline/shared/instrument"
)

type fakeRepairer struct {
	calls   []instrument.APICall
	outcome instrument.Outcome
	err     error
}

func (f *fakeRepairer) HandleAPICall(_ context.Context, c instrument.APICall) (instrument.Outcome, error) {
	f.calls = append(f.calls, c)
	return f.outcome, f.err
}

func TestHandle(t *testing.T) {
	valid, err := os.ReadFile("../../shared/instrument/testdata/update_function_configuration.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		payload   string
		outcome   instrument.Outcome
		repairErr error
		wantCalls int
		wantErr   bool
	}{
		"repaired":          {string(valid), instrument.OutcomeRepaired, nil, 1, false},
		"unknown account":   {string(valid), instrument.OutcomeUnknownAccount, nil, 1, false},
		"transient failure": {string(valid), instrument.OutcomeFailed, errors.New("throttled"), 1, true},
		"malformed":         {`{"detail-type":"AWS API Call via CloudTrail","source":"aws.lambda"}`, "", nil, 0, false},
		"not an object":     {`[1,2]`, "", nil, 0, false},
		"other api call": {`{"detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"111122223333","region":"us-east-1",
			"detail":{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunction20150331","requestParameters":{"functionName":"f"}}}`, "", nil, 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeRepairer{outcome: tc.outcome, err: tc.repairErr}
			h := &handler{inst: f}
			_, err := lambda.NewHandler(h.handle).Invoke(context.Background(), []byte(tc.payload))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if len(f.calls) != tc.wantCalls {
				t.Fatalf("%d calls, want %d", len(f.calls), tc.wantCalls)
			}
			if tc.wantCalls == 1 && f.calls[0].Function != "orders-api" {
				t.Fatalf("call %+v", f.calls[0])
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	full := map[string]string{"TABLE_NAME": "t", "CUSTOMER_ROLE_NAME": "SightlineIntegrationRole", "LAYER_ARNS": "/sightline/layers", "RECEIVER_URL": "https://r.example/x"}
	for name, tc := range map[string]struct {
		change map[string]string
		ok     bool
	}{
		"complete":         {nil, true},
		"no table":         {map[string]string{"TABLE_NAME": ""}, false},
		"http receiver":    {map[string]string{"RECEIVER_URL": "http://r"}, false},
		"bad bus":          {map[string]string{"EVENT_BUS_ARN": "bus"}, false},
		"bus":              {map[string]string{"EVENT_BUS_ARN": "arn:aws:events:us-east-1:999999999999:event-bus/sightline"}, true},
		"no layers source": {map[string]string{"LAYER_ARNS": ""}, false},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			_, err := parseConfig(func(k string) string { return env[k] })
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
		})
	}
}
