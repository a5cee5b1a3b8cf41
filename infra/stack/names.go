// Package stack declares Sightline's two CloudFormation stacks: SightlineVendor (the
// pipeline, in the vendor's account) and SightlineCustomer (the standalone
// quick-create template a customer launches to connect an account).
//
// Names that cross the account boundary are fixed here, because each stack must know
// them without looking the other one up: the customer template trusts the vendor's
// Lambda roles by name, and the vendor assumes the customer role by name.
package stack

import "github.com/sightline/sightline/shared/integration"

// Lambda function names: the directories under functions/ and the suffix of each
// deployed function's name.
const (
	FnKinesisConsumer   = "kinesis-consumer"
	FnFirehoseReceiver  = "firehose-receiver"
	FnFirehoseTransform = "firehose-transform"
	FnInsightsEvaluator = "insights-evaluator"
	FnNotifier          = "notifier"
	FnReinstrumenter    = "reinstrumenter"
	FnIntegrationAPI    = "integration-api"
	FnIntegrationEvents = "integration-events"
)

// Functions lists every Lambda function of the vendor stack.
func Functions() []string {
	return []string{FnKinesisConsumer, FnFirehoseReceiver, FnFirehoseTransform, FnInsightsEvaluator,
		FnNotifier, FnReinstrumenter, FnIntegrationAPI, FnIntegrationEvents}
}

// Names shared by the two stacks.
const (
	// CustomerRoleName is the cross-account role the customer stack creates
	// (CUSTOMER_ROLE_NAME of the reinstrumenter and the integration API).
	CustomerRoleName = "SightlineIntegrationRole"
	// VendorRolePrefix prefixes the vendor Lambda roles; the customer role trusts
	// VendorRolePrefix+FnReinstrumenter and VendorRolePrefix+FnIntegrationAPI.
	VendorRolePrefix = "sightline-"
	// EventBusName is the vendor bus receiving customers' Lambda CloudTrail events.
	EventBusName = "sightline-lambda-events"
	// IntegrationTopicName is the vendor SNS topic the customer stack's custom
	// resource reports to (its ServiceToken).
	IntegrationTopicName = "sightline-integration-events"
	// LogDestinationName is the vendor's CloudWatch Logs destination (Kinesis path).
	LogDestinationName = "sightline-logs"
	// ManagedPrefix prefixes every resource the vendor manages in a customer account
	// through the role (EventBridge rules, Firehose streams in other regions).
	ManagedPrefix = "sightline-"
	// NotifySecretPrefix is the Secrets Manager name prefix of notification channel
	// secrets; the notifier may read only these.
	NotifySecretPrefix = "sightline/notify/"
	// LayerArnsParameter is the SSM parameter (String, a JSON object) holding the
	// layer map; LAYER_ARNS of the reinstrumenter and the integration API.
	LayerArnsParameter = "/sightline/layer-arns"
	// NotifyParameterPrefix is the SSM name prefix of notification channel secrets
	// kept as SecureString parameters ("ssm:<name>" references).
	NotifyParameterPrefix = "/sightline/notify/"
	// TemplateKeyPrefix is where the customer template is uploaded in the template bucket.
	TemplateKeyPrefix = "customer/"
)

// Names in the customer account that package instrument uses by default (see
// instrument.Config): the customer stack creates these for the stack's region and
// instrument reuses them (IAM is global) when it sets up another region.
const (
	// CustomerLogsRoleName is passed to CloudWatch Logs by subscription filters.
	CustomerLogsRoleName = ManagedPrefix + "cwl-to-firehose"
	// CustomerFirehoseRoleName is the Firehose streams' role (access-key secret, backup bucket).
	CustomerFirehoseRoleName = ManagedPrefix + "firehose"
	// CustomerEventsRoleName lets the forwarding rules put events on the vendor bus.
	CustomerEventsRoleName = ManagedPrefix + "events-forwarder"
	// CustomerAccessKeySecret is the Secrets Manager secret holding the Firehose access key.
	CustomerAccessKeySecret = "sightline/firehose-access-key"
	// CustomerBackupBucketPrefix prefixes the per-region backup buckets instrument
	// creates: sightline-logs-backup-<account>-<region>.
	CustomerBackupBucketPrefix = ManagedPrefix + "logs-backup-"
	// CustomerForwardTargetID is the forwarding rule's target id (instrument's PutTargets
	// uses the same id, so it overwrites the stack's target instead of adding a second).
	CustomerForwardTargetID = "sightline"
)

// ResyncSchedule is the schedule of the integration API's inventory resync.
const ResyncSchedule = "rate(6 hours)"

// ResyncInput is the "sightline" field of the schedule's constant input
// ({"sightline":"resync-inventory"}), which the integration API dispatches on.
const ResyncInput = integration.ResyncInput

// VendorRoleName is the IAM role name of a vendor Lambda function.
func VendorRoleName(fn string) string { return VendorRolePrefix + fn }

// CustomerTrustedFunctions are the vendor functions whose roles may assume the
// customer role: the reinstrumenter (drift repair) and the integration API
// (instrument toggle, inventory sync).
func CustomerTrustedFunctions() []string { return []string{FnReinstrumenter, FnIntegrationAPI} }

// TemplateKey is the object key of a customer template version in the template bucket.
func TemplateKey(version string) string {
	return TemplateKeyPrefix + version + "/SightlineCustomer.template.json"
}

// LambdaCloudTrailEvents are the CloudTrail event names (lambda.amazonaws.com) that
// may undo instrumentation and trigger the re-instrumenter.
func LambdaCloudTrailEvents() []string {
	return []string{"UpdateFunctionConfiguration20150331v2", "UpdateFunctionCode20150331v2", "CreateFunction20150331"}
}
