package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sightline/sightline/shared/integration"
)

// Parameters of the customer template, filled by the quick-create link.
// The names the link fills come from package integration, which builds the link.
const (
	ParamExternalID    = integration.ParamExternalID
	ParamAccessKey     = integration.ParamAccessKey
	ParamIntegrationID = integration.ParamIntegrationID
	ParamCreateTrail   = "CreateTrail"
)

// Fixed names in the customer account.
const (
	CustomerDeliveryStream = ManagedPrefix + "logs"
	CustomerForwardRule    = ManagedPrefix + "lambda-changes"
	CustomerTrailName      = ManagedPrefix + "management-events"
)

// CustomerProps configures NewCustomerStack. The stack is environment-agnostic and
// standalone: its Synthesizer and AnalyticsReporting are always overridden.
type CustomerProps struct {
	awscdk.StackProps
	Config Config
}

// Customer is the synthesized customer stack.
type Customer struct {
	awscdk.Stack
	Role           awsiam.CfnRole
	DeliveryStream awskinesisfirehose.CfnDeliveryStream
	FailedBucket   awss3.Bucket
}

// NewCustomerStack declares the quick-create template a customer launches to connect
// an account: the cross-account role, the Firehose log plumbing for the stack's
// region, the CloudTrail forwarding rule (and, if needed, a management-events trail),
// and the report to the vendor.
func NewCustomerStack(scope constructs.Construct, id string, props *CustomerProps) (*Customer, error) {
	if props == nil {
		return nil, fmt.Errorf("customer stack: props are required")
	}
	cfg := props.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("customer stack: %w", err)
	}
	sp := props.StackProps
	sp.Synthesizer = awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{})
	sp.AnalyticsReporting = jsii.Bool(false)
	sp.Env = nil
	if sp.Description == nil {
		sp.Description = jsii.String("Sightline integration: lets Sightline read Lambda logs and configuration, instrument functions, and repair instrumentation drift in this account")
	}
	st := awscdk.NewStack(scope, jsii.String(id), &sp)
	c := &Customer{Stack: st}
	vendor := cfg.VendorAccount

	// --- parameters ------------------------------------------------------------
	externalID := awscdk.NewCfnParameter(st, jsii.String(ParamExternalID), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		NoEcho:         jsii.Bool(true),
		MinLength:      jsii.Number(16),
		MaxLength:      jsii.Number(1224),
		AllowedPattern: jsii.String(`[\w+=,.@:/-]*`),
		Description:    jsii.String("Secret ExternalId of this integration (from the Sightline quick-create link)"),
	})
	accessKey := awscdk.NewCfnParameter(st, jsii.String(ParamAccessKey), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		NoEcho:      jsii.Bool(true),
		MinLength:   jsii.Number(16),
		MaxLength:   jsii.Number(4096),
		Description: jsii.String("Access key Firehose presents to the Sightline endpoint (kept in Secrets Manager)"),
	})
	integrationID := awscdk.NewCfnParameter(st, jsii.String(ParamIntegrationID), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		AllowedPattern: jsii.String(`[A-Za-z0-9_-]{8,64}`),
		Description:    jsii.String("Sightline integration id (from the quick-create link)"),
	})
	createTrail := awscdk.NewCfnParameter(st, jsii.String(ParamCreateTrail), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		AllowedValues: jsii.Strings("true", "false"),
		Default:       jsii.String("true"),
		Description:   jsii.String("EventBridge only receives Lambda API calls when a trail logs management events. Choose false if this account already has one (for example an organization trail)."),
	})
	trailCond := awscdk.NewCfnCondition(st, jsii.String("CreateTrailCondition"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(createTrail.ValueAsString(), jsii.String("true")),
	})
	// The report's ServiceToken is an SNS topic, which CloudFormation requires to be
	// in the stack's region: the stack runs in the vendor's region, and Sightline
	// manages the other regions through the role.
	awscdk.NewCfnRule(st, jsii.String("VendorRegionOnly"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert:            awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(cfg.VendorRegion)),
			AssertDescription: jsii.String("Launch this stack in " + cfg.VendorRegion + " (the Sightline region)."),
		}},
	})

	// --- log plumbing: Firehose to the vendor's HTTP endpoint ------------------
	c.FailedBucket = awss3.NewBucket(st, jsii.String("FailedDeliveries"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration:                          awscdk.Duration_Days(jsii.Number(14)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(c.FailedBucket, false, "AwsSolutions-S1",
		"Holds only copies of log batches Firehose failed to deliver, written by the Firehose role and expiring after 14 days. Server access logs would need a second bucket in the customer's account for no added assurance; API access is already recorded by the account's CloudTrail.")

	secret := awssecretsmanager.NewSecret(st, jsii.String("FirehoseAccessKeySecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(CustomerAccessKeySecret),
		Description: jsii.String("Access key the Sightline Firehose stream presents to the Sightline endpoint"),
		SecretObjectValue: &map[string]awscdk.SecretValue{
			"api_key": awscdk.SecretValue_CfnParameter(accessKey),
		},
	})
	suppress(secret, false, "AwsSolutions-SMG4",
		"The key is issued by Sightline, not by a service in this account, so there is nothing a rotation Lambda could rotate it against; it is rotated by updating the stack with the new key from the Sightline console (a rotation function would also need a code asset, which a quick-create template cannot carry).")

	deliveryLogs := awslogs.NewLogGroup(st, jsii.String("DeliveryLogs"), &awslogs.LogGroupProps{
		Retention:     retentions[cfg.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	httpLogStream := deliveryLogs.AddStream(jsii.String("HttpEndpointDelivery"), nil)
	s3LogStream := deliveryLogs.AddStream(jsii.String("BackupDelivery"), nil)

	firehoseRole := awsiam.NewRole(st, jsii.String("FirehoseRole"), &awsiam.RoleProps{
		RoleName: jsii.String(CustomerFirehoseRoleName),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
		Description: jsii.String("Sightline Firehose stream: reads its access key, writes failed batches and delivery logs"),
	})
	secret.GrantRead(firehoseRole, nil)
	// The streams Sightline creates in other regions read Sightline's copy of the
	// secret there (package instrument copies it through the integration role).
	secretCopies := fmt.Sprintf("arn:%s:secretsmanager:*:%s:secret:%s-*", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), CustomerAccessKeySecret)
	firehoseRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadAccessKeyCopies"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(secretCopies),
	}))
	deliveryLogs.GrantWrite(firehoseRole)
	failedObjects := *c.FailedBucket.BucketArn() + "/*"
	// The same role serves the streams Sightline creates in other regions (package
	// instrument), which back up to sightline-logs-backup-<account>-<region>.
	regionBuckets := fmt.Sprintf("arn:%s:s3:::%s%s-*", *awscdk.Aws_PARTITION(), CustomerBackupBucketPrefix, *awscdk.Aws_ACCOUNT_ID())
	regionObjects := regionBuckets + "/*"
	firehoseRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("BackupFailedBatches"),
		Actions: jsii.Strings("s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
			"s3:ListBucketMultipartUploads", "s3:PutObject"),
		Resources: jsii.Strings(*c.FailedBucket.BucketArn(), failedObjects, regionBuckets, regionObjects),
	}))
	suppress(firehoseRole, true, "AwsSolutions-IAM5",
		"Firehose names backup objects itself, so object-level actions need the object wildcard of the backup buckets: this stack's bucket and the sightline-logs-backup-<this account>-<region> buckets Sightline creates for the streams of other regions (the actions are the exact list Firehose documents for S3 backup). "+
			"The streams of other regions read the access key from Sightline's copy of this stack's secret in their region, whose ARN ends in a random suffix Secrets Manager picks at creation: secretsmanager:GetSecretValue only, on sightline/firehose-access-key-* of this account.",
		"Resource::"+nagForm(st, failedObjects), "Resource::"+nagForm(st, regionBuckets), "Resource::"+nagForm(st, regionObjects),
		"Resource::"+nagForm(st, secretCopies))

	c.DeliveryStream = awskinesisfirehose.NewCfnDeliveryStream(st, jsii.String("DeliveryStream"), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamName: jsii.String(CustomerDeliveryStream),
		DeliveryStreamType: jsii.String("DirectPut"),
		DeliveryStreamEncryptionConfigurationInput: &awskinesisfirehose.CfnDeliveryStream_DeliveryStreamEncryptionConfigurationInputProperty{
			KeyType: jsii.String("AWS_OWNED_CMK"),
		},
		HttpEndpointDestinationConfiguration: &awskinesisfirehose.CfnDeliveryStream_HttpEndpointDestinationConfigurationProperty{
			EndpointConfiguration: &awskinesisfirehose.CfnDeliveryStream_HttpEndpointConfigurationProperty{
				Url:  jsii.String(cfg.ReceiverURL),
				Name: jsii.String("Sightline"),
			},
			SecretsManagerConfiguration: &awskinesisfirehose.CfnDeliveryStream_SecretsManagerConfigurationProperty{
				Enabled:   jsii.Bool(true),
				SecretArn: secret.SecretArn(),
				RoleArn:   firehoseRole.RoleArn(),
			},
			RequestConfiguration: &awskinesisfirehose.CfnDeliveryStream_HttpEndpointRequestConfigurationProperty{
				ContentEncoding: jsii.String("GZIP"),
				CommonAttributes: &[]interface{}{&awskinesisfirehose.CfnDeliveryStream_HttpEndpointCommonAttributeProperty{
					AttributeName:  jsii.String("region"),
					AttributeValue: awscdk.Aws_REGION(),
				}},
			},
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				IntervalInSeconds: jsii.Number(60),
				SizeInMBs:         jsii.Number(1),
			},
			RetryOptions: &awskinesisfirehose.CfnDeliveryStream_RetryOptionsProperty{DurationInSeconds: jsii.Number(300)},
			RoleArn:      firehoseRole.RoleArn(),
			S3BackupMode: jsii.String("FailedDataOnly"),
			S3Configuration: &awskinesisfirehose.CfnDeliveryStream_S3DestinationConfigurationProperty{
				BucketArn:         c.FailedBucket.BucketArn(),
				RoleArn:           firehoseRole.RoleArn(),
				CompressionFormat: jsii.String("GZIP"),
				ErrorOutputPrefix: jsii.String("errors/"),
				CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
					Enabled:       jsii.Bool(true),
					LogGroupName:  deliveryLogs.LogGroupName(),
					LogStreamName: s3LogStream.LogStreamName(),
				},
			},
			CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
				Enabled:       jsii.Bool(true),
				LogGroupName:  deliveryLogs.LogGroupName(),
				LogStreamName: httpLogStream.LogStreamName(),
			},
		},
	})
	// The role's policy must exist before Firehose validates the stream (the role
	// itself is already referenced).
	if pol, ok := firehoseRole.Node().TryFindChild(jsii.String("DefaultPolicy")).(awsiam.Policy); ok {
		c.DeliveryStream.Node().AddDependency(pol)
	}

	// The role CloudWatch Logs assumes to put subscribed log events into the
	// Sightline streams of this account (this region's and those Sightline creates
	// in other regions).
	sightlineStreams := fmt.Sprintf("arn:%s:firehose:*:%s:deliverystream/%s*", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), ManagedPrefix)
	logsRole := awsiam.NewRole(st, jsii.String("LogsToFirehoseRole"), &awsiam.RoleProps{
		RoleName: jsii.String(CustomerLogsRoleName),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("logs.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{
				"aws:SourceArn": fmt.Sprintf("arn:%s:logs:*:%s:*", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID()),
			}},
		}),
		Description: jsii.String("CloudWatch Logs subscription filters put Lambda log events into the Sightline Firehose streams"),
	})
	logsRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PutIntoSightlineStreams"),
		Actions:   jsii.Strings("firehose:PutRecord", "firehose:PutRecordBatch"),
		Resources: jsii.Strings(sightlineStreams),
	}))
	suppress(logsRole, true, "AwsSolutions-IAM5",
		"Only the Sightline delivery streams (sightline-*) of this account, in any region Sightline is enabled in; only PutRecord and PutRecordBatch.",
		"Resource::"+nagForm(st, sightlineStreams))

	// --- CloudTrail events to the vendor bus -----------------------------------
	vendorBus := fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", *awscdk.Aws_PARTITION(), cfg.VendorRegion, vendor, EventBusName)
	forwardRole := awsiam.NewRole(st, jsii.String("ForwardEventsRole"), &awsiam.RoleProps{
		RoleName: jsii.String(CustomerEventsRoleName),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
		Description: jsii.String("EventBridge forwards Lambda change events to the Sightline bus"),
	})
	forwardRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PutToSightlineBus"),
		Actions:   jsii.Strings("events:PutEvents"),
		Resources: jsii.Strings(vendorBus),
	}))
	pattern := LambdaChangesPattern()
	awsevents.NewCfnRule(st, jsii.String("ForwardLambdaChanges"), &awsevents.CfnRuleProps{
		Name:        jsii.String(CustomerForwardRule),
		Description: jsii.String("Forward Lambda configuration and code changes to Sightline (instrumentation drift repair)"),
		State:       jsii.String("ENABLED"),
		EventPattern: map[string]interface{}{
			"source":      *pattern.Source,
			"detail-type": *pattern.DetailType,
			"detail":      *pattern.Detail,
		},
		Targets: &[]interface{}{&awsevents.CfnRule_TargetProperty{
			Id:      jsii.String(CustomerForwardTargetID),
			Arn:     jsii.String(vendorBus),
			RoleArn: forwardRole.RoleArn(),
		}},
	})

	// A management-events trail, only when the customer has none: EventBridge
	// receives "AWS API Call via CloudTrail" events only from a logging trail.
	trailScope := constructs.NewConstruct(st, jsii.String("ManagementTrail"))
	trailBucket := awss3.NewBucket(trailScope, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules:    &[]*awss3.LifecycleRule{{Expiration: awscdk.Duration_Days(jsii.Number(90))}},
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	suppress(trailBucket, false, "AwsSolutions-S1",
		"Receives only CloudTrail log files for the write-only management-events trail Sightline creates so EventBridge gets Lambda API calls; only the CloudTrail service may write, and only under AWSLogs/<this account>/; management API access to the bucket is itself recorded by that trail.")
	awscloudtrail.NewTrail(trailScope, jsii.String("Trail"), &awscloudtrail.TrailProps{
		TrailName:                  jsii.String(CustomerTrailName),
		Bucket:                     trailBucket,
		IsMultiRegionTrail:         jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(true),
		EnableFileValidation:       jsii.Bool(true),
		ManagementEvents:           awscloudtrail.ReadWriteType_WRITE_ONLY,
		SendToCloudWatchLogs:       jsii.Bool(false),
	})
	for _, child := range *trailScope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if r, ok := child.(awscdk.CfnResource); ok {
			r.CfnOptions().SetCondition(trailCond)
		}
	}

	// --- the cross-account role -------------------------------------------------
	c.Role = awsiam.NewCfnRole(st, jsii.String("IntegrationRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(CustomerRoleName),
		Description:              jsii.String("Assumed by Sightline's re-instrumenter and integration API (with the integration's ExternalId)"),
		MaxSessionDuration:       jsii.Number(3600),
		AssumeRolePolicyDocument: CustomerTrustPolicy(cfg, externalID.ValueAsString()),
		Policies: &[]interface{}{&awsiam.CfnRole_PolicyProperty{
			PolicyName: jsii.String("SightlineInstrumentation"),
			PolicyDocument: map[string]interface{}{
				"Version": "2012-10-17",
				"Statement": CustomerRoleStatements(cfg, map[string]interface{}{
					"logs":     logsRole.RoleArn(),
					"firehose": firehoseRole.RoleArn(),
					"events":   forwardRole.RoleArn(),
				}, secret.SecretArn()),
			},
		}},
	})
	suppress(c.Role, false, "AwsSolutions-IAM5",
		"lambda:ListFunctions has no resource-level permissions. Every other wildcard is scoped to this account (and, for layers and the log destination, to the Sightline account): Lambda functions and /aws/lambda/* log groups in any region (their names are not known in advance and any of them may be instrumented), Sightline's own sightline-* rules and delivery streams, and the Sightline layers. Writes are limited to UpdateFunctionConfiguration, /aws/lambda/* log groups and their subscription filters, and sightline-* resources (rules, delivery streams, backup buckets named sightline-logs-backup-<this account>-*); iam:PassRole names the three roles of this stack with iam:PassedToService. "+
			"The copies of the access-key secret in other regions (create, write, describe, delete) are named sightline/firehose-access-key-* because Secrets Manager appends a random suffix to a secret's ARN, and an aws:RequestedRegion condition keeps those writes out of this stack's region, so the role can read but never change or delete the stack's own secret.",
		customerRoleWildcards(st, cfg)...)

	// --- report to the vendor --------------------------------------------------
	trailCreated := awscdk.Fn_ConditionIf(trailCond.LogicalId(), jsii.String("true"), jsii.String("false"))
	awscdk.NewCustomResource(st, jsii.String("Report"), &awscdk.CustomResourceProps{
		ResourceType: jsii.String("Custom::SightlineIntegration"),
		ServiceToken: jsii.String(fmt.Sprintf("arn:%s:sns:%s:%s:%s", *awscdk.Aws_PARTITION(), cfg.VendorRegion, vendor, IntegrationTopicName)),
		Properties: &map[string]interface{}{
			"IntegrationId": integrationID.ValueAsString(),
			// The vendor accepts a report only with the integration's ExternalId
			// (the topic admits any account's publish).
			"ExternalId":        externalID.ValueAsString(),
			"RoleArn":           c.Role.AttrArn(),
			"DeliveryStreamArn": c.DeliveryStream.AttrArn(),
			"Region":            awscdk.Aws_REGION(),
			"StackVersion":      cfg.CustomerVersion,
			"TrailCreated":      trailCreated,
		},
	})

	awscdk.NewCfnOutput(st, jsii.String("RoleArn"), &awscdk.CfnOutputProps{Value: c.Role.AttrArn(), Description: jsii.String("Role Sightline assumes")})
	awscdk.NewCfnOutput(st, jsii.String("DeliveryStreamArn"), &awscdk.CfnOutputProps{Value: c.DeliveryStream.AttrArn(), Description: jsii.String("Firehose stream subscription filters send Lambda logs to")})
	return c, nil
}

// CustomerTrustPolicy is the customer role's trust policy: only the vendor's
// re-instrumenter and integration API roles, only with the integration's ExternalId.
func CustomerTrustPolicy(cfg Config, externalID *string) map[string]interface{} {
	var principals []interface{}
	for _, fn := range CustomerTrustedFunctions() {
		principals = append(principals, map[string]interface{}{
			"Fn::Sub": fmt.Sprintf("arn:${AWS::Partition}:iam::%s:role/%s", cfg.VendorAccount, VendorRoleName(fn)),
		})
	}
	return map[string]interface{}{
		"Version": "2012-10-17",
		"Statement": []interface{}{map[string]interface{}{
			"Sid":       "SightlineFunctions",
			"Effect":    "Allow",
			"Principal": map[string]interface{}{"AWS": principals},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]interface{}{"StringEquals": map[string]interface{}{"sts:ExternalId": externalID}},
		}},
	}
}

// Resource ARN patterns of the customer role (Fn::Sub syntax).
const (
	arnFunctions      = "arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:*"
	arnLambdaLogs     = "arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/aws/lambda/*"
	arnBackupBuckets  = "arn:${AWS::Partition}:s3:::" + CustomerBackupBucketPrefix + "${AWS::AccountId}-*"
	arnManagedRules   = "arn:${AWS::Partition}:events:*:${AWS::AccountId}:rule/" + ManagedPrefix + "*"
	arnManagedStreams = "arn:${AWS::Partition}:firehose:*:${AWS::AccountId}:deliverystream/" + ManagedPrefix + "*"
	// Sightline's copies of the access-key secret in other regions (Secrets
	// Manager appends "-" and six random characters to a secret's name in its ARN).
	arnAccessKeyCopies = "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:" + CustomerAccessKeySecret + "-*"
)

func arnVendorLayers(cfg Config) string {
	return "arn:${AWS::Partition}:lambda:*:" + cfg.VendorAccount + ":layer:*:*"
}

func arnVendorDestination(cfg Config) string {
	return "arn:${AWS::Partition}:logs:*:" + cfg.VendorAccount + ":destination:" + LogDestinationName
}

func sub(s string) map[string]interface{} { return map[string]interface{}{"Fn::Sub": s} }

// CustomerRoleStatements are the permissions of the customer role. passRoles maps
// the service that receives a role (logs, firehose, events) to that role's ARN;
// accessKeySecret is the ARN of the stack's access-key secret (in its region).
func CustomerRoleStatements(cfg Config, passRoles map[string]interface{}, accessKeySecret interface{}) []interface{} {
	stmt := func(sid string, actions []string, resources ...interface{}) map[string]interface{} {
		return map[string]interface{}{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
	}
	pass := stmt("PassSightlineRoles", []string{"iam:PassRole"}, passRoles["logs"], passRoles["firehose"], passRoles["events"])
	pass["Condition"] = map[string]interface{}{"StringEquals": map[string]interface{}{
		"iam:PassedToService": []string{"logs.amazonaws.com", "firehose.amazonaws.com", "events.amazonaws.com"},
	}}
	copies := stmt("CopyAccessKeyToOtherRegions",
		[]string{"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret"},
		sub(arnAccessKeyCopies))
	// The copies' name pattern also matches the stack's own secret: never in its region.
	copies["Condition"] = map[string]interface{}{"StringNotEquals": map[string]interface{}{
		"aws:RequestedRegion": map[string]interface{}{"Ref": "AWS::Region"},
	}}
	return []interface{}{
		// ListFunctions does not support resource-level permissions.
		stmt("ListFunctions", []string{"lambda:ListFunctions"}, "*"),
		// instrument reads a function with GetFunction and merges its changes
		// with UpdateFunctionConfiguration (adding a layer needs GetLayerVersion).
		stmt("ReadAndInstrumentFunctions", []string{"lambda:GetFunction", "lambda:UpdateFunctionConfiguration"},
			sub(arnFunctions)),
		stmt("UseSightlineLayers", []string{"lambda:GetLayerVersion"}, sub(arnVendorLayers(cfg))),
		// The log group may not exist yet (a function that never ran).
		stmt("ManageSubscriptionFilters",
			[]string{"logs:CreateLogGroup", "logs:DescribeSubscriptionFilters", "logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter"},
			sub(arnLambdaLogs), sub(arnVendorDestination(cfg))),
		stmt("ManageSightlineRules",
			[]string{"events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"},
			sub(arnManagedRules)),
		stmt("ManageSightlineStreams",
			[]string{"firehose:DescribeDeliveryStream", "firehose:CreateDeliveryStream", "firehose:DeleteDeliveryStream"},
			sub(arnManagedStreams)),
		// The backup bucket of a stream Sightline creates in another region.
		stmt("CreateBackupBuckets", []string{"s3:CreateBucket"}, sub(arnBackupBuckets)),
		// A stream Sightline creates in another region presents the access key
		// from a secret in that region: Sightline reads the stack's secret and
		// writes the same-named copy there (and deletes it on removal).
		stmt("ReadAccessKey", []string{"secretsmanager:GetSecretValue"}, accessKeySecret),
		copies,
		pass,
	}
}

func customerRoleWildcards(st awscdk.Stack, cfg Config) []string {
	out := []string{"Resource::*"}
	for _, a := range []string{arnFunctions, arnVendorLayers(cfg), arnLambdaLogs, arnVendorDestination(cfg), arnManagedRules, arnManagedStreams, arnBackupBuckets, arnAccessKeyCopies} {
		out = append(out, "Resource::"+flattenRef(sub(a)))
	}
	return out
}
