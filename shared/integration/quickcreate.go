package integration

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Parameters of the customer template (infra/stack declares them with these
// names) that a quick-create link fills. The template's other parameters have
// defaults the customer may change on the console page.
const (
	ParamExternalID    = "ExternalId"
	ParamAccessKey     = "FirehoseAccessKey"
	ParamIntegrationID = "IntegrationId"
)

// DefaultStackName is the stack name a quick-create link proposes.
const DefaultStackName = "Sightline-Integration"

// TemplateURLTTL is the lifetime of a presigned template URL. A URL presigned
// with temporary credentials (a Lambda's role) stops working when they expire,
// whatever its X-Amz-Expires says; an hour stays within what the function's
// credentials have left in practice, and it is what the link promises (see
// docs/deploy.md: the link is for immediate use; an expired link is replaced by
// requesting a new one).
const TemplateURLTTL = time.Hour

// IntegrationLink is the quick-create link of a newly created integration: its
// ExternalId, id and access key are the template parameters the link fills.
func IntegrationLink(region, templateURL string, c *Created) (string, error) {
	return QuickCreateURL(QuickCreateParams{
		Region: region, TemplateURL: templateURL, StackName: DefaultStackName,
		ExternalID: c.Integration.ExternalID, IntegrationID: c.Integration.ID,
		Parameters: map[string]string{ParamAccessKey: c.AccessKey},
	})
}

// QuickCreateParams describes a CloudFormation quick-create link.
type QuickCreateParams struct {
	// Region the customer stack is created in (its home region).
	Region string
	// TemplateURL: a presigned S3 URL (PresignedTemplateURL) or a public, versioned
	// object URL (PublicTemplateURL).
	TemplateURL string
	StackName   string
	// ExternalID and IntegrationID become param_ExternalId and param_IntegrationId.
	ExternalID    string
	IntegrationID string
	// Parameters are further template parameters (param_<name>), e.g. the SNS
	// topic ARN the custom resource reports to.
	Parameters map[string]string
}

var (
	stackNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	paramNameRe = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)
)

// QuickCreateURL builds
// https://<region>.console.aws.amazon.com/cloudformation/home?region=<region>#/stacks/quickcreate?templateURL=...&stackName=...&param_ExternalId=...
// Every value is percent-encoded as encodeURIComponent does (a space is %20, never
// '+'), since the console parses the fragment itself.
func QuickCreateURL(p QuickCreateParams) (string, error) {
	if !ValidRegion(p.Region) {
		return "", fmt.Errorf("quick-create region %q: %w", p.Region, ErrInvalid)
	}
	if !stackNameRe.MatchString(p.StackName) {
		return "", fmt.Errorf("quick-create stack name %q: %w", p.StackName, ErrInvalid)
	}
	tu, err := url.Parse(p.TemplateURL)
	if err != nil || tu.Scheme != "https" || tu.Host == "" {
		return "", fmt.Errorf("quick-create template URL must be https: %w", ErrInvalid)
	}
	if p.ExternalID == "" || p.IntegrationID == "" {
		return "", fmt.Errorf("quick-create needs ExternalId and IntegrationId: %w", ErrInvalid)
	}
	params := map[string]string{ParamExternalID: p.ExternalID, ParamIntegrationID: p.IntegrationID}
	for k, v := range p.Parameters {
		if !paramNameRe.MatchString(k) {
			return "", fmt.Errorf("quick-create parameter name %q: %w", k, ErrInvalid)
		}
		if _, dup := params[k]; dup {
			return "", fmt.Errorf("quick-create parameter %q set twice: %w", k, ErrInvalid)
		}
		params[k] = v
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)

	var b strings.Builder
	b.WriteString("https://")
	b.WriteString(p.Region)
	b.WriteString(".console.aws.amazon.com/cloudformation/home?region=")
	b.WriteString(p.Region)
	b.WriteString("#/stacks/quickcreate?templateURL=")
	b.WriteString(component(p.TemplateURL))
	b.WriteString("&stackName=")
	b.WriteString(component(p.StackName))
	for _, k := range names {
		b.WriteString("&param_")
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(component(params[k]))
	}
	return b.String(), nil
}

// component percent-encodes s like JavaScript's encodeURIComponent.
func component(s string) string {
	const keep = "-_.!~*'()"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Presigner is the part of the S3 presign client PresignedTemplateURL uses.
type Presigner interface {
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// PresignedTemplateURL presigns a GET of the template object for ttl (the link must
// work until the customer opens it; CloudFormation fetches it once).
func PresignedTemplateURL(ctx context.Context, p Presigner, bucket, key string, ttl time.Duration) (string, error) {
	req, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign template s3://%s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}

// PublicTemplateURL is the URL of a public object version:
// https://<bucket>.s3.<region>.amazonaws.com/<key>?versionId=<version>.
func PublicTemplateURL(bucket, region, key, versionID string) string {
	u := url.URL{Scheme: "https", Host: bucket + ".s3." + region + ".amazonaws.com", Path: "/" + key}
	if versionID != "" {
		u.RawQuery = url.Values{"versionId": {versionID}}.Encode()
	}
	return u.String()
}
