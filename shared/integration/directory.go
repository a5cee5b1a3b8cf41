package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultDirectoryTTL is how long the Directory trusts what it read.
const DefaultDirectoryTTL = time.Minute

// Directory is the cached lookup ingest and insights use: access keys, account
// owners and the inventory. Entries (including misses) live for TTL.
type Directory struct {
	store *Store
	ttl   time.Duration
	now   func() time.Time

	mu           sync.Mutex
	integrations map[string]entry[*Integration]
	accounts     map[string]entry[string]
	functions    map[string]entry[[]*Function]
}

type entry[V any] struct {
	v       V
	err     error
	expires time.Time
}

// NewDirectory returns a Directory over store; now may be nil (time.Now).
func NewDirectory(store *Store, ttl time.Duration, now func() time.Time) *Directory {
	if ttl <= 0 {
		ttl = DefaultDirectoryTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Directory{store: store, ttl: ttl, now: now,
		integrations: map[string]entry[*Integration]{}, accounts: map[string]entry[string]{}, functions: map[string]entry[[]*Function]{}}
}

func cached[V any](d *Directory, m map[string]entry[V], k string, load func() (V, error)) (V, error) {
	now := d.now()
	d.mu.Lock()
	e, ok := m[k]
	d.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, e.err
	}
	v, err := load()
	// Cache values and domain misses, never transient failures.
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnknownAccount) {
		d.mu.Lock()
		m[k] = entry[V]{v: v, err: err, expires: now.Add(d.ttl)}
		d.mu.Unlock()
	}
	return v, err
}

func (d *Directory) integration(ctx context.Context, id string) (*Integration, error) {
	return cached(d, d.integrations, id, func() (*Integration, error) { return d.store.Get(ctx, id) })
}

// Authenticate resolves an access key "<integration id>.<secret>" to its active
// or pending integration. Any mismatch is ErrUnauthorized; the hash is compared
// in constant time.
func (d *Directory) Authenticate(ctx context.Context, accessKey string) (*Integration, error) {
	id, secret, ok := splitAccessKey(accessKey)
	if !ok {
		return nil, ErrUnauthorized
	}
	in, err := d.integration(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if !secretMatches(secret, in.AccessKeyHash) || in.Status == StatusRemoved {
		return nil, ErrUnauthorized
	}
	return in, nil
}

// ByAccount returns the active integration that owns account (ErrUnknownAccount).
func (d *Directory) ByAccount(ctx context.Context, account string) (*Integration, error) {
	id, err := cached(d, d.accounts, account, func() (string, error) { return d.store.IntegrationIDForAccount(ctx, account) })
	if err != nil {
		return nil, err
	}
	in, err := d.integration(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknownAccount
	}
	if err != nil {
		return nil, err
	}
	if in.Status != StatusActive {
		return nil, ErrUnknownAccount
	}
	return in, nil
}

func (d *Directory) inventory(ctx context.Context, id string) ([]*Function, error) {
	return cached(d, d.functions, id, func() ([]*Function, error) { return d.store.Functions(ctx, id) })
}

// FunctionByLogGroup maps a log group to its function: the inventory first (custom
// log groups from LoggingConfig), then the default "/aws/lambda/<name>".
func (d *Directory) FunctionByLogGroup(ctx context.Context, account, region, logGroup string) (string, bool, error) {
	in, err := d.ByAccount(ctx, account)
	if err != nil {
		return "", false, err
	}
	fns, err := d.inventory(ctx, in.ID)
	if err != nil {
		return "", false, err
	}
	for _, f := range fns {
		if f.Region == region && f.LogGroup == logGroup {
			return f.Name, true, nil
		}
	}
	if name, ok := strings.CutPrefix(logGroup, "/aws/lambda/"); ok && name != "" && !strings.Contains(name, "/") {
		return name, true, nil
	}
	return "", false, nil
}

// FunctionConfig returns a function's inventory entry (timeout, memory, runtime,
// architecture ...). ErrUnknownAccount if the account is not the tenant's,
// ErrUnknownFunction if the inventory does not have it.
func (d *Directory) FunctionConfig(ctx context.Context, tenant, account, region, name string) (*Function, error) {
	in, err := d.ByAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	if in.Tenant != tenant {
		return nil, ErrUnknownAccount
	}
	fns, err := d.inventory(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range fns {
		if f.Region == region && f.Name == name {
			c := *f
			return &c, nil
		}
	}
	return nil, fmt.Errorf("function %s/%s: %w", region, name, ErrUnknownFunction)
}
