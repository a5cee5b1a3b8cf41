package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sightline/sightline/shared/insights"
)

type fakeRunner struct{ got []time.Time }

func (f *fakeRunner) Run(_ context.Context, now time.Time) (insights.RunStats, error) {
	f.got = append(f.got, now)
	return insights.RunStats{WindowEnd: now.Truncate(5 * time.Minute)}, nil
}

// A real EventBridge scheduled event, fed through the runtime's own decoding.
const scheduled = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
"source":"aws.events","account":"123456789012","time":"2026-03-04T01:07:31Z","region":"us-east-1",
"resources":["arn:aws:events:us-east-1:123456789012:rule/sightline-insights"],"detail":{}}`

func TestHandlerUsesEventTime(t *testing.T) {
	tests := map[string]struct {
		payload string
		want    time.Time
		wantErr error
	}{
		"scheduled event": {scheduled, time.Date(2026, 3, 4, 1, 7, 31, 0, time.UTC), nil},
		"no time":         {`{"detail-type":"Scheduled Event","source":"aws.events"}`, time.Time{}, errNoTime},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fakeRunner{}
			out, err := lambda.NewHandler((&handler{eval: f}).handle).Invoke(context.Background(), []byte(tc.payload))
			if tc.wantErr != nil {
				if err == nil || !errors.Is(err, tc.wantErr) && err.Error() != tc.wantErr.Error() {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.got) != 1 || !f.got[0].Equal(tc.want) {
				t.Fatalf("ran at %v, want %v", f.got, tc.want)
			}
			if len(out) == 0 {
				t.Fatal("no output")
			}
		})
	}
}

func TestParseSettings(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want bool
	}{
		"minimal":          {map[string]string{"TABLE_NAME": "t", "ALERT_QUEUE_URL": "q"}, true},
		"tuned":            {map[string]string{"TABLE_NAME": "t", "ALERT_QUEUE_URL": "q", "INSIGHTS_CONCURRENCY": "32", "INSIGHTS_LAG": "1m"}, true},
		"no table":         {map[string]string{"ALERT_QUEUE_URL": "q"}, false},
		"bad concurrency":  {map[string]string{"TABLE_NAME": "t", "ALERT_QUEUE_URL": "q", "INSIGHTS_CONCURRENCY": "lots"}, false},
		"zero concurrency": {map[string]string{"TABLE_NAME": "t", "ALERT_QUEUE_URL": "q", "INSIGHTS_CONCURRENCY": "0"}, false},
		"bad lag":          {map[string]string{"TABLE_NAME": "t", "ALERT_QUEUE_URL": "q", "INSIGHTS_LAG": "2h"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseSettings(func(k string) string { return tc.env[k] })
			if (err == nil) != tc.want {
				t.Fatalf("parseSettings = %v, want ok=%v", err, tc.want)
			}
		})
	}
}
