package integration

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestQuickCreateURL(t *testing.T) {
	const prefix = "https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?"
	for name, tc := range map[string]struct {
		p       QuickCreateParams
		want    string
		wantErr bool
	}{
		"public versioned template": {
			p: QuickCreateParams{Region: "us-east-1", StackName: "Sightline-Integration", ExternalID: "abc_DEF-123", IntegrationID: "int1",
				TemplateURL: PublicTemplateURL("sightline-templates", "us-east-1", "integration/v3.yaml", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")},
			want: prefix + "templateURL=https%3A%2F%2Fsightline-templates.s3.us-east-1.amazonaws.com%2Fintegration%2Fv3.yaml%3FversionId%3D3HL4kqtJlcpXroDTDmJ%252BrmSpXd3dIbrHY" +
				"&stackName=Sightline-Integration&param_ExternalId=abc_DEF-123&param_IntegrationId=int1",
		},
		"extra parameters sorted, spaces as %20, reserved characters escaped": {
			p: QuickCreateParams{Region: "eu-west-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: "https://t.example/x.yaml",
				Parameters: map[string]string{"ZoneName": "a b&c=d#e", "ServiceToken": "arn:aws:sns:us-east-1:999999999999:sightline-integration-events"}},
			want: "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/quickcreate?templateURL=https%3A%2F%2Ft.example%2Fx.yaml&stackName=S" +
				"&param_ExternalId=e&param_IntegrationId=i&param_ServiceToken=arn%3Aaws%3Asns%3Aus-east-1%3A999999999999%3Asightline-integration-events&param_ZoneName=a%20b%26c%3Dd%23e",
		},
		"http template":       {p: QuickCreateParams{Region: "us-east-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: "http://t/x"}, wantErr: true},
		"govcloud region":     {p: QuickCreateParams{Region: "us-gov-west-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: "https://t/x"}, wantErr: true},
		"china region":        {p: QuickCreateParams{Region: "cn-north-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: "https://t/x"}, wantErr: true},
		"bad stack name":      {p: QuickCreateParams{Region: "us-east-1", StackName: "1 stack", ExternalID: "e", IntegrationID: "i", TemplateURL: "https://t/x"}, wantErr: true},
		"missing external id": {p: QuickCreateParams{Region: "us-east-1", StackName: "S", IntegrationID: "i", TemplateURL: "https://t/x"}, wantErr: true},
		"duplicate parameter": {p: QuickCreateParams{Region: "us-east-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: "https://t/x", Parameters: map[string]string{"ExternalId": "x"}}, wantErr: true},
		"bad parameter name":  {p: QuickCreateParams{Region: "us-east-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: "https://t/x", Parameters: map[string]string{"a&b": "x"}}, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := QuickCreateURL(tc.p)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			// The fragment's query decodes back to the inputs.
			_, frag, _ := strings.Cut(got, "#/stacks/quickcreate?")
			q, err := url.ParseQuery(frag)
			if err != nil {
				t.Fatal(err)
			}
			if q.Get("templateURL") != tc.p.TemplateURL || q.Get("param_ExternalId") != tc.p.ExternalID {
				t.Fatalf("round trip: %v", q)
			}
			for k, v := range tc.p.Parameters {
				if q.Get("param_"+k) != v {
					t.Fatalf("param %s = %q, want %q", k, q.Get("param_"+k), v)
				}
			}
		})
	}
}

func TestPresignedTemplateURLInQuickCreate(t *testing.T) {
	client := s3.New(s3.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	u, err := PresignedTemplateURL(context.Background(), s3.NewPresignClient(client), "sightline-templates", "integration/v3.yaml", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://sightline-templates.s3.us-east-1.amazonaws.com/integration/v3.yaml?") || !strings.Contains(u, "X-Amz-Expires=7200") {
		t.Fatalf("presigned URL %s", u)
	}
	link, err := QuickCreateURL(QuickCreateParams{Region: "us-east-1", StackName: "S", ExternalID: "e", IntegrationID: "i", TemplateURL: u})
	if err != nil {
		t.Fatal(err)
	}
	_, frag, _ := strings.Cut(link, "#/stacks/quickcreate?")
	q, _ := url.ParseQuery(frag)
	if q.Get("templateURL") != u {
		t.Fatal("presigned URL (with its signature) does not survive the encoding")
	}
	if strings.Count(frag, "&") != 3 {
		t.Fatalf("presigned URL's own '&' leaked into the fragment: %s", frag)
	}
	_ = aws.String
}

func TestSecrets(t *testing.T) {
	ext, err := newExternalID()
	if err != nil || len(ext) < 32 || strings.ContainsAny(ext, "+/=") {
		t.Fatalf("external id %q %v", ext, err)
	}
	ext2, _ := newExternalID()
	if ext == ext2 {
		t.Fatal("external ids repeat")
	}
	id, _ := newID()
	key, hash, err := newAccessKey(id)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		key string
		ok  bool
	}{
		"right key":     {key, true},
		"wrong secret":  {id + ".nope", false},
		"no separator":  {id, false},
		"empty secret":  {id + ".", false},
		"empty id":      {"." + strings.SplitN(key, ".", 2)[1], false},
		"key with hash": {"a#b.c", false},
	} {
		t.Run(name, func(t *testing.T) {
			gotID, secret, ok := splitAccessKey(tc.key)
			if ok && gotID == id && secretMatches(secret, hash) != tc.ok || !ok && tc.ok {
				t.Fatalf("key %q: ok=%v", tc.key, !tc.ok)
			}
		})
	}
	if secretMatches("x", "") {
		t.Fatal("empty stored hash matched")
	}
}
