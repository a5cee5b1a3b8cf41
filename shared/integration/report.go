package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Custom resource request types.
const (
	RequestCreate = "Create"
	RequestUpdate = "Update"
	RequestDelete = "Delete"
)

// StackProperties are the custom resource's ResourceProperties as the customer
// stack sends them.
type StackProperties struct {
	ServiceToken string `json:"ServiceToken"`
	RoleArn      string `json:"RoleArn"`
	// DeliveryStreamArn is the stack's Firehose stream (the customer template's
	// property name); FirehoseArn is accepted as an older spelling.
	DeliveryStreamArn string `json:"DeliveryStreamArn"`
	FirehoseArn       string `json:"FirehoseArn"`
	Region            string `json:"Region"`
	StackVersion      string `json:"StackVersion"`
	ExternalID        string `json:"ExternalId"`
	IntegrationID     string `json:"IntegrationId"`
	TrailCreated      string `json:"TrailCreated,omitempty"`
}

// StreamARN is the reported Firehose stream ARN.
func (p StackProperties) StreamARN() string {
	if p.DeliveryStreamArn != "" {
		return p.DeliveryStreamArn
	}
	return p.FirehoseArn
}

// StackRequest is a CloudFormation custom resource request (delivered through SNS).
type StackRequest struct {
	RequestType           string          `json:"RequestType"`
	ResponseURL           string          `json:"ResponseURL"`
	StackID               string          `json:"StackId"`
	RequestID             string          `json:"RequestId"`
	ResourceType          string          `json:"ResourceType"`
	LogicalResourceID     string          `json:"LogicalResourceId"`
	PhysicalResourceID    string          `json:"PhysicalResourceId,omitempty"`
	ResourceProperties    StackProperties `json:"ResourceProperties"`
	OldResourceProperties json.RawMessage `json:"OldResourceProperties,omitempty"`
}

// LogValue logs the request without its ExternalId or presigned URL.
func (r *StackRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("requestType", r.RequestType),
		slog.String("requestId", r.RequestID),
		slog.String("logicalResourceId", r.LogicalResourceID),
		slog.String("integration", r.ResourceProperties.IntegrationID),
	)
}

// ErrMalformedRequest: bytes that are not a custom resource request.
var ErrMalformedRequest = errors.New("integration: malformed custom resource request")

// ParseStackRequest decodes a custom resource request (the SNS message body).
func ParseStackRequest(b []byte) (*StackRequest, error) {
	var r StackRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
	}
	switch r.RequestType {
	case RequestCreate, RequestUpdate, RequestDelete:
	default:
		return nil, fmt.Errorf("%w: RequestType %q", ErrMalformedRequest, r.RequestType)
	}
	if r.ResponseURL == "" || r.StackID == "" || r.RequestID == "" || r.LogicalResourceID == "" {
		return nil, fmt.Errorf("%w: missing ResponseURL, StackId, RequestId or LogicalResourceId", ErrMalformedRequest)
	}
	return &r, nil
}

// StackResponse is the documented custom resource response body.
type StackResponse struct {
	Status             string `json:"Status"` // SUCCESS or FAILED
	Reason             string `json:"Reason,omitempty"`
	PhysicalResourceID string `json:"PhysicalResourceId"`
	StackID            string `json:"StackId"`
	RequestID          string `json:"RequestId"`
	LogicalResourceID  string `json:"LogicalResourceId"`
	NoEcho             bool   `json:"NoEcho,omitempty"`
}

// Doer sends HTTP requests (*http.Client).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Reporter applies the customer stack's reports to integrations.
type Reporter struct {
	Store *Store
	HTTP  Doer
	Now   func() time.Time
	// AllowHTTPResponseURL lets tests answer a loopback http server; in AWS the
	// ResponseURL must be an https presigned S3 URL.
	AllowHTTPResponseURL bool
	// Admission, when set, admits the account to the vendor bus and log
	// destination on Create/Update and revokes it on Delete. A failed admission
	// does not fail the customer's stack (log collection through its Firehose
	// works without it): it is recorded as the integration's error and retried by
	// the periodic resync.
	Admission AccountAdmission
}

// AccountAdmission admits accounts to the vendor's event bus and log destination
// (*Admission).
type AccountAdmission interface {
	Admit(ctx context.Context, account string) error
	Revoke(ctx context.Context, account string) error
}

// Handle applies one report and answers CloudFormation. Create and Update mark the
// integration active with the reported role; Delete marks it removed. A report
// whose ExternalId is not the integration's is rejected (FAILED, nothing changes);
// a Delete is answered SUCCESS regardless so that the customer can always delete
// their stack. The error is non-nil only when the response could not be delivered
// (the caller should retry the whole message).
func (r *Reporter) Handle(ctx context.Context, req *StackRequest) (StackResponse, error) {
	resp := StackResponse{
		Status: "SUCCESS", StackID: req.StackID, RequestID: req.RequestID, LogicalResourceID: req.LogicalResourceID,
		PhysicalResourceID: req.PhysicalResourceID,
	}
	if resp.PhysicalResourceID == "" {
		resp.PhysicalResourceID = "sightline-integration-" + sanitizeID(req.ResourceProperties.IntegrationID)
	}
	if err := r.apply(ctx, req); err != nil {
		slog.WarnContext(ctx, "customer stack report rejected", "request", req, "err", err)
		if req.RequestType != RequestDelete {
			resp.Status = "FAILED"
			resp.Reason = reason(err)
		}
	}
	if err := r.respond(ctx, req.ResponseURL, resp); err != nil {
		return resp, err
	}
	return resp, nil
}

func (r *Reporter) apply(ctx context.Context, req *StackRequest) error {
	p := req.ResourceProperties
	if p.IntegrationID == "" || p.ExternalID == "" {
		return fmt.Errorf("IntegrationId and ExternalId are required: %w", ErrInvalid)
	}
	in, err := r.Store.Get(ctx, p.IntegrationID)
	if err != nil {
		return err
	}
	if !externalIDMatches(p.ExternalID, in.ExternalID) {
		return ErrExternalIDMismatch
	}
	now := time.Now().UTC()
	if r.Now != nil {
		now = r.Now().UTC()
	}
	if req.RequestType == RequestDelete {
		if err := r.Store.MarkRemoved(ctx, in.ID, now); err != nil {
			return err
		}
		for _, a := range in.Accounts {
			if r.Admission == nil {
				break
			}
			if err := r.Admission.Revoke(ctx, a); err != nil {
				// The integration is removed either way; its account can no longer
				// resolve to an integration, so its events are dropped.
				slog.ErrorContext(ctx, "revoking the account of a removed integration failed", "integration", in.ID, "err", err)
			}
		}
		return nil
	}
	account, err := roleAccount(p.RoleArn)
	if err != nil {
		return err
	}
	if stackAccount := accountOfARN(req.StackID); stackAccount != account {
		return fmt.Errorf("the stack's account is not the role's account: %w", ErrInvalid)
	}
	home := p.Region
	if home != "" && !ValidRegion(home) {
		return fmt.Errorf("region %q: %w", home, ErrInvalid)
	}
	if _, err := r.Store.Activate(ctx, in.ID, account, p.RoleArn, home, p.StreamARN(), req.StackID, p.StackVersion, now); err != nil {
		return err
	}
	if r.Admission != nil {
		if err := r.Admission.Admit(ctx, account); err != nil {
			slog.ErrorContext(ctx, "account admission failed; the periodic resync retries it", "integration", in.ID, "err", err)
			if serr := r.Store.SetError(ctx, in.ID, "account admission failed (retried by the periodic resync): "+err.Error(), now); serr != nil {
				slog.ErrorContext(ctx, "recording the admission failure failed", "integration", in.ID, "err", serr)
			}
		}
	}
	return nil
}

// roleAccount returns the account of arn:aws:iam::<12 digits>:role/<name>.
func roleAccount(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") || !isAccountID(parts[4]) {
		return "", fmt.Errorf("RoleArn %q is not a commercial-partition IAM role ARN: %w", arn, ErrInvalid)
	}
	return parts[4], nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func sanitizeID(id string) string {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, " #/\"") {
		return "unknown"
	}
	return id
}

func reason(err error) string {
	switch {
	case errors.Is(err, ErrExternalIDMismatch):
		return "ExternalId does not match the integration"
	case errors.Is(err, ErrNotFound):
		return "unknown IntegrationId"
	case errors.Is(err, ErrRemoved):
		return "the integration was removed; create a new one"
	case errors.Is(err, ErrAccountClaimed):
		return "this AWS account already belongs to another Sightline integration"
	case errors.Is(err, ErrInvalid):
		return err.Error()
	default:
		return "Sightline could not record the integration; retry the stack operation"
	}
}

// respond PUTs the response to the presigned ResponseURL. The presigned URL was
// signed without a Content-Type, so none is sent.
func (r *Reporter) respond(ctx context.Context, responseURL string, resp StackResponse) error {
	u, err := url.Parse(responseURL)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || (r.AllowHTTPResponseURL && u.Scheme == "http")) {
		return fmt.Errorf("custom resource ResponseURL is not https: %w", ErrInvalid)
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("marshal custom resource response: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPut, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("custom resource response request: %w", err)
	}
	httpReq.ContentLength = int64(len(body))
	client := r.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(httpReq)
	if err != nil {
		return fmt.Errorf("send custom resource response: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("send custom resource response: HTTP %d", res.StatusCode)
	}
	return nil
}
