package instrument

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseEventGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 5 {
		t.Fatalf("fixtures: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(c, "", "  ")
			golden := filepath.Join("testdata", "golden", filepath.Base(f)+".golden")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(append(got, '\n')) != string(want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestParseEventRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"not json":        {`{`, ErrMalformedEvent},
		"other source":    {`{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","region":"us-east-1","detail":{"eventSource":"s3.amazonaws.com"}}`, ErrMalformedEvent},
		"other api call":  {`{"detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"111122223333","region":"us-east-1","detail":{"eventSource":"lambda.amazonaws.com","eventName":"DeleteFunction20150331","requestParameters":{"functionName":"f"}}}`, ErrUnsupportedEvent},
		"no account":      {`{"detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","region":"us-east-1","detail":{"eventSource":"lambda.amazonaws.com","eventName":"CreateFunction20150331","requestParameters":{"functionName":"f"}}}`, ErrMalformedEvent},
		"bad function":    {`{"detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"111122223333","region":"us-east-1","detail":{"eventSource":"lambda.amazonaws.com","eventName":"CreateFunction20150331","requestParameters":{"functionName":"a b"}}}`, ErrMalformedEvent},
		"scheduled event": {`{"detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","region":"us-east-1","detail":{}}`, ErrMalformedEvent},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseEvent([]byte(tc.in)); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFunctionName(t *testing.T) {
	for in, want := range map[string]string{
		"orders-api": "orders-api",
		"arn:aws:lambda:us-east-1:111122223333:function:orders-api":      "orders-api",
		"arn:aws:lambda:us-east-1:111122223333:function:orders-api:prod": "orders-api",
		"111122223333:function:orders-api":                               "orders-api",
	} {
		if got := functionName(in); got != want {
			t.Errorf("functionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"detail-type":"AWS API Call via CloudTrail"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseEvent(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedEvent) && !errors.Is(err, ErrUnsupportedEvent) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !accountRe.MatchString(c.Account) || !regionRe.MatchString(c.Region) {
			t.Fatalf("accepted without account/region: %+v", c)
		}
		if c.ErrorCode == "" && !functionRe.MatchString(c.Function) {
			t.Fatalf("accepted bad function %q", c.Function)
		}
	})
}
