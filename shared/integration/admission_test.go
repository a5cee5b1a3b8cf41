package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/sightline/sightline/shared/emulator"
)

const vendorAccount = "123456789012" // moto's default account

// vendorResources creates the vendor's bus and log destination in moto.
func vendorResources(t *testing.T) (*eventbridge.Client, *cloudwatchlogs.Client, string, string) {
	t.Helper()
	cfg := emulator.Config(testMoto(t), "us-east-1")
	ctx := context.Background()
	eb, cwl := eventbridge.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg)
	name := fmt.Sprintf("sightline-test-%d", len(t.Name()))
	bus, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := cwl.PutDestination(ctx, &cloudwatchlogs.PutDestinationInput{DestinationName: aws.String(name),
		RoleArn:   aws.String("arn:aws:iam::" + vendorAccount + ":role/dest"),
		TargetArn: aws.String("arn:aws:kinesis:us-east-1:" + vendorAccount + ":stream/logs")})
	if err != nil {
		t.Fatal(err)
	}
	return eb, cwl, aws.ToString(bus.EventBusArn), aws.ToString(dest.Destination.Arn)
}

// busStatements returns the Sids of the bus policy.
func busStatements(t *testing.T, eb *eventbridge.Client, name string) []string {
	t.Helper()
	out, err := eb.DescribeEventBus(context.Background(), &eventbridge.DescribeEventBusInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Policy) == "" {
		return nil
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Action    any
			Principal map[string]string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	var sids []string
	for _, s := range doc.Statement {
		if s.Action != "events:PutEvents" || !strings.Contains(s.Principal["AWS"], strings.TrimPrefix(s.Sid, "sightline-")) {
			t.Errorf("statement %+v", s)
		}
		sids = append(sids, s.Sid)
	}
	sort.Strings(sids)
	return sids
}

// destinationPrincipals returns the accounts the destination's access policy admits.
func destinationPrincipals(t *testing.T, cwl *cloudwatchlogs.Client, name, arn string) []string {
	t.Helper()
	out, err := cwl.DescribeDestinations(context.Background(), &cloudwatchlogs.DescribeDestinationsInput{DestinationNamePrefix: &name})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range out.Destinations {
		if aws.ToString(d.DestinationName) != name {
			continue
		}
		var doc struct {
			Statement []struct {
				Principal struct{ AWS []string }
				Action    string
				Resource  string
			}
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.AccessPolicy)), &doc); err != nil {
			t.Fatalf("access policy %q: %v", aws.ToString(d.AccessPolicy), err)
		}
		if len(doc.Statement) != 1 || doc.Statement[0].Action != "logs:PutSubscriptionFilter" || doc.Statement[0].Resource != arn {
			t.Fatalf("access policy %s", aws.ToString(d.AccessPolicy))
		}
		return doc.Statement[0].Principal.AWS
	}
	t.Fatalf("no destination %s", name)
	return nil
}

func TestAdmissionAgainstMoto(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	eb, cwl, busARN, destARN := vendorResources(t)
	adm, err := NewAdmission(eb, cwl, st, busARN, destARN)
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := adm.destination()
	bus, _ := adm.busName()
	// The table is shared by the package's tests: start from an empty list.
	for _, a := range mustAdmitted(t, adm) {
		if err := adm.Revoke(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	const a, b = "210000000001", "210000000002"
	steps := []struct {
		name      string
		op        func() error
		wantSids  []string
		wantDest  []string
		wantTable []string
	}{
		{"admit a", func() error { return adm.Admit(ctx, a) }, []string{"sightline-" + a}, []string{a}, []string{a}},
		{"admit a again (idempotent)", func() error { return adm.Admit(ctx, a) }, []string{"sightline-" + a}, []string{a}, []string{a}},
		{"admit b", func() error { return adm.Admit(ctx, b) }, []string{"sightline-" + a, "sightline-" + b}, []string{a, b}, []string{a, b}},
		{"revoke a", func() error { return adm.Revoke(ctx, a) }, []string{"sightline-" + b}, []string{b}, []string{b}},
		{"revoke a again (not admitted)", func() error { return adm.Revoke(ctx, a) }, []string{"sightline-" + b}, []string{b}, []string{b}},
		{"revoke b: only the owner remains", func() error { return adm.Revoke(ctx, b) }, nil, []string{vendorAccount}, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.op(); err != nil {
				t.Fatal(err)
			}
			if got := busStatements(t, eb, bus); !reflect.DeepEqual(got, s.wantSids) {
				t.Errorf("bus statements %v, want %v", got, s.wantSids)
			}
			if got := destinationPrincipals(t, cwl, name, destARN); !reflect.DeepEqual(got, s.wantDest) {
				t.Errorf("destination principals %v, want %v", got, s.wantDest)
			}
			if got := mustAdmitted(t, adm); !reflect.DeepEqual(got, s.wantTable) {
				t.Errorf("stored list %v, want %v", got, s.wantTable)
			}
		})
	}
	t.Run("concurrent admissions lose no account", func(t *testing.T) {
		var wg sync.WaitGroup
		var want []string
		errs := make(chan error, 8)
		for i := range 8 {
			acct := fmt.Sprintf("3100000000%02d", i)
			want = append(want, acct)
			wg.Add(1)
			go func() { defer wg.Done(); errs <- adm.Admit(ctx, acct) }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := destinationPrincipals(t, cwl, name, destARN); !reflect.DeepEqual(got, want) {
			t.Errorf("destination principals %v, want %v", got, want)
		}
		if got := busStatements(t, eb, bus); len(got) != len(want) {
			t.Errorf("bus statements %v", got)
		}
	})
}

func mustAdmitted(t *testing.T, adm *Admission) []string {
	t.Helper()
	l, err := adm.Admitted(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewAdmissionChecksARNs(t *testing.T) {
	const bus, dest = "arn:aws:events:eu-west-1:111122223333:event-bus/sightline-lambda-events", "arn:aws:logs:eu-west-1:111122223333:destination:sightline-logs"
	for name, tc := range map[string]struct {
		bus, dest string
		ok        bool
	}{
		"valid":               {bus, dest, true},
		"bus without name":    {"arn:aws:events:eu-west-1:111122223333:event-bus/", dest, false},
		"bus name, not ARN":   {"sightline-lambda-events", dest, false},
		"destination name":    {bus, "sightline-logs", false},
		"log group ARN":       {bus, "arn:aws:logs:eu-west-1:111122223333:log-group:x", false},
		"destination account": {bus, "arn:aws:logs:eu-west-1:1111:destination:sightline-logs", false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewAdmission(nil, nil, nil, tc.bus, tc.dest)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("err %v", err)
			}
		})
	}
	adm, _ := NewAdmission(nil, nil, nil, bus, dest)
	if err := adm.Admit(context.Background(), "not-an-account"); !errors.Is(err, ErrInvalid) {
		t.Errorf("admit of a malformed account: %v", err)
	}
}

func TestDestinationPolicySize(t *testing.T) {
	const arn = "arn:aws:logs:us-east-1:111122223333:destination:sightline-logs"
	var accounts []string
	for i := 0; ; i++ {
		accounts = append(accounts, fmt.Sprintf("%012d", 200000000000+i))
		if _, err := DestinationPolicy(arn, "111122223333", accounts); err != nil {
			if !errors.Is(err, ErrDestinationPolicyFull) {
				t.Fatal(err)
			}
			break
		}
	}
	// About 330 accounts fit in 5,120 bytes (documented in docs/deploy.md).
	if n := len(accounts) - 1; n < 300 || n > 400 {
		t.Errorf("%d accounts fit, want about 330", n)
	}
}
