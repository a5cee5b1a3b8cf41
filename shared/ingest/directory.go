package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/integration"
)

// directory is the part of integration.Directory that ingest uses.
type directory interface {
	Authenticate(ctx context.Context, accessKey string) (*integration.Integration, error)
	ByAccount(ctx context.Context, account string) (*integration.Integration, error)
	FunctionByLogGroup(ctx context.Context, account, region, logGroup string) (string, bool, error)
	FunctionConfig(ctx context.Context, tenant, account, region, name string) (*integration.Function, error)
}

// Directory answers ingest's questions from the integrations and their inventory:
// which integration an access key authenticates (the Firehose path), which tenant
// an owner account belongs to (the Kinesis and transformation paths), and which
// function a log group belongs to.
type Directory struct {
	Integrations directory
}

// Authenticate implements Authenticator.
func (d Directory) Authenticate(ctx context.Context, accessKey string) (Integration, error) {
	in, err := d.Integrations.Authenticate(ctx, accessKey)
	switch {
	case errors.Is(err, integration.ErrUnauthorized):
		return Integration{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	case err != nil:
		return Integration{}, err
	}
	return Integration{TenantID: in.Tenant, Accounts: in.Accounts}, nil
}

// Tenant implements Tenancy.
func (d Directory) Tenant(ctx context.Context, account string) (string, error) {
	in, err := d.Integrations.ByAccount(ctx, account)
	switch {
	case errors.Is(err, integration.ErrUnknownAccount):
		return "", fmt.Errorf("account %q: %w", account, ErrWrongTenant)
	case err != nil:
		return "", err
	}
	return in.Tenant, nil
}

// FunctionByLogGroup implements Functions.
func (d Directory) FunctionByLogGroup(ctx context.Context, tenant, account, region, logGroup string) (FunctionInfo, bool, error) {
	name, ok, err := d.Integrations.FunctionByLogGroup(ctx, account, region, logGroup)
	if err != nil || !ok {
		return FunctionInfo{}, false, err
	}
	info := FunctionInfo{Name: name}
	f, err := d.Integrations.FunctionConfig(ctx, tenant, account, region, name)
	switch {
	case errors.Is(err, integration.ErrUnknownFunction), errors.Is(err, integration.ErrUnknownAccount):
		// Not in the inventory yet: priced on the default architecture.
	case err != nil:
		return FunctionInfo{}, false, err
	default:
		if arch, err := cost.ParseArch(f.Architecture); err == nil {
			info.Architecture = arch
		}
	}
	return info, true, nil
}
