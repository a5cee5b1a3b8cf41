package instrument_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

// TestOtherRegionsAreRefusedWithARecordedError: the customer stack's access-key
// secret (which a Firehose stream must read) exists only in the home region, so
// instrumenting elsewhere records RegionNotSupported and touches nothing.
func TestOtherRegionsAreRefusedWithARecordedError(t *testing.T) {
	needEmulators(t)
	ctx := context.Background()
	h := newHarness(t, false)
	const other = "eu-central-1"
	fc := integration.FunctionConfig{IntegrationID: h.integ.ID, Tenant: h.integ.Tenant, Account: h.cust.account, Region: other,
		Name: "far-away", ARN: "arn:aws:lambda:" + other + ":" + h.cust.account + ":function:far-away", Runtime: "nodejs20.x",
		Architecture: "arm64", LogGroup: "/aws/lambda/far-away", SyncedAt: time.Now()}
	if err := h.store.PutFunctionConfig(ctx, &fc); err != nil {
		t.Fatal(err)
	}
	if err := h.store.SetDesired(ctx, h.integ.ID, other, fc.Name, true); err != nil {
		t.Fatal(err)
	}
	connected := false
	inst := &instrument.Instrumenter{Store: h.store, Config: h.inst.Config, Connect: func(context.Context, *integration.Integration, string) (*instrument.AccountAPIs, error) {
		connected = true
		return nil, errors.New("must not connect")
	}}
	_, err := inst.Apply(ctx, h.integ, other, fc.Name)
	var le *instrument.LimitError
	if !errors.As(err, &le) || le.Code != instrument.RegionNotSupported {
		t.Fatalf("err %v, want a RegionNotSupported LimitError", err)
	}
	if connected {
		t.Error("connected to the account although nothing may change")
	}
	fn, err := h.store.GetFunction(ctx, h.integ.ID, other, fc.Name)
	if err != nil {
		t.Fatal(err)
	}
	if fn.State.Status != "error" || fn.State.ErrorCode != instrument.RegionNotSupported || fn.State.Error == "" {
		t.Errorf("recorded state %+v", fn.State)
	}
	// Turning it off again works (nothing was ever instrumented there).
	if err := h.store.SetDesired(ctx, h.integ.ID, other, fc.Name, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.inst.Apply(ctx, h.integ, other, fc.Name); err != nil && errors.As(err, &le) && le.Code == instrument.RegionNotSupported {
		t.Errorf("un-instrumenting is refused too: %v", err)
	}
}
