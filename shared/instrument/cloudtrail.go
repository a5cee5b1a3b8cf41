package instrument

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// CloudTrail event names (Lambda suffixes its API version).
const (
	EventCreateFunction              = "CreateFunction20150331"
	EventUpdateFunctionConfiguration = "UpdateFunctionConfiguration20150331v2"
	EventUpdateFunctionCode          = "UpdateFunctionCode20150331v2"
	detailTypeAPICall                = "AWS API Call via CloudTrail"
)

// ErrMalformedEvent: bytes that are not an EventBridge-delivered CloudTrail event
// for a Lambda function. ErrUnsupportedEvent: a well-formed event drift repair
// does not handle (another API call).
var (
	ErrMalformedEvent   = errors.New("instrument: malformed CloudTrail event")
	ErrUnsupportedEvent = errors.New("instrument: unsupported CloudTrail event")
)

// APICall is what drift repair needs from a CloudTrail event.
type APICall struct {
	EventID   string
	EventName string
	EventTime time.Time
	Account   string
	Region    string
	// Function is the function's name (CloudTrail may carry a name, an ARN or a partial ARN).
	Function string
	// Caller: the identity type, the principal ARN, and for an assumed role the
	// role's name and the session name.
	IdentityType string
	CallerARN    string
	RoleName     string
	SessionName  string
	// ErrorCode is set when the call failed (nothing changed).
	ErrorCode string
}

// LogValue logs the call without the caller's ARN.
func (c APICall) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("eventId", c.EventID), slog.String("eventName", c.EventName),
		slog.String("region", c.Region), slog.String("function", c.Function),
		slog.String("identityType", c.IdentityType), slog.String("session", c.SessionName),
	)
}

type ctEnvelope struct {
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	Detail     ctDetail `json:"detail"`
}

type ctDetail struct {
	EventID      string `json:"eventID"`
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	EventTime    string `json:"eventTime"`
	AWSRegion    string `json:"awsRegion"`
	ErrorCode    string `json:"errorCode"`
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		Type           string `json:"type"`
		ARN            string `json:"arn"`
		SessionContext struct {
			SessionIssuer struct {
				Type     string `json:"type"`
				UserName string `json:"userName"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	RequestParameters struct {
		FunctionName string `json:"functionName"`
	} `json:"requestParameters"`
	ResponseElements struct {
		FunctionName string `json:"functionName"`
		FunctionArn  string `json:"functionArn"`
	} `json:"responseElements"`
}

var (
	accountRe  = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	functionRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ParseEvent decodes an EventBridge "AWS API Call via CloudTrail" event from
// aws.lambda. Events for other API calls are ErrUnsupportedEvent.
func ParseEvent(b []byte) (APICall, error) {
	var e ctEnvelope
	if err := json.Unmarshal(b, &e); err != nil {
		return APICall{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if e.DetailType != detailTypeAPICall || e.Source != "aws.lambda" || e.Detail.EventSource != "lambda.amazonaws.com" {
		return APICall{}, fmt.Errorf("%w: detail-type %q, source %q", ErrMalformedEvent, e.DetailType, e.Source)
	}
	d := e.Detail
	switch d.EventName {
	case EventCreateFunction, EventUpdateFunctionConfiguration, EventUpdateFunctionCode:
	default:
		return APICall{}, fmt.Errorf("%w: %q", ErrUnsupportedEvent, d.EventName)
	}
	c := APICall{EventID: d.EventID, EventName: d.EventName, Account: e.Account, Region: e.Region, ErrorCode: d.ErrorCode,
		IdentityType: d.UserIdentity.Type, CallerARN: d.UserIdentity.ARN}
	if c.Account == "" {
		c.Account = d.Recipient
	}
	if c.Region == "" {
		c.Region = d.AWSRegion
	}
	if !accountRe.MatchString(c.Account) || !regionRe.MatchString(c.Region) {
		return APICall{}, fmt.Errorf("%w: account or region missing", ErrMalformedEvent)
	}
	if t, err := time.Parse(time.RFC3339, d.EventTime); err == nil {
		c.EventTime = t
	}
	name := d.ResponseElements.FunctionName
	if name == "" {
		name = d.RequestParameters.FunctionName
	}
	if name == "" {
		name = d.ResponseElements.FunctionArn
	}
	c.Function = functionName(name)
	if !functionRe.MatchString(c.Function) {
		if c.ErrorCode != "" {
			return c, nil // a failed call may not name a valid function; it is ignored anyway
		}
		return APICall{}, fmt.Errorf("%w: function name %q", ErrMalformedEvent, name)
	}
	if c.IdentityType == "AssumedRole" {
		// arn:aws:sts::<account>:assumed-role/<role name>/<session name>
		if _, rest, ok := strings.Cut(c.CallerARN, ":assumed-role/"); ok {
			c.RoleName, c.SessionName, _ = strings.Cut(rest, "/")
		}
		if n := d.UserIdentity.SessionContext.SessionIssuer.UserName; n != "" {
			c.RoleName = n
		}
	}
	return c, nil
}

// functionName extracts the name from a name, an ARN
// (arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]) or a partial ARN
// (<account>:function:<name>).
func functionName(s string) string {
	if _, rest, ok := strings.Cut(s, "function:"); ok {
		name, _, _ := strings.Cut(rest, ":")
		return name
	}
	return s
}
