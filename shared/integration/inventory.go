package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// FunctionLister is the part of the Lambda API the inventory uses.
type FunctionLister interface {
	ListFunctions(ctx context.Context, in *lambda.ListFunctionsInput, opts ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error)
}

// Inventory lists an integration's functions through the customer role and stores them.
type Inventory struct {
	Store *Store
	// Lambda returns a Lambda client acting as the integration's role in region.
	Lambda func(ctx context.Context, in *Integration, region string) (FunctionLister, error)
	Now    func() time.Time
}

// SyncResult summarises one inventory run.
type SyncResult struct {
	Functions      int      `json:"functions"`
	Removed        int      `json:"removed"`
	Regions        []string `json:"regions"`
	SkippedRegions []string `json:"skippedRegions,omitempty"`
}

// Sync lists every function in every enabled region and stores its configuration;
// functions gone from a region that listed successfully are removed from the
// inventory. A region that is not enabled in the account (opt-in regions answer
// UnrecognizedClientException / InvalidClientTokenId) is skipped.
func (inv *Inventory) Sync(ctx context.Context, in *Integration) (SyncResult, error) {
	var res SyncResult
	if in.Status != StatusActive {
		return res, fmt.Errorf("sync integration %s in status %s: %w", in.ID, in.Status, ErrInvalid)
	}
	now := inv.now()
	existing, err := inv.Store.Functions(ctx, in.ID)
	if err != nil {
		return res, err
	}
	for _, region := range in.Regions {
		client, err := inv.Lambda(ctx, in, region)
		if err != nil {
			return res, fmt.Errorf("lambda client for %s: %w", region, err)
		}
		seen := map[string]bool{}
		p := lambda.NewListFunctionsPaginator(client, &lambda.ListFunctionsInput{})
		skipped := false
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				if RegionNotEnabled(err) {
					slog.InfoContext(ctx, "inventory: region not enabled in the account, skipped", "integration", in.ID, "region", region, "err", err)
					res.SkippedRegions = append(res.SkippedRegions, region)
					skipped = true
					break
				}
				return res, fmt.Errorf("list functions in %s: %w", region, err)
			}
			for i := range page.Functions {
				c := ConfigFromLambda(in, region, &page.Functions[i], now)
				if err := inv.Store.PutFunctionConfig(ctx, &c); err != nil {
					return res, err
				}
				seen[c.Name] = true
				res.Functions++
			}
		}
		if skipped {
			continue
		}
		res.Regions = append(res.Regions, region)
		for _, f := range existing {
			if f.Region == region && !seen[f.Name] {
				if err := inv.Store.DeleteFunction(ctx, in.ID, region, f.Name); err != nil {
					return res, err
				}
				res.Removed++
			}
		}
	}
	return res, nil
}

func (inv *Inventory) now() time.Time {
	if inv.Now != nil {
		return inv.Now().UTC()
	}
	return time.Now().UTC()
}

// RegionNotEnabled reports whether err is what AWS answers in a region the
// account has not opted in to.
func RegionNotEnabled(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired", "AuthFailure":
		return true
	}
	return false
}

// ConfigFromLambda converts Lambda's view of a function into the inventory's,
// keeping environment variable names only.
func ConfigFromLambda(in *Integration, region string, c *lambdatypes.FunctionConfiguration, now time.Time) FunctionConfig {
	name := aws.ToString(c.FunctionName)
	fc := FunctionConfig{
		IntegrationID:  in.ID,
		Tenant:         in.Tenant,
		Account:        accountOfARN(aws.ToString(c.FunctionArn)),
		Region:         region,
		Name:           name,
		ARN:            aws.ToString(c.FunctionArn),
		Runtime:        string(c.Runtime),
		Architecture:   "x86_64",
		TimeoutSeconds: aws.ToInt32(c.Timeout),
		MemoryMB:       aws.ToInt32(c.MemorySize),
		Layers:         []Layer{},
		EnvNames:       []string{},
		LogGroup:       "/aws/lambda/" + name,
		CodeSize:       c.CodeSize,
		PackageType:    string(c.PackageType),
		SyncedAt:       now,
	}
	if fc.Account == "" {
		fc.Account = in.Account()
	}
	if len(c.Architectures) > 0 {
		fc.Architecture = string(c.Architectures[0])
	}
	for _, l := range c.Layers {
		fc.Layers = append(fc.Layers, Layer{ARN: aws.ToString(l.Arn), CodeSize: l.CodeSize})
	}
	if c.Environment != nil {
		for k := range c.Environment.Variables {
			fc.EnvNames = append(fc.EnvNames, k)
		}
		sort.Strings(fc.EnvNames)
	}
	if c.LoggingConfig != nil && aws.ToString(c.LoggingConfig.LogGroup) != "" {
		fc.LogGroup = aws.ToString(c.LoggingConfig.LogGroup)
	}
	return fc
}

func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 || !isAccountID(parts[4]) {
		return ""
	}
	return parts[4]
}
