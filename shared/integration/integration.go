// Package integration holds the lifecycle of a customer's AWS account integration:
// its record (ExternalId, hashed Firehose access key, role ARN, status), the
// CloudFormation quick-create link, the customer stack's custom resource reports,
// the Lambda inventory read through the customer role, and the cached Directory
// that ingest and insights use to resolve accounts, access keys and functions.
//
// Persistence follows the key layout of package store:
//
//	I#<id>          META                     the integration record
//	I#<id>          FN#<region>#<function>   one function: configuration, desired state, instrumentation state
//	ACCT#<account>  I                        which integration owns an account
//	T#<tenant>      I#<id>                   the tenant's integrations
//	SL#integrations I#<id>                   every integration (the periodic resync's list)
//	SL#admission    logs-destination         accounts admitted to the vendor's log destination (see Admission)
package integration

import (
	"errors"
	"log/slog"
	"strconv"
	"time"
)

// Status is an integration's lifecycle state.
type Status string

const (
	// StatusPending: created, the customer stack has not reported yet.
	StatusPending Status = "pending"
	// StatusActive: the customer stack reported its role; Sightline can act in the account.
	StatusActive Status = "active"
	// StatusRemoved: removed by the tenant or by deleting the customer stack.
	StatusRemoved Status = "removed"
)

// Errors callers branch on.
var (
	// ErrNotFound: no integration (or function) with that id.
	ErrNotFound = errors.New("integration: not found")
	// ErrUnauthorized: an access key that is malformed, unknown, wrong or belongs to a removed integration.
	ErrUnauthorized = errors.New("integration: unauthorized")
	// ErrUnknownAccount: no active integration owns the account.
	ErrUnknownAccount = errors.New("integration: unknown account")
	// ErrUnknownFunction: the inventory has no such function.
	ErrUnknownFunction = errors.New("integration: unknown function")
	// ErrAccountClaimed: another integration already owns the account.
	ErrAccountClaimed = errors.New("integration: account owned by another integration")
	// ErrExternalIDMismatch: a stack report whose ExternalId is not the integration's.
	ErrExternalIDMismatch = errors.New("integration: external id mismatch")
	// ErrRemoved: the integration was removed; it cannot be re-activated.
	ErrRemoved = errors.New("integration: removed")
	// ErrInvalid: a request that can never succeed (missing or malformed fields).
	ErrInvalid = errors.New("integration: invalid")
)

// Integration is one tenant's connection to one AWS account (the customer stack's role).
type Integration struct {
	ID     string `dynamodbav:"id" json:"id"`
	Tenant string `dynamodbav:"tenant" json:"tenant"`
	// Accounts the integration acts in: the account of the role the stack reported.
	Accounts []string `dynamodbav:"accounts,omitempty" json:"accounts,omitempty"`
	// ExternalID is the sts:ExternalId condition of the customer role. Confidential.
	ExternalID string `dynamodbav:"externalId" json:"-"`
	// AccessKeyHash is the hex SHA-256 of the access key's secret part; the key
	// itself is returned once, at creation.
	AccessKeyHash string `dynamodbav:"accessKeyHash" json:"-"`
	RoleARN       string `dynamodbav:"roleArn,omitempty" json:"roleArn,omitempty"`
	Status        Status `dynamodbav:"status" json:"status"`
	// Regions enabled for inventory and instrumentation (commercial regions only).
	Regions []string `dynamodbav:"regions,omitempty" json:"regions,omitempty"`
	// HomeRegion is where the customer stack runs (and its Firehose, if it created one).
	HomeRegion             string `dynamodbav:"homeRegion,omitempty" json:"homeRegion,omitempty"`
	FirehoseARN            string `dynamodbav:"firehoseArn,omitempty" json:"firehoseArn,omitempty"`
	StackID                string `dynamodbav:"stackId,omitempty" json:"stackId,omitempty"`
	StackVersion           string `dynamodbav:"stackVersion,omitempty" json:"stackVersion,omitempty"`
	InstrumentNewFunctions bool   `dynamodbav:"instrumentNewFunctions" json:"instrumentNewFunctions"`
	// OrgID is what the Sightline SDK reports as SIGHTLINE_ORG_ID.
	OrgID     string    `dynamodbav:"orgId,omitempty" json:"orgId,omitempty"`
	Error     string    `dynamodbav:"error,omitempty" json:"error,omitempty"`
	CreatedAt time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// LogValue logs the integration without its secrets or customer identifiers.
func (i *Integration) LogValue() slog.Value {
	if i == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("id", i.ID),
		slog.String("status", string(i.Status)),
		slog.Int("accounts", len(i.Accounts)),
		slog.Int("regions", len(i.Regions)),
	)
}

// Account is the integration's (first) account, "" before the stack reported.
func (i *Integration) Account() string {
	if len(i.Accounts) == 0 {
		return ""
	}
	return i.Accounts[0]
}

// Layer is a layer attached to a function.
type Layer struct {
	ARN      string `dynamodbav:"arn" json:"arn"`
	CodeSize int64  `dynamodbav:"codeSize" json:"codeSize"`
}

// FunctionConfig is a function's configuration as the inventory read it. It never
// holds environment variable values, only their names.
type FunctionConfig struct {
	IntegrationID  string    `dynamodbav:"integrationId" json:"integrationId"`
	Tenant         string    `dynamodbav:"tenant" json:"tenant"`
	Account        string    `dynamodbav:"account" json:"account"`
	Region         string    `dynamodbav:"region" json:"region"`
	Name           string    `dynamodbav:"name" json:"name"`
	ARN            string    `dynamodbav:"arn" json:"arn"`
	Runtime        string    `dynamodbav:"runtime,omitempty" json:"runtime,omitempty"`
	Architecture   string    `dynamodbav:"architecture" json:"architecture"`
	TimeoutSeconds int32     `dynamodbav:"timeoutSeconds" json:"timeoutSeconds"`
	MemoryMB       int32     `dynamodbav:"memoryMB" json:"memoryMB"`
	Layers         []Layer   `dynamodbav:"layers" json:"layers"`
	EnvNames       []string  `dynamodbav:"envNames" json:"envNames"`
	LogGroup       string    `dynamodbav:"logGroup" json:"logGroup"`
	CodeSize       int64     `dynamodbav:"codeSize" json:"codeSize"`
	PackageType    string    `dynamodbav:"packageType,omitempty" json:"packageType,omitempty"`
	SyncedAt       time.Time `dynamodbav:"syncedAt" json:"syncedAt"`
}

// SavedValue is the customer's own value of a variable Sightline sets, kept so that
// un-instrumenting restores it (Present false: the variable did not exist).
type SavedValue struct {
	Present bool   `dynamodbav:"present" json:"present"`
	Value   string `dynamodbav:"value,omitempty" json:"value,omitempty"`
}

// InstrumentState is what package instrument last did to the function. It lives on
// the inventory item; only package instrument writes it.
type InstrumentState struct {
	// Status: "" (never touched), "instrumented", "logs-only", "uninstrumented", "error".
	Status string `dynamodbav:"status,omitempty" json:"status,omitempty"`
	// Saved holds the customer's values of every variable Sightline set.
	Saved map[string]SavedValue `dynamodbav:"saved,omitempty" json:"-"`
	// Layer is the Sightline layer version ARN added.
	Layer string `dynamodbav:"layer,omitempty" json:"layer,omitempty"`
	// FilterLogGroup is the log group carrying Sightline's subscription filter.
	FilterLogGroup string `dynamodbav:"filterLogGroup,omitempty" json:"filterLogGroup,omitempty"`
	// ErrorCode and Error: the last failure, with the AWS error code and message.
	ErrorCode string `dynamodbav:"errorCode,omitempty" json:"errorCode,omitempty"`
	Error     string `dynamodbav:"error,omitempty" json:"error,omitempty"`
	// Warning: e.g. another AWS_LAMBDA_EXEC_WRAPPER was replaced.
	Warning   string    `dynamodbav:"warning,omitempty" json:"warning,omitempty"`
	Repairs   int       `dynamodbav:"repairs,omitempty" json:"repairs,omitempty"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Function is one inventory item: configuration, desired state and instrumentation state.
type Function struct {
	FunctionConfig
	// Instrument is the desired state (the "Instrument" toggle).
	Instrument bool            `dynamodbav:"instrument" json:"instrument"`
	State      InstrumentState `dynamodbav:"state" json:"state"`
}

// LogValue logs the function without customer identifiers beyond its region.
func (f *Function) LogValue() slog.Value {
	if f == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("integration", f.IntegrationID),
		slog.String("region", f.Region),
		slog.String("function", f.Name),
		slog.Bool("instrument", f.Instrument),
		slog.String("status", f.State.Status),
	)
}

func integrationPK(id string) string        { return "I#" + id }
func functionSK(region, name string) string { return "FN#" + region + "#" + name }
func accountPK(account string) string       { return "ACCT#" + account }
func tenantPK(tenant string) string         { return "T#" + tenant }

const (
	allPK       = "SL#integrations"
	metaSK      = "META"
	accountSK   = "I"
	functionPfx = "FN#"
)

func itoa(n int) string { return strconv.Itoa(n) }
