package stack

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sightline/sightline/shared/store"
)

// VendorProps configures NewVendorStack.
type VendorProps struct {
	awscdk.StackProps
	Config Config
	// LambdaCode returns the deployment package of a function (a directory holding
	// its bootstrap binary). The app passes the freshly built binaries; tests pass a
	// stub directory.
	LambdaCode func(name string) awslambda.Code
}

// Vendor is the synthesized vendor stack with the constructs tests and the app refer to.
type Vendor struct {
	awscdk.Stack
	Table       awsdynamodb.Table
	Stream      awskinesis.Stream
	AlertQueue  awssqs.Queue
	AlertDLQ    awssqs.Queue
	Failures    awssqs.Queue
	Bus         awsevents.EventBus
	Topic       awssns.Topic
	Templates   awss3.Bucket
	Functions   map[string]awslambda.Function
	ReceiverURL awslambda.FunctionUrl
}

// ErrNoLambdaCode is returned when VendorProps.LambdaCode is nil.
var ErrNoLambdaCode = errors.New("vendor stack: LambdaCode is required")

// Function timeouts, seconds.
var timeouts = map[string]float64{
	FnKinesisConsumer:   60,
	FnFirehoseReceiver:  30,
	FnFirehoseTransform: 120,
	FnInsightsEvaluator: 240,
	FnNotifier:          60,
	FnReinstrumenter:    60,
	// The API answers in seconds; the scheduled resync of every integration uses
	// the rest (integration.Resync stops 30 s before the deadline).
	FnIntegrationAPI:    300,
	FnIntegrationEvents: 30,
}

// NewVendorStack declares the Sightline pipeline: the table, the two log paths in
// (Kinesis + CloudWatch Logs destination, Firehose HTTP endpoint), the scheduled
// insights evaluator, the alert queue and notifier, the CloudTrail event bus and
// re-instrumenter, the integration endpoint, and the alarms on all of it.
func NewVendorStack(scope constructs.Construct, id string, props *VendorProps) (*Vendor, error) {
	if props == nil || props.LambdaCode == nil {
		return nil, ErrNoLambdaCode
	}
	cfg := props.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vendor stack: %w", err)
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("Sightline: monitoring, alerts and auto-instrumentation for AWS Lambda (vendor side)")
	}
	st := awscdk.NewStack(scope, jsii.String(id), &sp)
	// Server access logging through a bucket policy, not the deprecated
	// log-delivery ACL (set here so the stack does not depend on cdk.json flags).
	st.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
	v := &Vendor{Stack: st, Functions: map[string]awslambda.Function{}}
	retention := retentions[cfg.LogRetentionDays]

	// --- storage ---------------------------------------------------------------
	def := store.MainTable
	v.Table = awsdynamodb.NewTable(st, jsii.String(def.ID), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(def.PartitionKey.Name), Type: attrType(def.PartitionKey.Type)},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(def.SortKey.Name), Type: attrType(def.SortKey.Type)},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(true),
		TimeToLiveAttribute: jsii.String(def.TTLAttribute),
		// AWS owned key: no key fee and no KMS request charges on the ingest hot
		// path; nothing outside this account reads the table. See docs/deploy.md.
		Encryption:    awsdynamodb.TableEncryption_DEFAULT,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// --- queues ----------------------------------------------------------------
	v.AlertDLQ = awssqs.NewQueue(st, jsii.String("AlertDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	v.AlertQueue = awssqs.NewQueue(st, jsii.String("AlertQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * timeouts[FnNotifier])),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: v.AlertDLQ, MaxReceiveCount: jsii.Number(5)},
	})
	// Failures receives what the pipeline could not process: the Kinesis event
	// source mapping's on-failure records and the EventBridge targets' dead letters.
	v.Failures = awssqs.NewQueue(st, jsii.String("PipelineFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(v.Failures, false, "AwsSolutions-SQS3",
		"This queue is itself the dead-letter destination: the Kinesis event source mapping's on-failure destination and the EventBridge targets' DLQ. Nothing consumes it automatically, so a redrive DLQ behind it would never receive messages; the DLQ-not-empty alarm watches it.")

	// --- functions -------------------------------------------------------------
	layerParam := awsssm.NewStringParameter(st, jsii.String("LayerArns"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(LayerArnsParameter),
		StringValue:   jsii.String(cfg.LayersJSON()),
		Description:   jsii.String("Sightline instrumentation layers: JSON object \"<nodejs|python>/<x86_64|arm64>\" -> layer version ARN"),
	})
	for _, name := range Functions() {
		v.Functions[name] = newFunction(st, name, cfg, retention, props.LambdaCode(name))
	}
	fn := v.Functions
	for _, name := range []string{FnKinesisConsumer, FnFirehoseReceiver, FnFirehoseTransform, FnInsightsEvaluator} {
		v.AlertQueue.GrantSendMessages(fn[name])
	}

	// --- log path 1: Kinesis + CloudWatch Logs destination ---------------------
	v.Stream = awskinesis.NewStream(st, jsii.String("LogStream"), &awskinesis.StreamProps{
		StreamMode:      awskinesis.StreamMode_PROVISIONED,
		ShardCount:      jsii.Number(float64(cfg.KinesisShards)),
		Encryption:      awskinesis.StreamEncryption_MANAGED,
		RetentionPeriod: awscdk.Duration_Hours(jsii.Number(24)),
	})
	destRole := awsiam.NewRole(st, jsii.String("LogDestinationRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("logs.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringLike": map[string]interface{}{"aws:SourceArn": destinationSourceArns(st, cfg)},
			},
		}),
		Description: jsii.String("CloudWatch Logs puts subscribed customer log events into the Sightline stream"),
	})
	v.Stream.GrantWrite(destRole)
	dest := awslogs.NewCrossAccountDestination(st, jsii.String("LogDestination"), &awslogs.CrossAccountDestinationProps{
		DestinationName: jsii.String(LogDestinationName),
		Role:            destRole,
		TargetArn:       v.Stream.StreamArn(),
	})
	if len(cfg.CustomerAccounts) == 0 {
		// No static list: CloudFormation must not write an empty policy; the
		// integration functions write it as accounts are admitted
		// (integration.Admission, "Admitting customer accounts" in docs/deploy.md).
		dest.Node().DefaultChild().(awscdk.CfnResource).AddPropertyDeletionOverride(jsii.String("DestinationPolicy"))
	} else {
		dest.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("IntegratedAccounts"),
			Principals: &[]awsiam.IPrincipal{accountPrincipals(cfg.CustomerAccounts)},
			Actions:    jsii.Strings("logs:PutSubscriptionFilter"),
			Resources:  jsii.Strings(destinationArn(st)),
		}))
	}
	fn[FnKinesisConsumer].AddEventSource(awslambdaeventsources.NewKinesisEventSource(v.Stream, &awslambdaeventsources.KinesisEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(100),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
		ReportBatchItemFailures: jsii.Bool(true),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(5),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(6)),
		ParallelizationFactor:   jsii.Number(1),
		OnFailure:               awslambdaeventsources.NewSqsDlq(v.Failures),
	}))

	// --- log path 2: Firehose HTTP endpoint ------------------------------------
	// Firehose cannot sign requests: the receiver authenticates each request by its
	// X-Amz-Firehose-Access-Key against the hashed key of the integration.
	v.ReceiverURL = fn[FnFirehoseReceiver].AddFunctionUrl(&awslambda.FunctionUrlOptions{
		AuthType: awslambda.FunctionUrlAuthType_NONE,
	})

	// --- insights, alerts, notifier --------------------------------------------
	schedule := awsevents.NewRule(st, jsii.String("EvaluateSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Run the Sightline insights evaluator every 5 minutes"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(5))),
	})
	schedule.AddTarget(awseventstargets.NewLambdaFunction(fn[FnInsightsEvaluator], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: v.Failures,
		RetryAttempts:   jsii.Number(1),
		MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(5)),
	}))
	fn[FnNotifier].AddEventSource(awslambdaeventsources.NewSqsEventSource(v.AlertQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	notifySecrets := fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s*", *st.Partition(), *st.Region(), *st.Account(), NotifySecretPrefix)
	fn[FnNotifier].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadNotificationSecrets"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(notifySecrets),
	}))
	notifyTopics := fmt.Sprintf("arn:%s:sns:%s:%s:%snotify-*", *st.Partition(), *st.Region(), *st.Account(), ManagedPrefix)
	fn[FnNotifier].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishNotificationTopics"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: jsii.Strings(notifyTopics),
	}))
	sesIdentities := fmt.Sprintf("arn:%s:ses:%s:%s:identity/*", *st.Partition(), *st.Region(), *st.Account())
	fn[FnNotifier].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("SendNotificationEmail"),
		Actions:   jsii.Strings("ses:SendEmail"),
		Resources: jsii.Strings(sesIdentities),
	}))
	// Channel secrets may also be SSM SecureString parameters ("ssm:<name>"
	// references); the aws/ssm key's policy already admits SSM callers of this account.
	notifyParams := fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s*", *st.Partition(), *st.Region(), *st.Account(),
		strings.TrimPrefix(NotifyParameterPrefix, "/"))
	fn[FnNotifier].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadNotificationParameters"),
		Actions:   jsii.Strings("ssm:GetParameter"),
		Resources: jsii.Strings(notifyParams),
	}))
	suppress(fn[FnNotifier].Role(), true, "AwsSolutions-IAM5",
		"Scoped to name prefixes in this account and region: channel secrets are created by operators under sightline/notify/ in Secrets Manager (which appends a random suffix, so an exact ARN is impossible) or as SecureString parameters under /sightline/notify/, SNS channel topics are named sightline-notify-*, and SES sending identities are verified by the operator after deploy. Only GetSecretValue, ssm:GetParameter, sns:Publish and ses:SendEmail are granted.",
		"Resource::"+nagForm(st, notifySecrets), "Resource::"+nagForm(st, notifyParams), "Resource::"+nagForm(st, notifyTopics), "Resource::"+nagForm(st, sesIdentities))

	// --- CloudTrail bus and re-instrumenter ------------------------------------
	v.Bus = awsevents.NewEventBus(st, jsii.String("LambdaEventsBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(EventBusName),
		Description:  jsii.String("Customers' Lambda CloudTrail events (configuration and code changes)"),
	})
	for _, acct := range cfg.CustomerAccounts {
		v.Bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("customer-" + acct),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountPrincipal(jsii.String(acct))},
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  jsii.Strings(*v.Bus.EventBusArn()),
		}))
	}
	rule := awsevents.NewRule(st, jsii.String("LambdaChangesRule"), &awsevents.RuleProps{
		EventBus:     v.Bus,
		Description:  jsii.String("Lambda changes that may undo Sightline instrumentation"),
		EventPattern: LambdaChangesPattern(),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn[FnReinstrumenter], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: v.Failures,
		RetryAttempts:   jsii.Number(4),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
	}))
	// Account admission (integration.Admission): the stack's report admits the
	// account (integration-events); removal revokes it and the resync re-admits
	// active accounts (integration-api). Exactly the two writes, on exactly the bus
	// and the destination.
	for _, name := range []string{FnIntegrationEvents, FnIntegrationAPI} {
		fn[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AdmitAccountsToBus"),
			Actions:   jsii.Strings("events:PutPermission", "events:RemovePermission"),
			Resources: jsii.Strings(*v.Bus.EventBusArn()),
		}))
		fn[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AdmitAccountsToLogDestination"),
			Actions:   jsii.Strings("logs:PutDestinationPolicy"),
			Resources: jsii.Strings(destinationArn(st)),
		}))
	}
	customerRoles := fmt.Sprintf("arn:%s:iam::*:role/%s", *st.Partition(), CustomerRoleName)
	for _, name := range CustomerTrustedFunctions() {
		fn[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AssumeCustomerRole"),
			Actions:   jsii.Strings("sts:AssumeRole"),
			Resources: jsii.Strings(customerRoles),
		}))
	}

	// --- integration endpoint --------------------------------------------------
	v.Topic = awssns.NewTopic(st, jsii.String("IntegrationTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(IntegrationTopicName),
		DisplayName: jsii.String("Sightline integration reports"),
		EnforceSSL:  jsii.Bool(true),
	})
	// Customer stacks report through a CloudFormation custom resource whose
	// ServiceToken is this topic; CloudFormation publishes with the launching
	// account's credentials, and the accounts are not known at deploy time.
	// integration-events accepts a report only for a known, unguessable integration
	// id (see docs/deploy.md).
	v.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CustomerStackReports"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*v.Topic.TopicArn()),
	}))
	v.Topic.AddSubscription(awssnssubscriptions.NewLambdaSubscription(fn[FnIntegrationEvents], nil))

	accessLogs := awss3.NewBucket(st, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules:    &[]*awss3.LifecycleRule{{Expiration: awscdk.Duration_Days(jsii.Number(90))}},
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	suppress(accessLogs, false, "AwsSolutions-S1",
		"This bucket is the server access log target of the template bucket; logging it to itself would loop and logging it to another bucket only moves the finding.")
	v.Templates = awss3.NewBucket(st, jsii.String("Templates"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: accessLogs,
		ServerAccessLogsPrefix: jsii.String("templates/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	})
	templateKey := TemplateKey(cfg.CustomerVersion)
	templateObjects := *v.Templates.BucketArn() + "/" + TemplateKeyPrefix + "*"
	fn[FnIntegrationAPI].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PresignCustomerTemplate"),
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(templateObjects),
	}))
	// The layer map is read once per cold start (instrument.LoadLayers).
	for _, name := range []string{FnReinstrumenter, FnIntegrationAPI} {
		awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
			Grantee:      fn[name],
			Actions:      jsii.Strings("ssm:GetParameter"),
			ResourceArns: jsii.Strings(*layerParam.ParameterArn()),
		})
	}
	// Each function gets exactly the DynamoDB actions its code calls (TableActions).
	for _, name := range Functions() {
		v.Table.Grant(fn[name], *jsii.Strings(TableActions(name)...)...)
	}
	env := FunctionEnvironment(EnvironmentRefs{
		Table:         v.Table.TableName(),
		AlertQueueURL: v.AlertQueue.QueueUrl(),
		Region:        st.Region(),
		DashboardURL:  jsii.String(cfg.DashboardURL),
		LayerParam:    layerParam.ParameterName(),
		ReceiverURL:   v.ReceiverURL.Url(),
		EventBusARN:   v.Bus.EventBusArn(),
		Destination:   jsii.String(destinationArn(st)),
		TemplateURL:   jsii.String("s3://" + *v.Templates.BucketName() + "/" + templateKey),
		LambdaPrices:  jsii.String(cfg.LambdaPrices),
	})
	for _, name := range Functions() {
		vars := env[name]
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a stable template
		for _, k := range keys {
			fn[name].AddEnvironment(jsii.String(k), vars[k], nil)
		}
	}
	// Periodic inventory resync of every active integration: the integration API
	// in its scheduled mode (the constant input below selects it).
	resync := awsevents.NewRule(st, jsii.String("InventoryResyncSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Resync the Lambda inventory of every active Sightline integration and re-admit its account"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(ResyncSchedule)),
	})
	resync.AddTarget(awseventstargets.NewLambdaFunction(fn[FnIntegrationAPI], &awseventstargets.LambdaFunctionProps{
		Event:           awsevents.RuleTargetInput_FromObject(map[string]string{"sightline": ResyncInput}),
		DeadLetterQueue: v.Failures,
		RetryAttempts:   jsii.Number(2),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
	}))
	apiURL := fn[FnIntegrationAPI].AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_AWS_IAM})
	for _, name := range CustomerTrustedFunctions() {
		suppress(fn[name].Role(), true, "AwsSolutions-IAM5",
			"Customer accounts are not known at deploy time; the role name is fixed (SightlineIntegrationRole) and every customer role requires a per-integration ExternalId and trusts only this exact role ARN. The template object wildcard covers the versioned customer templates under customer/ only.",
			"Resource::"+nagForm(st, customerRoles), "Resource::"+nagForm(st, templateObjects))
	}

	// --- alarms ----------------------------------------------------------------
	alarmTopic := awssns.NewTopic(st, jsii.String("OpsAlarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Sightline pipeline alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.AlarmEmail != "" {
		alarmTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(alarmTopic)
	alarm := func(id, desc string, m awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(st, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	five := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}
	alarm("AlertDLQNotEmpty", "Alerts the notifier could not deliver are waiting in the alert DLQ",
		v.AlertDLQ.MetricApproximateNumberOfMessagesVisible(five), 1)
	alarm("PipelineFailuresNotEmpty", "Kinesis batches or EventBridge events the pipeline gave up on are waiting in the failure queue",
		v.Failures.MetricApproximateNumberOfMessagesVisible(five), 1)
	alarm("StreamIteratorAge", "The Kinesis consumer is more than 5 minutes behind the log stream",
		v.Stream.MetricGetRecordsIteratorAgeMilliseconds(five), 5*60*1000)
	sum := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
	alarm("ReceiverUrl5xx", "The Firehose HTTP endpoint receiver returned 5xx responses (Firehose retries, then backs up to the customer's bucket)",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/Lambda"),
			MetricName:    jsii.String("Url5xxCount"),
			DimensionsMap: &map[string]*string{"FunctionName": fn[FnFirehoseReceiver].FunctionName()},
			Period:        sum.Period,
			Statistic:     sum.Statistic,
		}), 5)
	for _, name := range Functions() {
		id := pascal(name)
		alarm(id+"Errors", "Function "+name+" reported errors", fn[name].MetricErrors(sum), 1)
		alarm(id+"Throttles", "Function "+name+" was throttled", fn[name].MetricThrottles(sum), 1)
	}

	// --- outputs ---------------------------------------------------------------
	out := func(id, desc string, val *string) {
		awscdk.NewCfnOutput(st, jsii.String(id), &awscdk.CfnOutputProps{Value: val, Description: jsii.String(desc)})
	}
	out("ReceiverUrl", "Firehose HTTP endpoint URL: pass it as -c receiverUrl=... when synthesizing the customer template", v.ReceiverURL.Url())
	out("IntegrationApiUrl", "Integration API function URL (IAM auth)", apiURL.Url())
	out("TemplateBucketName", "Upload the customer template to s3://<bucket>/"+templateKey, v.Templates.BucketName())
	out("TableName", "Sightline table", v.Table.TableName())
	out("LogDestinationArn", "CloudWatch Logs destination for the Kinesis path", destinationArnToken(dest))
	out("EventBusArn", "Bus receiving customers' Lambda CloudTrail events", v.Bus.EventBusArn())
	out("AlarmTopicArn", "Subscribe operators to pipeline alarms here", alarmTopic.TopicArn())
	return v, nil
}

// newFunction declares one Lambda function with its own log group (retention set)
// and its own role (named, so customer roles can trust it; no managed policies).
func newFunction(st awscdk.Stack, name string, cfg Config, retention awslogs.RetentionDays, code awslambda.Code) awslambda.Function {
	scope := constructs.NewConstruct(st, jsii.String(pascal(name)))
	logGroup := awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + VendorRoleName(name)),
		Retention:     retention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:    jsii.String(VendorRoleName(name)),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of the Sightline " + name + " function"),
	})
	logGroup.GrantWrite(role)
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		FunctionName:  jsii.String(VendorRoleName(name)),
		Description:   jsii.String("Sightline " + name),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          code,
		Role:          role,
		LogGroup:      logGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		MemorySize:    jsii.Number(float64(cfg.MemoryMB)),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(timeouts[name])),
	})
	// The function's Role property already orders it after the role; keep only the
	// DependsOn on the role's policy (cfn-lint W3005).
	dropRedundantDependency(fn, role)
	return fn
}

// dropRedundantDependency leaves from's DependsOn naming only the role's policy:
// CDK also lists the role itself, which the Role property's GetAtt already orders.
func dropRedundantDependency(from constructs.IConstruct, role awsiam.Role) {
	f, ok1 := from.Node().DefaultChild().(awscdk.CfnResource)
	pol, ok2 := role.Node().TryFindChild(jsii.String("DefaultPolicy")).(awsiam.Policy)
	if !ok1 || !ok2 {
		return
	}
	cfnPol, ok := pol.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		return
	}
	f.AddOverride(jsii.String("DependsOn"), []*string{awscdk.Stack_Of(from).GetLogicalId(cfnPol)})
}

// LambdaChangesPattern is the event pattern of the re-instrumenter's rule, also
// used by the customer stack's forwarding rule.
func LambdaChangesPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.lambda"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail"),
		Detail: &map[string]interface{}{
			"eventSource": []string{"lambda.amazonaws.com"},
			"eventName":   LambdaCloudTrailEvents(),
		},
	}
}

func attrType(t store.KeyType) awsdynamodb.AttributeType {
	if t == store.KeyNumber {
		return awsdynamodb.AttributeType_NUMBER
	}
	return awsdynamodb.AttributeType_STRING
}

func destinationArn(st awscdk.Stack) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:destination:%s", *st.Partition(), *st.Region(), *st.Account(), LogDestinationName)
}

func destinationArnToken(d awslogs.CrossAccountDestination) *string { return d.DestinationArn() }

// destinationSourceArns limits the confused-deputy surface of the destination role:
// the static customer accounts when configured, otherwise any account in the stack's
// region (the destination policy, written by integration-events and the
// integration API as accounts are admitted, decides who may subscribe).
func destinationSourceArns(st awscdk.Stack, cfg Config) []string {
	if len(cfg.CustomerAccounts) == 0 {
		return []string{fmt.Sprintf("arn:%s:logs:%s:*:*", *st.Partition(), *st.Region())}
	}
	out := []string{fmt.Sprintf("arn:%s:logs:%s:%s:*", *st.Partition(), *st.Region(), *st.Account())}
	for _, a := range cfg.CustomerAccounts {
		out = append(out, fmt.Sprintf("arn:%s:logs:%s:%s:*", *st.Partition(), *st.Region(), a))
	}
	return out
}

func accountPrincipals(accounts []string) awsiam.IPrincipal {
	ps := make([]awsiam.IPrincipal, len(accounts))
	for i, a := range accounts {
		ps[i] = awsiam.NewAccountPrincipal(jsii.String(a))
	}
	return awsiam.NewCompositePrincipal(ps...)
}

// pascal turns "kinesis-consumer" into "KinesisConsumer".
func pascal(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(s, "-") {
		if p == "" {
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}
