package instrument

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/sightline/sightline/shared/integration"
)

// copyDescriptionPrefix starts the description of every access-key copy Sightline
// creates; Remove deletes a region's secret only when its description has it.
const copyDescriptionPrefix = "Sightline: copy of the Firehose access key"

func copyDescription(home string) string {
	return copyDescriptionPrefix + " of the Sightline integration stack's secret in " + home +
		", read by this region's sightline-logs stream. Created, refreshed and deleted by Sightline."
}

// copiesSecret reports whether region's stream reads a copy of the access key
// that Sightline makes: every region but the home one (an integration that
// reported no home region predates the copy and keeps the old behaviour).
func copiesSecret(integ *integration.Integration, region string) bool {
	return integ.HomeRegion != "" && region != integ.HomeRegion
}

// versionToken is the ClientRequestToken (the version id) of a copy holding
// value: equal values give equal tokens, so writing an unchanged key again
// creates no new version (Secrets Manager ignores a repeated token with the same
// value). It is a domain-separated SHA-256 of a 256-bit random key, which reveals
// nothing about the key.
func versionToken(value string) string {
	sum := sha256.Sum256([]byte("sightline firehose access key copy\x00" + value))
	return hex.EncodeToString(sum[:16])
}

// copyAccessKey reads the access-key secret in the integration's home region and
// writes it to the same-named secret in region (created on first use, a new
// version when the key changed) and returns that secret's full ARN (with the
// random suffix Secrets Manager adds), which the region's stream references. The
// value is held only in memory for the two calls: never logged, stored or
// returned.
func (in *Instrumenter) copyAccessKey(ctx context.Context, integ *integration.Integration, region string, apis *AccountAPIs) (string, error) {
	name := in.Config.AccessKeySecretName
	home, err := in.Connect(ctx, integ, integ.HomeRegion)
	if err != nil {
		return "", fmt.Errorf("connect to home region %s: %w", integ.HomeRegion, err)
	}
	var value string
	err = in.retry(ctx, func(ctx context.Context) error {
		out, err := home.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &name})
		if err != nil {
			return err
		}
		value = aws.ToString(out.SecretString)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read access key secret %s in %s: %w", name, integ.HomeRegion, err)
	}
	if value == "" {
		return "", fmt.Errorf("access key secret %s in %s has no string value: %w", name, integ.HomeRegion, errNoAccessKey)
	}
	token := versionToken(value)
	var arn string
	err = in.retry(ctx, func(ctx context.Context) error {
		out, err := apis.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:               &name,
			Description:        aws.String(copyDescription(integ.HomeRegion)),
			SecretString:       &value,
			ClientRequestToken: &token,
		})
		if err != nil {
			return err
		}
		arn = aws.ToString(out.ARN)
		return nil
	})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		// The copy exists with another key (CreateSecret with this token and
		// value is ignored when the copy already holds the key): the home key
		// was rotated, write it as the copy's new current version.
		err = in.retry(ctx, func(ctx context.Context) error {
			out, err := apis.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
				SecretId:           &name,
				SecretString:       &value,
				ClientRequestToken: &token,
			})
			if err != nil {
				return err
			}
			arn = aws.ToString(out.ARN)
			return nil
		})
	}
	if err != nil {
		return "", fmt.Errorf("copy access key secret %s to %s: %w", name, region, err)
	}
	if arn == "" {
		err = in.retry(ctx, func(ctx context.Context) error {
			out, err := apis.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
			if err != nil {
				return err
			}
			arn = aws.ToString(out.ARN)
			return nil
		})
		if err != nil || arn == "" {
			return "", fmt.Errorf("describe access key secret %s in %s: %w", name, region, errors.Join(err, errNoAccessKey))
		}
	}
	return arn, nil
}

// deleteAccessKeyCopy deletes region's copy of the access key, without a
// recovery window (the home secret is the source; a pending deletion would block
// a later integration from creating the copy again). A secret of that name
// without Sightline's description is the customer's and is left alone.
func (in *Instrumenter) deleteAccessKeyCopy(ctx context.Context, region string, apis *AccountAPIs) error {
	name := in.Config.AccessKeySecretName
	var desc *secretsmanager.DescribeSecretOutput
	err := in.retry(ctx, func(ctx context.Context) error {
		var err error
		desc, err = apis.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
		return err
	})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe access key secret %s in %s: %w", name, region, err)
	}
	if !strings.HasPrefix(aws.ToString(desc.Description), copyDescriptionPrefix) {
		return nil
	}
	err = in.retry(ctx, func(ctx context.Context) error {
		_, err := apis.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: desc.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
		return err
	})
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete access key secret %s in %s: %w", name, region, err)
	}
	return nil
}

var errNoAccessKey = errors.New("instrument: no access key")
