package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sightline/sightline/shared/cost"
)

// Source says who delivered a batch: which tenant may send which owner accounts,
// and the region its log groups are in (a CloudWatch Logs destination and a
// customer's Firehose stream are both regional).
type Source struct {
	Region  string
	Tenancy Tenancy
}

// Tenancy decides the tenant of a document from its owner account.
type Tenancy interface {
	// Tenant returns the tenant that may send documents owned by account. An error
	// wrapping ErrWrongTenant rejects the document; any other error is transient.
	Tenant(ctx context.Context, account string) (string, error)
}

// Integration is the tenancy of an authenticated integration (the Firehose path:
// the access key identified it): one tenant, and only its accounts.
type Integration struct {
	TenantID string
	Accounts []string
}

// Tenant implements Tenancy.
func (i Integration) Tenant(_ context.Context, account string) (string, error) {
	if slices.Contains(i.Accounts, account) {
		return i.TenantID, nil
	}
	return "", fmt.Errorf("account %q is not one of the integration's accounts: %w", account, ErrWrongTenant)
}

// TenantFunc adapts a lookup (the Kinesis path: CloudWatch Logs writes the owner
// itself and the destination admits integrated accounts only, so the account's
// integration names the tenant) to Tenancy.
type TenantFunc func(ctx context.Context, account string) (string, error)

// Tenant implements Tenancy.
func (f TenantFunc) Tenant(ctx context.Context, account string) (string, error) {
	return f(ctx, account)
}

// FunctionInfo is what ingest needs to know about a function besides its logs.
type FunctionInfo struct {
	Name         string
	Architecture cost.Arch
}

// Functions looks functions up in the integration's inventory.
type Functions interface {
	// FunctionByLogGroup returns the function that logs to logGroup, if the
	// inventory knows it (custom log groups from LoggingConfig are only known there).
	FunctionByLogGroup(ctx context.Context, tenant, account, region, logGroup string) (FunctionInfo, bool, error)
}

// NoInventory knows no functions: every /aws/lambda/<name> log group maps to <name>
// on the default architecture, and custom log groups are unknown.
type NoInventory struct{}

// FunctionByLogGroup implements Functions.
func (NoInventory) FunctionByLogGroup(context.Context, string, string, string, string) (FunctionInfo, bool, error) {
	return FunctionInfo{}, false, nil
}

const lambdaLogGroupPrefix = "/aws/lambda/"

// functionFromLogGroup maps the default log group of a function to its name.
func functionFromLogGroup(group string) (string, bool) {
	name, ok := strings.CutPrefix(group, lambdaLogGroupPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}
