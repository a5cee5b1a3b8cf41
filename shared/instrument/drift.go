package instrument

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sightline/sightline/shared/integration"
)

// Outcome is what drift repair did with one event.
type Outcome string

const (
	OutcomeIgnoredOwn      Outcome = "ignored-own-change"
	OutcomeIgnoredFailed   Outcome = "ignored-failed-call"
	OutcomeUnknownAccount  Outcome = "unknown-account"
	OutcomeNotInstrumented Outcome = "not-instrumented"
	OutcomeInSync          Outcome = "in-sync"
	OutcomeRepaired        Outcome = "repaired"
	OutcomeInstrumentedNew Outcome = "instrumented-new-function"
	OutcomeGone            Outcome = "function-gone"
	OutcomeFailed          Outcome = "failed"
	OutcomeMalformed       Outcome = "malformed"
)

// IsOwn reports whether the call was made by Sightline itself: the customer role
// (Config.RoleName, when set) with a "sightline-" session.
func (in *Instrumenter) IsOwn(c APICall) bool {
	if c.IdentityType != "AssumedRole" || !strings.HasPrefix(c.SessionName, integration.SessionPrefix) {
		return false
	}
	return in.Config.RoleName == "" || c.RoleName == in.Config.RoleName
}

// HandleAPICall repairs drift after a customer's Lambda API call: it reads the
// function's live configuration through the role, refreshes the inventory, and
// if the function should be instrumented restores what is missing — once: an
// already instrumented function is not updated again. A function created in an
// account whose integration instruments new functions is instrumented.
// The error is non-nil only for failures worth retrying the event for.
func (in *Instrumenter) HandleAPICall(ctx context.Context, c APICall) (Outcome, error) {
	in.init()
	if c.ErrorCode != "" {
		return OutcomeIgnoredFailed, nil
	}
	if in.IsOwn(c) {
		return OutcomeIgnoredOwn, nil
	}
	id, err := in.Store.IntegrationIDForAccount(ctx, c.Account)
	if errors.Is(err, integration.ErrUnknownAccount) {
		return OutcomeUnknownAccount, nil
	}
	if err != nil {
		return OutcomeFailed, err
	}
	integ, err := in.Store.Get(ctx, id)
	if errors.Is(err, integration.ErrNotFound) {
		return OutcomeUnknownAccount, nil
	}
	if err != nil {
		return OutcomeFailed, err
	}
	if integ.Status != integration.StatusActive || !regionEnabled(integ, c.Region) {
		return OutcomeUnknownAccount, nil
	}
	fn, err := in.Store.GetFunction(ctx, integ.ID, c.Region, c.Function)
	if errors.Is(err, integration.ErrUnknownFunction) {
		// Not in the inventory yet (a new function, or before the first sync).
		apis, cerr := in.Connect(ctx, integ, c.Region)
		if cerr != nil {
			return OutcomeFailed, fmt.Errorf("connect to %s: %w", c.Region, cerr)
		}
		out, gerr := apis.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(c.Function)})
		var nf *lambdatypes.ResourceNotFoundException
		if errors.As(gerr, &nf) {
			return OutcomeGone, nil
		}
		if gerr != nil {
			return OutcomeFailed, fmt.Errorf("get function %s: %w", c.Function, gerr)
		}
		fc := integration.ConfigFromLambda(integ, c.Region, out.Configuration, in.now())
		if err := in.Store.PutFunctionConfig(ctx, &fc); err != nil {
			return OutcomeFailed, err
		}
		if c.EventName != EventCreateFunction || !integ.InstrumentNewFunctions {
			return OutcomeNotInstrumented, nil
		}
		if err := in.Store.SetDesired(ctx, integ.ID, c.Region, c.Function, true); err != nil {
			return OutcomeFailed, err
		}
		if _, err := in.Apply(ctx, integ, c.Region, c.Function); err != nil {
			return in.failed(ctx, c, err)
		}
		return OutcomeInstrumentedNew, nil
	}
	if err != nil {
		return OutcomeFailed, err
	}
	if !fn.Instrument {
		return OutcomeNotInstrumented, nil
	}
	res, err := in.Apply(ctx, integ, c.Region, c.Function)
	if err != nil {
		return in.failed(ctx, c, err)
	}
	if !res.Updated {
		return OutcomeInSync, nil
	}
	in.countRepair(ctx, integ.ID, c.Region, c.Function)
	return OutcomeRepaired, nil
}

func (in *Instrumenter) failed(ctx context.Context, c APICall, err error) (Outcome, error) {
	var nf *lambdatypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return OutcomeGone, nil
	}
	slog.WarnContext(ctx, "drift repair failed", "call", c, "err", err)
	if IsTransient(err) {
		return OutcomeFailed, err
	}
	return OutcomeFailed, nil // recorded on the function; retrying the event cannot help
}

func (in *Instrumenter) countRepair(ctx context.Context, id, region, name string) {
	fn, err := in.Store.GetFunction(ctx, id, region, name)
	if err != nil {
		return
	}
	fn.State.Repairs++
	_ = in.Store.PutState(ctx, id, region, name, fn.State)
}

func regionEnabled(in *integration.Integration, region string) bool {
	for _, r := range in.Regions {
		if r == region {
			return true
		}
	}
	return false
}

// Counts tallies outcomes (the reinstrumenter logs them; the local demo reports them).
type Counts struct {
	mu sync.Mutex
	m  map[Outcome]int
}

// Add counts one outcome.
func (c *Counts) Add(o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[Outcome]int{}
	}
	c.m[o]++
}

// Get returns how often o happened.
func (c *Counts) Get(o Outcome) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[o]
}
