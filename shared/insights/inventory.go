package insights

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sightline/sightline/shared/integration"
	"github.com/sightline/sightline/shared/metrics"
)

// inventory is the part of the integration store the timeout lookup reads.
type inventory interface {
	IntegrationIDForAccount(ctx context.Context, account string) (string, error)
	GetFunction(ctx context.Context, id, region, name string) (*integration.Function, error)
}

// accountTTL is how long the account -> integration mapping is reused.
const accountTTL = 10 * time.Minute

// InventoryTimeouts returns a TimeoutFunc reading the configured timeout from the
// integration's inventory: one GetItem per function, plus one per account every
// accountTTL. An unknown account or function has no timeout (0).
func InventoryTimeouts(inv inventory) TimeoutFunc {
	type owner struct {
		id      string
		fetched time.Time
	}
	var mu sync.Mutex
	owners := map[string]owner{}
	return func(ctx context.Context, fn metrics.Function) (time.Duration, error) {
		mu.Lock()
		o, ok := owners[fn.Account]
		mu.Unlock()
		if !ok || time.Since(o.fetched) > accountTTL {
			id, err := inv.IntegrationIDForAccount(ctx, fn.Account)
			if errors.Is(err, integration.ErrUnknownAccount) || errors.Is(err, integration.ErrNotFound) {
				id, err = "", nil
			}
			if err != nil {
				return 0, err
			}
			o = owner{id: id, fetched: time.Now()}
			mu.Lock()
			owners[fn.Account] = o
			mu.Unlock()
		}
		if o.id == "" {
			return 0, nil
		}
		f, err := inv.GetFunction(ctx, o.id, fn.Region, fn.Name)
		if errors.Is(err, integration.ErrUnknownFunction) || errors.Is(err, integration.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if f.Tenant != "" && f.Tenant != fn.Tenant {
			return 0, nil // another tenant's inventory: never mix them
		}
		return time.Duration(f.TimeoutSeconds) * time.Second, nil
	}
}
