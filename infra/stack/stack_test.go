package stack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// resources returns the template's resources of type typ, by logical id.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

func only(t *testing.T, tmpl map[string]any, typ string) map[string]any {
	t.Helper()
	rs := resources(tmpl, typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s resources, want 1", len(rs), typ)
	}
	for _, r := range rs {
		return props(r)
	}
	return nil
}

func TestResourceCounts(t *testing.T) {
	tests := map[string]struct {
		tmpl  func() assertions.Template
		typ   string
		count float64
	}{
		"vendor functions":      {func() assertions.Template { return synth.vT }, "AWS::Lambda::Function", 8},
		"vendor log groups":     {func() assertions.Template { return synth.vT }, "AWS::Logs::LogGroup", 8},
		"vendor roles":          {func() assertions.Template { return synth.vT }, "AWS::IAM::Role", 9},
		"vendor managed policy": {func() assertions.Template { return synth.vT }, "AWS::IAM::ManagedPolicy", 0},
		"vendor table":          {func() assertions.Template { return synth.vT }, "AWS::DynamoDB::Table", 1},
		"vendor stream":         {func() assertions.Template { return synth.vT }, "AWS::Kinesis::Stream", 1},
		"vendor destination":    {func() assertions.Template { return synth.vT }, "AWS::Logs::Destination", 1},
		"vendor queues":         {func() assertions.Template { return synth.vT }, "AWS::SQS::Queue", 3},
		"vendor mappings":       {func() assertions.Template { return synth.vT }, "AWS::Lambda::EventSourceMapping", 2},
		"vendor urls":           {func() assertions.Template { return synth.vT }, "AWS::Lambda::Url", 2},
		"vendor rules":          {func() assertions.Template { return synth.vT }, "AWS::Events::Rule", 3},
		"vendor bus":            {func() assertions.Template { return synth.vT }, "AWS::Events::EventBus", 1},
		"vendor topics":         {func() assertions.Template { return synth.vT }, "AWS::SNS::Topic", 2},
		"vendor buckets":        {func() assertions.Template { return synth.vT }, "AWS::S3::Bucket", 2},
		"vendor alarms":         {func() assertions.Template { return synth.vT }, "AWS::CloudWatch::Alarm", 20},
		"vendor no custom res":  {func() assertions.Template { return synth.vT }, "AWS::CloudFormation::CustomResource", 0},
		"customer roles":        {func() assertions.Template { return synth.cT }, "AWS::IAM::Role", 4},
		"customer firehose":     {func() assertions.Template { return synth.cT }, "AWS::KinesisFirehose::DeliveryStream", 1},
		"customer buckets":      {func() assertions.Template { return synth.cT }, "AWS::S3::Bucket", 2},
		"customer secret":       {func() assertions.Template { return synth.cT }, "AWS::SecretsManager::Secret", 1},
		"customer rule":         {func() assertions.Template { return synth.cT }, "AWS::Events::Rule", 1},
		"customer trail":        {func() assertions.Template { return synth.cT }, "AWS::CloudTrail::Trail", 1},
		"customer report":       {func() assertions.Template { return synth.cT }, "Custom::SightlineIntegration", 1},
		"customer no functions": {func() assertions.Template { return synth.cT }, "AWS::Lambda::Function", 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.tmpl().ResourceCountIs(jsii.String(tc.typ), jsii.Number(tc.count))
		})
	}
}

func TestTable(t *testing.T) {
	p := only(t, synth.vendor, "AWS::DynamoDB::Table")
	want := map[string]any{
		"BillingMode":                      "PAY_PER_REQUEST",
		"DeletionProtectionEnabled":        true,
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
		"KeySchema": []any{
			map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
			map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
		},
	}
	for k, v := range want {
		if !reflect.DeepEqual(p[k], v) {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	// AWS owned key: SSESpecification absent or SSEEnabled false (not a KMS key).
	if sse, ok := p["SSESpecification"]; ok && !reflect.DeepEqual(sse, map[string]any{"SSEEnabled": false}) {
		t.Errorf("SSESpecification = %v, want the AWS owned key", sse)
	}
	for _, r := range resources(synth.vendor, "AWS::DynamoDB::Table") {
		if r["DeletionPolicy"] != "Retain" {
			t.Errorf("table DeletionPolicy = %v, want Retain", r["DeletionPolicy"])
		}
	}
}

func TestKinesisEventSourceMapping(t *testing.T) {
	synth.vT.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
		"EventSourceArn":             map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^LogStream")), "Arn"}},
		"FunctionResponseTypes":      []any{"ReportBatchItemFailures"},
		"BisectBatchOnFunctionError": true,
		"MaximumRetryAttempts":       5,
		"MaximumRecordAgeInSeconds":  21600,
		"StartingPosition":           "TRIM_HORIZON",
		"DestinationConfig": map[string]any{"OnFailure": map[string]any{
			"Destination": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PipelineFailures")), "Arn"}},
		}},
	})
	synth.vT.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
		"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^AlertQueue")), "Arn"}},
		"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		"FunctionName":          map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^NotifierFunction"))},
	})
}

func TestStreamEncryptedWithAWSManagedKey(t *testing.T) {
	p := only(t, synth.vendor, "AWS::Kinesis::Stream")
	want := map[string]any{"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
	if !reflect.DeepEqual(p["StreamEncryption"], want) {
		t.Errorf("StreamEncryption = %v, want %v", p["StreamEncryption"], want)
	}
}

func TestSchedule(t *testing.T) {
	synth.vT.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
		"ScheduleExpression": "rate(5 minutes)",
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
			"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^InsightsEvaluatorFunction")), "Arn"}},
		})},
	})
}

// TestResyncSchedule: the integration API's resync mode runs every 6 hours with
// the constant input it dispatches on (functions/integration-api tests the other
// side: {"sightline":"resync-inventory"} runs integration.Resync).
func TestResyncSchedule(t *testing.T) {
	found := 0
	for _, r := range resources(synth.vendor, "AWS::Events::Rule") {
		p := props(r)
		if p["ScheduleExpression"] != "rate(6 hours)" {
			continue
		}
		found++
		targets := p["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%d targets", len(targets))
		}
		tg := targets[0].(map[string]any)
		b, _ := json.Marshal(tg["Arn"])
		if !strings.Contains(string(b), "IntegrationApiFunction") {
			t.Errorf("resync target %s, want the integration API", b)
		}
		var input map[string]string
		if err := json.Unmarshal([]byte(tg["Input"].(string)), &input); err != nil || !reflect.DeepEqual(input, map[string]string{"sightline": "resync-inventory"}) {
			t.Errorf("resync input %v (%v)", tg["Input"], err)
		}
		if tg["DeadLetterConfig"] == nil || tg["RetryPolicy"] == nil {
			t.Errorf("resync target without DLQ or retry policy: %v", tg)
		}
	}
	if found != 1 {
		t.Fatalf("%d rate(6 hours) rules, want 1", found)
	}
	// The API is allowed to be invoked by that rule only (besides its URL).
	synth.vT.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
		"Action":       "lambda:InvokeFunction",
		"Principal":    "events.amazonaws.com",
		"FunctionName": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^IntegrationApiFunction")), "Arn"}},
		"SourceArn":    map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^InventoryResyncSchedule")), "Arn"}},
	})
	if timeouts[FnIntegrationAPI] < 120 {
		t.Errorf("integration API timeout %vs leaves the resync no time", timeouts[FnIntegrationAPI])
	}
}

func TestEventPatterns(t *testing.T) {
	want := map[string]any{
		"source":      []any{"aws.lambda"},
		"detail-type": []any{"AWS API Call via CloudTrail"},
		"detail": map[string]any{
			"eventSource": []any{"lambda.amazonaws.com"},
			"eventName":   []any{"UpdateFunctionConfiguration20150331v2", "UpdateFunctionCode20150331v2", "CreateFunction20150331"},
		},
	}
	tests := map[string]struct {
		tmpl   map[string]any
		target string
	}{
		"vendor re-instrumenter rule": {synth.vendor, "ReinstrumenterFunction"},
		"customer forwarding rule":    {synth.customer, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			found := false
			for _, r := range resources(tc.tmpl, "AWS::Events::Rule") {
				p := props(r)
				if p["EventPattern"] == nil {
					continue
				}
				found = true
				if !reflect.DeepEqual(p["EventPattern"], want) {
					t.Errorf("EventPattern = %v, want %v", p["EventPattern"], want)
				}
				if tc.target != "" {
					b, _ := json.Marshal(p["Targets"])
					if !strings.Contains(string(b), tc.target) {
						t.Errorf("targets %s do not include %s", b, tc.target)
					}
				}
			}
			if !found {
				t.Fatal("no rule with an event pattern")
			}
		})
	}
	// The customer rule sends to the vendor bus with a role.
	synth.cT.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
		"Name": "sightline-lambda-changes",
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
			"Arn": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
				":events:eu-west-1:111122223333:event-bus/sightline-lambda-events"}}},
			"RoleArn": assertions.Match_AnyValue(),
		})},
	})
}

func TestAlarms(t *testing.T) {
	type key struct{ metric, dim string }
	got := map[key]int{}
	for _, r := range resources(synth.vendor, "AWS::CloudWatch::Alarm") {
		p := props(r)
		dim := ""
		if ds, ok := p["Dimensions"].([]any); ok && len(ds) > 0 {
			b, _ := json.Marshal(ds[0].(map[string]any)["Value"])
			dim = string(b)
		}
		got[key{p["MetricName"].(string), dim}]++
		if len(p["AlarmActions"].([]any)) != 1 {
			t.Errorf("alarm %v has no action", p["MetricName"])
		}
	}
	count := func(metric, dimPart string) int {
		n := 0
		for k, c := range got {
			if k.metric == metric && strings.Contains(k.dim, dimPart) {
				n += c
			}
		}
		return n
	}
	tests := map[string]struct {
		metric, dim string
		want        int
	}{
		"alert DLQ not empty":         {"ApproximateNumberOfMessagesVisible", "AlertDLQ", 1},
		"failure queue not empty":     {"ApproximateNumberOfMessagesVisible", "PipelineFailures", 1},
		"iterator age":                {"GetRecords.IteratorAgeMilliseconds", "LogStream", 1},
		"receiver 5xx":                {"Url5xxCount", "FirehoseReceiverFunction", 1},
		"errors of every function":    {"Errors", "Function", len(Functions())},
		"throttles of every function": {"Throttles", "Function", len(Functions())},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if n := count(tc.metric, tc.dim); n != tc.want {
				t.Errorf("%d alarms on %s/%s, want %d (all: %v)", n, tc.metric, tc.dim, tc.want, got)
			}
		})
	}
}

func TestLogRetentionOnEveryLogGroup(t *testing.T) {
	for name, tmpl := range map[string]map[string]any{"vendor": synth.vendor, "customer": synth.customer} {
		for id, r := range resources(tmpl, "AWS::Logs::LogGroup") {
			if got := props(r)["RetentionInDays"]; got != float64(synth.cfg.LogRetentionDays) {
				t.Errorf("%s %s RetentionInDays = %v, want %d", name, id, got, synth.cfg.LogRetentionDays)
			}
		}
	}
	// Every function logs to its own declared group (no implicit, unretained one).
	for id, r := range resources(synth.vendor, "AWS::Lambda::Function") {
		lc, _ := props(r)["LoggingConfig"].(map[string]any)
		if lc == nil || lc["LogGroup"] == nil {
			t.Errorf("function %s has no LoggingConfig.LogGroup", id)
		}
	}
}

func TestFunctions(t *testing.T) {
	for id, r := range resources(synth.vendor, "AWS::Lambda::Function") {
		p := props(r)
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" ||
			!reflect.DeepEqual(p["Architectures"], []any{"arm64"}) {
			t.Errorf("%s: runtime %v handler %v arch %v", id, p["Runtime"], p["Handler"], p["Architectures"])
		}
		env, _ := p["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if vars["TABLE_NAME"] == nil {
			t.Errorf("%s: no TABLE_NAME", id)
		}
		for k, v := range vars {
			if s, ok := v.(string); ok && (strings.Contains(strings.ToLower(k), "secret") || strings.Contains(strings.ToLower(k), "key")) {
				t.Errorf("%s: env %s=%q looks like a secret in an environment variable", id, k, s)
			}
		}
	}
	// The roles the customer stack trusts exist with exactly those names.
	for _, fn := range CustomerTrustedFunctions() {
		synth.vT.HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]any{"RoleName": VendorRoleName(fn)})
	}
}

func TestNotifierReadsOnlyNotifySecrets(t *testing.T) {
	var stmts []map[string]any
	for id, r := range resources(synth.vendor, "AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "NotifierRole") {
			continue
		}
		for _, s := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stmts = append(stmts, s.(map[string]any))
		}
	}
	found := false
	for _, s := range stmts {
		b, _ := json.Marshal(s)
		if !strings.Contains(string(b), "secretsmanager") {
			continue
		}
		found = true
		if !reflect.DeepEqual(s["Action"], "secretsmanager:GetSecretValue") {
			t.Errorf("secrets actions %v", s["Action"])
		}
		if !strings.Contains(string(b), ":secret:sightline/notify/*") {
			t.Errorf("secrets resource not limited to sightline/notify/: %s", b)
		}
	}
	if !found {
		t.Fatal("notifier cannot read any secret")
	}
}

// policyDocs walks every policy document of a template: IAM policies and inline
// role policies, trust policies, and resource policies.
func policyDocs(t *testing.T, tmpl map[string]any) map[string]map[string]any {
	t.Helper()
	docs := map[string]map[string]any{}
	add := func(name string, d any) {
		switch v := d.(type) {
		case map[string]any:
			docs[name] = v
		case string:
			var m map[string]any
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				t.Fatalf("%s: policy is not JSON: %v", name, err)
			}
			docs[name] = m
		}
	}
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		p := props(res)
		switch res["Type"] {
		case "AWS::IAM::Role":
			add(id+"/trust", p["AssumeRolePolicyDocument"])
			if pols, ok := p["Policies"].([]any); ok {
				for i, pol := range pols {
					add(id+"/inline"+string(rune('0'+i)), pol.(map[string]any)["PolicyDocument"])
				}
			}
		case "AWS::IAM::Policy", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy":
			add(id, p["PolicyDocument"])
		case "AWS::Events::EventBusPolicy":
			docs[id] = map[string]any{"Statement": []any{p["Statement"]}}
		case "AWS::Logs::Destination":
			if dp, ok := p["DestinationPolicy"]; ok {
				add(id, joinText(dp))
			}
		}
	}
	return docs
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x}
	}
}

func TestNoWildcardActions(t *testing.T) {
	for name, tmpl := range map[string]map[string]any{"vendor": synth.vendor, "customer": synth.customer} {
		docs := policyDocs(t, tmpl)
		if len(docs) < 10 {
			t.Fatalf("%s: only %d policy documents found", name, len(docs))
		}
		for id, d := range docs {
			for _, s := range asList(d["Statement"]) {
				st := s.(map[string]any)
				if _, ok := st["NotAction"]; ok {
					t.Errorf("%s %s: NotAction statement", name, id)
				}
				for _, a := range asList(st["Action"]) {
					as, _ := a.(string)
					if !strings.Contains(as, "*") {
						continue
					}
					// The only wildcard actions allowed are CDK's TLS-only denials.
					b, _ := json.Marshal(st["Condition"])
					if st["Effect"] != "Deny" || !strings.Contains(string(b), `"aws:SecureTransport":"false"`) {
						t.Errorf("%s %s: wildcard action %q in %v statement", name, id, as, st["Effect"])
					}
				}
			}
		}
	}
}

func TestCustomerRole(t *testing.T) {
	var role map[string]any
	for id, r := range resources(synth.customer, "AWS::IAM::Role") {
		if id == "IntegrationRole" {
			role = props(r)
		}
	}
	if role == nil {
		t.Fatal("no IntegrationRole")
	}
	if role["RoleName"] != CustomerRoleName {
		t.Errorf("RoleName = %v, want %s", role["RoleName"], CustomerRoleName)
	}
	trust := role["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(trust) != 1 {
		t.Fatalf("%d trust statements, want 1", len(trust))
	}
	ts := trust[0].(map[string]any)
	wantPrincipals := []any{
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::111122223333:role/sightline-reinstrumenter"},
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::111122223333:role/sightline-integration-api"},
	}
	if got := ts["Principal"].(map[string]any)["AWS"]; !reflect.DeepEqual(got, wantPrincipals) {
		t.Errorf("trusted principals = %v, want exactly the two vendor function roles", got)
	}
	wantCond := map[string]any{"StringEquals": map[string]any{"sts:ExternalId": map[string]any{"Ref": ParamExternalID}}}
	if !reflect.DeepEqual(ts["Condition"], wantCond) {
		t.Errorf("trust condition = %v, want %v", ts["Condition"], wantCond)
	}
	if ts["Action"] != "sts:AssumeRole" {
		t.Errorf("trust action = %v", ts["Action"])
	}
	// Every write names resources in the customer's account (or the vendor's
	// layers/destination); "*" only for lambda:ListFunctions.
	for _, s := range role["Policies"].([]any)[0].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		b, _ := json.Marshal(st["Resource"])
		if reflect.DeepEqual(st["Resource"], []any{"*"}) && !reflect.DeepEqual(st["Action"], []any{"lambda:ListFunctions"}) {
			t.Errorf("statement %v has Resource *", st["Sid"])
		}
		// ReadAccessKey names the stack's own secret (a Ref), checked by TestCustomerAccessKeyCopies.
		if st["Sid"] != "ListFunctions" && st["Sid"] != "PassSightlineRoles" && st["Sid"] != "ReadAccessKey" &&
			!strings.Contains(string(b), "${AWS::AccountId}") && !strings.Contains(string(b), synth.cfg.VendorAccount) {
			t.Errorf("statement %v not scoped to an account: %s", st["Sid"], b)
		}
	}
	golden(t, "customer-role.json", role)
}

// TestCustomerAccessKeyCopies: the integration role reads only the stack's
// access-key secret and writes copies of it only outside the stack's region; the
// Firehose role reads the stack's secret and the copies, nothing else of Secrets Manager.
func TestCustomerAccessKeyCopies(t *testing.T) {
	secretRef := ""
	for id := range resources(synth.customer, "AWS::SecretsManager::Secret") {
		if strings.HasPrefix(id, "FirehoseAccessKeySecret") {
			secretRef = id
		}
	}
	if secretRef == "" {
		t.Fatal("no FirehoseAccessKeySecret")
	}
	copies := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:" + CustomerAccessKeySecret + "-*"}
	notHere := map[string]any{"StringNotEquals": map[string]any{"aws:RequestedRegion": map[string]any{"Ref": "AWS::Region"}}}
	want := map[string]map[string]any{
		"ReadAccessKey": {"Action": []any{"secretsmanager:GetSecretValue"}, "Resource": []any{map[string]any{"Ref": secretRef}}},
		"CopyAccessKeyToOtherRegions": {"Condition": notHere, "Resource": []any{copies}, "Action": []any{
			"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret"}},
	}
	got := map[string]map[string]any{}
	for _, s := range props(synth.customer["Resources"].(map[string]any)["IntegrationRole"].(map[string]any))["Policies"].([]any)[0].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		for _, a := range asList(st["Action"]) {
			if strings.HasPrefix(a.(string), "secretsmanager:") {
				sid := st["Sid"].(string)
				got[sid] = map[string]any{"Action": st["Action"], "Resource": st["Resource"]}
				if st["Condition"] != nil {
					got[sid]["Condition"] = st["Condition"]
				}
				break
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("integration role's Secrets Manager statements:\n got %v\nwant %v", got, want)
	}

	// The Firehose role's Secrets Manager grants (its DefaultPolicy).
	var fhActions []string
	var fhResources []any
	for id, r := range resources(synth.customer, "AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "FirehoseRoleDefaultPolicy") {
			continue
		}
		for _, s := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			for _, a := range asList(st["Action"]) {
				if strings.HasPrefix(a.(string), "secretsmanager:") {
					fhActions = append(fhActions, a.(string))
					fhResources = append(fhResources, st["Resource"])
				}
			}
		}
	}
	b, _ := json.Marshal(fhResources)
	if len(fhActions) != 3 || !strings.Contains(string(b), `":secretsmanager:*:"`) || !strings.Contains(string(b), `":secret:`+CustomerAccessKeySecret+`-*"`) ||
		!strings.Contains(string(b), `{"Ref":"`+secretRef+`"}`) {
		t.Errorf("Firehose role's Secrets Manager grants: %v on %s (want the stack's secret and the copies, read only)", fhActions, b)
	}
	for _, a := range fhActions {
		if a != "secretsmanager:GetSecretValue" && a != "secretsmanager:DescribeSecret" {
			t.Errorf("Firehose role may %s", a)
		}
	}
}

func TestCustomerStandalone(t *testing.T) {
	params, _ := synth.customer["Parameters"].(map[string]any)
	if _, ok := params["BootstrapVersion"]; ok {
		t.Error("customer template has the BootstrapVersion parameter")
	}
	rules, _ := synth.customer["Rules"].(map[string]any)
	if _, ok := rules["CheckBootstrapVersion"]; ok {
		t.Error("customer template has the CheckBootstrapVersion rule")
	}
	synth.cT.ResourceCountIs(jsii.String("AWS::CDK::Metadata"), jsii.Number(0))
	raw, _ := json.Marshal(synth.customer)
	for _, s := range []string{"cdk-hnb659fds", "AssetParameters", "aws:asset:", "S3Key"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("customer template references assets (%q)", s)
		}
	}
	for _, name := range []string{ParamExternalID, ParamAccessKey} {
		p, _ := params[name].(map[string]any)
		if p["NoEcho"] != true {
			t.Errorf("parameter %s is not NoEcho", name)
		}
	}
	for _, name := range []string{ParamIntegrationID, ParamCreateTrail} {
		if params[name] == nil {
			t.Errorf("parameter %s missing", name)
		}
	}
	if !bytes.Contains(raw, []byte(`"Fn::Equals":[{"Ref":"AWS::Region"},"eu-west-1"]`)) {
		t.Error("no rule pinning the stack to the vendor region")
	}
}

func TestCustomerFirehose(t *testing.T) {
	p := only(t, synth.customer, "AWS::KinesisFirehose::DeliveryStream")
	if !reflect.DeepEqual(p["DeliveryStreamEncryptionConfigurationInput"], map[string]any{"KeyType": "AWS_OWNED_CMK"}) {
		t.Errorf("encryption = %v", p["DeliveryStreamEncryptionConfigurationInput"])
	}
	h := p["HttpEndpointDestinationConfiguration"].(map[string]any)
	if got := h["EndpointConfiguration"].(map[string]any); got["Url"] != synth.cfg.ReceiverURL || got["AccessKey"] != nil {
		t.Errorf("endpoint = %v (want the receiver URL and no plain-text AccessKey)", got)
	}
	wantReq := map[string]any{
		"ContentEncoding":  "GZIP",
		"CommonAttributes": []any{map[string]any{"AttributeName": "region", "AttributeValue": map[string]any{"Ref": "AWS::Region"}}},
	}
	if !reflect.DeepEqual(h["RequestConfiguration"], wantReq) {
		t.Errorf("RequestConfiguration = %v, want %v", h["RequestConfiguration"], wantReq)
	}
	sm := h["SecretsManagerConfiguration"].(map[string]any)
	if sm["Enabled"] != true || sm["SecretARN"] == nil {
		t.Errorf("SecretsManagerConfiguration = %v", sm)
	}
	if h["S3BackupMode"] != "FailedDataOnly" {
		t.Errorf("S3BackupMode = %v", h["S3BackupMode"])
	}
	// The failed-delivery bucket: encrypted, private, expiring, TLS only.
	for id, r := range resources(synth.customer, "AWS::S3::Bucket") {
		bp := props(r)
		if bp["BucketEncryption"] == nil || bp["LifecycleConfiguration"] == nil {
			t.Errorf("bucket %s: encryption %v lifecycle %v", id, bp["BucketEncryption"], bp["LifecycleConfiguration"])
		}
		want := map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}
		if !reflect.DeepEqual(bp["PublicAccessBlockConfiguration"], want) {
			t.Errorf("bucket %s public access block = %v", id, bp["PublicAccessBlockConfiguration"])
		}
	}
	synth.cT.ResourceCountIs(jsii.String("AWS::S3::BucketPolicy"), jsii.Number(2))
	// CloudWatch Logs assumes its role only for this account's log groups.
	synth.cT.HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]any{
		"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action":    "sts:AssumeRole",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "logs.amazonaws.com"},
			"Condition": map[string]any{"StringLike": map[string]any{"aws:SourceArn": map[string]any{"Fn::Join": []any{"",
				[]any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":logs:*:", map[string]any{"Ref": "AWS::AccountId"}, ":*"}}}}},
		}}},
	})
}

func TestCustomerTrailIsConditional(t *testing.T) {
	for _, typ := range []string{"AWS::CloudTrail::Trail"} {
		for id, r := range resources(synth.customer, typ) {
			if r["Condition"] != "CreateTrailCondition" {
				t.Errorf("%s has no CreateTrailCondition", id)
			}
			p := props(r)
			if p["IsMultiRegionTrail"] != true ||
				!reflect.DeepEqual(p["EventSelectors"], []any{map[string]any{"IncludeManagementEvents": true, "ReadWriteType": "WriteOnly"}}) {
				t.Errorf("trail %v", p)
			}
		}
	}
	n := 0
	for id, r := range resources(synth.customer, "AWS::S3::Bucket") {
		if r["Condition"] == "CreateTrailCondition" {
			n++
		} else if !strings.HasPrefix(id, "FailedDeliveries") {
			t.Errorf("unconditional bucket %s", id)
		}
	}
	if n != 1 {
		t.Errorf("%d conditional trail buckets, want 1", n)
	}
}

func TestCustomerReport(t *testing.T) {
	synth.cT.HasResourceProperties(jsii.String("Custom::SightlineIntegration"), &map[string]any{
		"ServiceToken": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
			":sns:eu-west-1:111122223333:sightline-integration-events"}}},
		"IntegrationId":     map[string]any{"Ref": ParamIntegrationID},
		"ExternalId":        map[string]any{"Ref": ParamExternalID},
		"RoleArn":           map[string]any{"Fn::GetAtt": []any{"IntegrationRole", "Arn"}},
		"DeliveryStreamArn": map[string]any{"Fn::GetAtt": []any{"DeliveryStream", "Arn"}},
		"Region":            map[string]any{"Ref": "AWS::Region"},
		"StackVersion":      synth.cfg.CustomerVersion,
	})
}

func TestFindingsAreCollected(t *testing.T) {
	if len(synth.findings) != 0 {
		t.Skip("stacks have findings; reported by TestNoUnsuppressedNagFindings")
	}
	// The wiring that fails the app: a non-compliant stack must yield findings.
	got := nagFindingsOfBadStack(t)
	if len(got) == 0 {
		t.Fatal("an unencrypted, DLQ-less queue produced no cdk-nag finding")
	}
	joined := strings.Join(got, "\n")
	for _, id := range []string{"AwsSolutions-SQS3", "AwsSolutions-SQS4"} {
		if !strings.Contains(joined, id) {
			t.Errorf("findings lack %s:\n%s", id, joined)
		}
	}
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after review):\n%s", path, got)
	}
}

// joinText renders an Fn::Join of JSON text with each Ref as a placeholder word.
func joinText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var b strings.Builder
			for _, part := range j[1].([]any) {
				b.WriteString(joinText(part))
			}
			return b.String()
		}
		if r, ok := x["Ref"].(string); ok {
			return "REF_" + strings.ReplaceAll(r, ":", "_")
		}
	}
	return "UNKNOWN"
}
