package instrument

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/sightline/sightline/shared/integration"
)

// RemoveResult summarises an integration's removal.
type RemoveResult struct {
	Uninstrumented int `json:"uninstrumented"`
	Failed         int `json:"failed"`
}

// Remove un-instruments every function, deletes what Sightline created in each
// region (Firehose stream, forwarding rule, the copy of the access-key secret
// outside the home region; the backup bucket is left, it may hold undelivered
// records), and marks the integration removed. Failures to
// un-instrument single functions are recorded on them and counted; the
// integration is still marked removed so the customer can delete their stack.
func (in *Instrumenter) Remove(ctx context.Context, integ *integration.Integration) (RemoveResult, error) {
	in.init()
	var res RemoveResult
	if integ.Status == integration.StatusActive {
		fns, err := in.Store.Functions(ctx, integ.ID)
		if err != nil {
			return res, err
		}
		for _, f := range fns {
			if f.State.Status == "" {
				continue
			}
			if err := in.Store.SetDesired(ctx, integ.ID, f.Region, f.Name, false); err != nil {
				return res, err
			}
			if _, err := in.Apply(ctx, integ, f.Region, f.Name); err != nil {
				res.Failed++
				continue
			}
			res.Uninstrumented++
		}
		for _, region := range integ.Regions {
			if err := in.removeRegion(ctx, integ, region); err != nil {
				slog.WarnContext(ctx, "remove: region cleanup failed", "integration", integ, "region", region, "err", err)
			}
		}
	}
	if err := in.Store.MarkRemoved(ctx, integ.ID, in.now()); err != nil {
		return res, err
	}
	return res, nil
}

func (in *Instrumenter) removeRegion(ctx context.Context, integ *integration.Integration, region string) error {
	in.ready.Delete(integ.ID + "|" + region)
	apis, err := in.Connect(ctx, integ, region)
	if err != nil {
		return err
	}
	var errs []error
	if in.Config.EventBusARN != "" {
		if _, err := apis.Events.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(in.Config.RuleName), Ids: []string{"sightline"}}); err != nil && !ebNotFound(err) {
			errs = append(errs, fmt.Errorf("remove forwarding target: %w", err))
		}
		if _, err := apis.Events.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(in.Config.RuleName)}); err != nil && !ebNotFound(err) {
			errs = append(errs, fmt.Errorf("delete forwarding rule: %w", err))
		}
	}
	if !(region == integ.HomeRegion && integ.FirehoseARN != "") {
		_, err := apis.Firehose.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String(in.Config.StreamName)})
		var nf *fhtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete firehose: %w", err))
		}
	}
	if copiesSecret(integ, region) {
		if err := in.deleteAccessKeyCopy(ctx, region, apis); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func ebNotFound(err error) bool {
	var nf *ebtypes.ResourceNotFoundException
	return errors.As(err, &nf)
}
