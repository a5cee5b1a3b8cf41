package stack

import (
	"strconv"

	"github.com/aws/jsii-runtime-go"
)

// MaxReceiverBodyBytes is the firehose-receiver's MAX_BODY_BYTES: the largest
// request body it reads. Firehose sends at most the stream's buffer size (the
// customer stack buffers 1 MiB, GZIP-compressed) per request.
const MaxReceiverBodyBytes = 4 << 20

// EnvironmentRefs are the values (CloudFormation tokens in the stack) the
// functions' environment variables are made of.
type EnvironmentRefs struct {
	Table         *string // the table name
	AlertQueueURL *string // the alert queue URL
	Region        *string // the stack's region
	DashboardURL  *string
	LayerParam    *string // name of the SSM parameter holding the layer map
	ReceiverURL   *string // the firehose-receiver function URL
	EventBusARN   *string // the bus receiving customers' CloudTrail events
	Destination   *string // the CloudWatch Logs destination ARN (Kinesis path)
	TemplateURL   *string // s3://bucket/key of the customer template (presigned per link)
	LambdaPrices  *string // cost.Parse syntax
}

// FunctionEnvironment is exactly the environment each function's run() parses
// (functions/<name>/main.go and config.go; shared/ingest.ParseSettings for the
// three ingest functions). The cold-start test in this package starts every
// function with this environment as synthesized.
func FunctionEnvironment(r EnvironmentRefs) map[string]map[string]*string {
	return map[string]map[string]*string{
		// ingest.ParseSettings(getenv, true): a CloudWatch Logs destination is
		// regional, so its customers' log groups are in this region.
		FnKinesisConsumer: {"TABLE_NAME": r.Table, "ALERT_QUEUE_URL": r.AlertQueueURL, "DELIVERY_REGION": r.Region,
			"LAMBDA_PRICES": r.LambdaPrices},
		// ingest.ParseSettings(getenv, false): the region comes from the request's
		// common attributes.
		FnFirehoseReceiver: {"TABLE_NAME": r.Table, "ALERT_QUEUE_URL": r.AlertQueueURL,
			"MAX_BODY_BYTES": jsii.String(strconv.Itoa(MaxReceiverBodyBytes)), "LAMBDA_PRICES": r.LambdaPrices},
		FnFirehoseTransform: {"TABLE_NAME": r.Table, "ALERT_QUEUE_URL": r.AlertQueueURL, "DELIVERY_REGION": r.Region,
			"LAMBDA_PRICES": r.LambdaPrices},
		FnInsightsEvaluator: {"TABLE_NAME": r.Table, "ALERT_QUEUE_URL": r.AlertQueueURL},
		FnNotifier:          {"TABLE_NAME": r.Table, "DASHBOARD_URL": r.DashboardURL},
		FnReinstrumenter: {"TABLE_NAME": r.Table, "CUSTOMER_ROLE_NAME": jsii.String(CustomerRoleName),
			"LAYER_ARNS": r.LayerParam, "RECEIVER_URL": r.ReceiverURL, "EVENT_BUS_ARN": r.EventBusARN},
		FnIntegrationAPI: {"TABLE_NAME": r.Table, "CUSTOMER_ROLE_NAME": jsii.String(CustomerRoleName),
			"LAYER_ARNS": r.LayerParam, "RECEIVER_URL": r.ReceiverURL, "EVENT_BUS_ARN": r.EventBusARN,
			"LOG_DESTINATION_ARN": r.Destination, "TEMPLATE_URL": r.TemplateURL, "STACK_REGION": r.Region},
		FnIntegrationEvents: {"TABLE_NAME": r.Table, "EVENT_BUS_ARN": r.EventBusARN, "LOG_DESTINATION_ARN": r.Destination},
	}
}

// TableActions are the DynamoDB actions a function's code calls on the table.
// TransactWriteItems has no IAM action of its own: it is authorized by the
// actions of its parts (its Put and Update items here).
//
//	ingest (3)          store read-modify-write (BatchGetItem, conditional PutItem),
//	                    activity index (PutItem), integration directory (GetItem,
//	                    Query), immediate alerts (transaction of two Puts, GetItem,
//	                    UpdateItem MarkQueued)
//	insights-evaluator  active functions and minute windows (Query), state (GetItem,
//	                    PutItem), alerts as above, inventory (GetItem)
//	notifier            channels (Query), delivery state (GetItem, UpdateItem)
//	reinstrumenter      account owner, integration, inventory item (GetItem),
//	                    PutFunctionConfig / SetDesired / PutState (UpdateItem)
//	integration-api     Put (transaction of Puts), Get, List / All / Functions
//	                    (Query), inventory, toggles, errors, access key reissue and
//	                    the admitted-account list (UpdateItem), DeleteFunction and
//	                    MarkRemoved's account release (DeleteItem)
//	integration-events  Get, Activate (transaction of Put + Update), MarkRemoved
//	                    (UpdateItem, DeleteItem), the admitted-account list
//	                    (UpdateItem, GetItem)
func TableActions(fn string) []string {
	const (
		batchGet = "dynamodb:BatchGetItem"
		get      = "dynamodb:GetItem"
		query    = "dynamodb:Query"
		put      = "dynamodb:PutItem"
		update   = "dynamodb:UpdateItem"
		del      = "dynamodb:DeleteItem"
	)
	switch fn {
	case FnKinesisConsumer, FnFirehoseReceiver, FnFirehoseTransform:
		return []string{batchGet, get, query, put, update}
	case FnInsightsEvaluator:
		return []string{get, query, put, update}
	case FnNotifier:
		return []string{get, query, update}
	case FnReinstrumenter:
		return []string{get, update}
	case FnIntegrationAPI:
		return []string{get, query, put, update, del}
	case FnIntegrationEvents:
		return []string{get, put, update, del}
	}
	return nil
}
