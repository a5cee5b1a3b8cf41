package stack

import (
	"encoding/json"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

// functionProps returns the template properties of function name.
func functionProps(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, r := range resources(synth.vendor, "AWS::Lambda::Function") {
		if p := props(r); p["FunctionName"] == VendorRoleName(name) {
			return p
		}
	}
	t.Fatalf("no function %s", name)
	return nil
}

// TestFunctionEnvironmentNames pins the variable names of every function: exactly
// what its run() parses (the cold-start test proves the values are accepted).
func TestFunctionEnvironmentNames(t *testing.T) {
	tests := map[string][]string{
		FnKinesisConsumer:   {"ALERT_QUEUE_URL", "DELIVERY_REGION", "LAMBDA_PRICES", "TABLE_NAME"},
		FnFirehoseReceiver:  {"ALERT_QUEUE_URL", "LAMBDA_PRICES", "MAX_BODY_BYTES", "TABLE_NAME"},
		FnFirehoseTransform: {"ALERT_QUEUE_URL", "DELIVERY_REGION", "LAMBDA_PRICES", "TABLE_NAME"},
		FnInsightsEvaluator: {"ALERT_QUEUE_URL", "TABLE_NAME"},
		FnNotifier:          {"DASHBOARD_URL", "TABLE_NAME"},
		FnReinstrumenter:    {"CUSTOMER_ROLE_NAME", "EVENT_BUS_ARN", "LAYER_ARNS", "RECEIVER_URL", "TABLE_NAME"},
		FnIntegrationAPI: {"CUSTOMER_ROLE_NAME", "EVENT_BUS_ARN", "LAYER_ARNS", "LOG_DESTINATION_ARN", "RECEIVER_URL",
			"STACK_REGION", "TABLE_NAME", "TEMPLATE_URL"},
		FnIntegrationEvents: {"EVENT_BUS_ARN", "LOG_DESTINATION_ARN", "TABLE_NAME"},
	}
	if len(tests) != len(Functions()) {
		t.Fatalf("%d functions pinned, stack has %d", len(tests), len(Functions()))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			vars := templateEnvironment(t, synth.vendor, name)
			got := make([]string, 0, len(vars))
			for k := range vars {
				got = append(got, k)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("environment %v, want %v", got, want)
			}
		})
	}
}

// destinationJoin is the log destination's ARN as the template spells it.
var destinationJoin = map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
	":logs:eu-west-1:111122223333:destination:sightline-logs"}}}

// TestFunctionEnvironmentValues checks the references behind the values.
func TestFunctionEnvironmentValues(t *testing.T) {
	ref := func(prefix string) func(any) bool {
		return func(v any) bool {
			m, _ := v.(map[string]any)
			s, _ := m["Ref"].(string)
			return strings.HasPrefix(s, prefix)
		}
	}
	getAtt := func(prefix, attr string) func(any) bool {
		return func(v any) bool {
			m, _ := v.(map[string]any)
			ga, _ := m["Fn::GetAtt"].([]any)
			return len(ga) == 2 && strings.HasPrefix(ga[0].(string), prefix) && ga[1] == attr
		}
	}
	is := func(want any) func(any) bool { return func(v any) bool { return reflect.DeepEqual(v, want) } }
	tests := map[string]struct {
		fn, key string
		ok      func(any) bool
	}{
		"table":                 {FnNotifier, "TABLE_NAME", ref("Sightline")},
		"alert queue":           {FnInsightsEvaluator, "ALERT_QUEUE_URL", ref("AlertQueue")},
		"delivery region":       {FnKinesisConsumer, "DELIVERY_REGION", is(synth.cfg.VendorRegion)},
		"max body":              {FnFirehoseReceiver, "MAX_BODY_BYTES", is("4194304")},
		"dashboard":             {FnNotifier, "DASHBOARD_URL", is(synth.cfg.DashboardURL)},
		"layer parameter":       {FnReinstrumenter, "LAYER_ARNS", ref("LayerArns")},
		"receiver URL":          {FnReinstrumenter, "RECEIVER_URL", getAtt("FirehoseReceiverFunctionFunctionUrl", "FunctionUrl")},
		"bus":                   {FnIntegrationAPI, "EVENT_BUS_ARN", getAtt("LambdaEventsBus", "Arn")},
		"bus (events)":          {FnIntegrationEvents, "EVENT_BUS_ARN", getAtt("LambdaEventsBus", "Arn")},
		"destination (events)":  {FnIntegrationEvents, "LOG_DESTINATION_ARN", is(destinationJoin)},
		"destination (api)":     {FnIntegrationAPI, "LOG_DESTINATION_ARN", is(destinationJoin)},
		"prices":                {FnFirehoseReceiver, "LAMBDA_PRICES", is(synth.cfg.LambdaPrices)},
		"stack region":          {FnIntegrationAPI, "STACK_REGION", is(synth.cfg.VendorRegion)},
		"customer role":         {FnIntegrationAPI, "CUSTOMER_ROLE_NAME", is(CustomerRoleName)},
		"template in s3 bucket": {FnIntegrationAPI, "TEMPLATE_URL", is(map[string]any{"Fn::Join": []any{"", []any{"s3://", map[string]any{"Ref": "Templates785E9C36"}, "/customer/1/SightlineCustomer.template.json"}}})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if v := templateEnvironment(t, synth.vendor, tc.fn)[tc.key]; !tc.ok(v) {
				t.Errorf("%s %s = %v", tc.fn, tc.key, v)
			}
		})
	}
}

// TestLayerParameter: the parameter holds the layer map in the format the
// functions parse at cold start.
func TestLayerParameter(t *testing.T) {
	p := only(t, synth.vendor, "AWS::SSM::Parameter")
	if p["Name"] != LayerArnsParameter || p["Type"] != "String" {
		t.Fatalf("parameter %v %v, want String %s", p["Name"], p["Type"], LayerArnsParameter)
	}
	got, err := instrument.ParseLayers([]byte(p["Value"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(map[string]string(got), synth.cfg.Layers) {
		t.Errorf("layers %v, want %v", got, synth.cfg.Layers)
	}
	if v := DefaultConfig().LayersJSON(); v != "{}" {
		t.Errorf("no layers: %q, want {}", v)
	}
	if _, err := instrument.ParseLayers([]byte(DefaultConfig().LayersJSON())); err != nil {
		t.Errorf("the default value does not parse: %v", err)
	}
}

// roleStatements returns the statements of every IAM policy attached to the role
// named roleName.
func roleStatements(t *testing.T, roleName string) []map[string]any {
	t.Helper()
	var roleID string
	for id, r := range resources(synth.vendor, "AWS::IAM::Role") {
		if props(r)["RoleName"] == roleName {
			roleID = id
		}
	}
	if roleID == "" {
		t.Fatalf("no role %s", roleName)
	}
	var out []map[string]any
	for _, r := range resources(synth.vendor, "AWS::IAM::Policy") {
		p := props(r)
		attached := false
		for _, ro := range p["Roles"].([]any) {
			if m, ok := ro.(map[string]any); ok && m["Ref"] == roleID {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

// TestFunctionGrants pins every action each function's role is allowed: what its
// code calls (see TableActions) plus what its triggers need, nothing else.
func TestFunctionGrants(t *testing.T) {
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	sendAlerts := []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}
	admission := []string{"events:PutPermission", "events:RemovePermission", "logs:PutDestinationPolicy"}
	ingestTable := []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}
	kinesisRead := []string{"kinesis:DescribeStream", "kinesis:DescribeStreamConsumer", "kinesis:DescribeStreamSummary",
		"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard"}
	join := func(ls ...[]string) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l...)
		}
		return out
	}
	tests := map[string][]string{
		FnKinesisConsumer:   join(logs, sendAlerts, ingestTable, kinesisRead),
		FnFirehoseReceiver:  join(logs, sendAlerts, ingestTable),
		FnFirehoseTransform: join(logs, sendAlerts, ingestTable),
		FnInsightsEvaluator: join(logs, sendAlerts, []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}),
		FnNotifier: join(logs, []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
			"secretsmanager:GetSecretValue", "ssm:GetParameter", "sns:Publish", "ses:SendEmail"}),
		FnReinstrumenter: join(logs, []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "ssm:GetParameter", "sts:AssumeRole"}),
		FnIntegrationAPI: join(logs, admission, []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
			"dynamodb:UpdateItem", "s3:GetObject", "ssm:GetParameter", "sts:AssumeRole"}),
		FnIntegrationEvents: join(logs, admission, []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			set := map[string]bool{}
			for _, s := range roleStatements(t, VendorRoleName(name)) {
				if s["Effect"] != "Allow" {
					t.Errorf("%v statement", s["Effect"])
				}
				for _, a := range asList(s["Action"]) {
					set[a.(string)] = true
				}
			}
			got := make([]string, 0, len(set))
			for a := range set {
				got = append(got, a)
			}
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("actions\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestGrantResources checks where the sensitive actions point.
func TestGrantResources(t *testing.T) {
	resourcesOf := func(t *testing.T, fn, action string) string {
		var rs []any
		for _, s := range roleStatements(t, VendorRoleName(fn)) {
			for _, a := range asList(s["Action"]) {
				if a == action {
					rs = append(rs, asList(s["Resource"])...)
				}
			}
		}
		b, _ := json.Marshal(rs)
		return string(b)
	}
	tests := map[string]struct {
		fn, action string
		want       []string // substrings of the JSON of the resources
		not        []string
	}{
		"dynamodb on the table only": {FnIntegrationAPI, "dynamodb:DeleteItem",
			[]string{`{"Fn::GetAtt":["Sightline90F4E11A","Arn"]}`}, []string{`"*"`}},
		"layer parameter only (reinstrumenter)": {FnReinstrumenter, "ssm:GetParameter",
			[]string{`:parameter",{"Ref":"LayerArns`}, []string{"notify", "*"}},
		"layer parameter only (integration API)": {FnIntegrationAPI, "ssm:GetParameter",
			[]string{`:parameter",{"Ref":"LayerArns`}, []string{"notify", "*"}},
		"notifier parameters": {FnNotifier, "ssm:GetParameter",
			[]string{":parameter/sightline/notify/*"}, []string{"layer-arns"}},
		"customer role by name": {FnReinstrumenter, "sts:AssumeRole",
			[]string{":iam::*:role/SightlineIntegrationRole"}, nil},
		"customer template objects": {FnIntegrationAPI, "s3:GetObject",
			[]string{`"/customer/*"`}, nil},
		"bus admission (events)": {FnIntegrationEvents, "events:PutPermission",
			[]string{`[{"Fn::GetAtt":["LambdaEventsBus`}, []string{"*"}},
		"bus revocation (api)": {FnIntegrationAPI, "events:RemovePermission",
			[]string{`[{"Fn::GetAtt":["LambdaEventsBus`}, []string{"*"}},
		"destination policy (events)": {FnIntegrationEvents, "logs:PutDestinationPolicy",
			[]string{`:logs:eu-west-1:111122223333:destination:sightline-logs"]]}]`}, []string{"*"}},
		"destination policy (api)": {FnIntegrationAPI, "logs:PutDestinationPolicy",
			[]string{`:logs:eu-west-1:111122223333:destination:sightline-logs"]]}]`}, []string{"*"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := resourcesOf(t, tc.fn, tc.action)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s resources %s lack %s", tc.action, got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%s resources %s include %s", tc.action, got, n)
				}
			}
		})
	}
}

// TestQuickCreateLinkMatchesTemplateParameters: every param_* the integration
// API's link builder (integration.IntegrationLink) emits is a parameter the
// synthesized customer template declares, and every parameter without a default
// is filled by the link.
func TestQuickCreateLinkMatchesTemplateParameters(t *testing.T) {
	c := &integration.Created{Integration: &integration.Integration{ID: "abcdefgh12345678", ExternalID: strings.Repeat("x", 43)},
		AccessKey: "abcdefgh12345678." + strings.Repeat("k", 43)}
	link, err := integration.IntegrationLink(synth.cfg.VendorRegion, "https://b.s3.eu-west-1.amazonaws.com/customer/1/SightlineCustomer.template.json", c)
	if err != nil {
		t.Fatal(err)
	}
	_, frag, ok := strings.Cut(link, "#/stacks/quickcreate?")
	if !ok {
		t.Fatalf("link %s has no quick-create fragment", link)
	}
	q, err := url.ParseQuery(frag)
	if err != nil {
		t.Fatal(err)
	}
	declared, _ := synth.customer["Parameters"].(map[string]any)
	filled := map[string]bool{}
	for k, v := range q {
		name, ok := strings.CutPrefix(k, "param_")
		if !ok {
			continue
		}
		filled[name] = true
		p, ok := declared[name].(map[string]any)
		if !ok {
			t.Errorf("the link sends param_%s; the template declares no parameter %s", name, name)
			continue
		}
		// The value must pass the parameter's own constraints.
		if re, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile("^(?:"+re+")$").MatchString(v[0]) {
			t.Errorf("param_%s=%q does not match AllowedPattern %s", name, v[0], re)
		}
		if ml, ok := p["MinLength"].(float64); ok && float64(len(v[0])) < ml {
			t.Errorf("param_%s is shorter than MinLength %v", name, ml)
		}
	}
	for name, p := range declared {
		if _, hasDefault := p.(map[string]any)["Default"]; !hasDefault && !filled[name] {
			t.Errorf("required parameter %s (no default) is not filled by the link", name)
		}
	}
	if len(filled) == 0 {
		t.Fatal("the link fills no parameter")
	}
}

// TestCustomerNamesMatchInstrument: the names package instrument uses by default
// exist in the customer template.
func TestCustomerNamesMatchInstrument(t *testing.T) {
	roles := map[string]bool{}
	for _, r := range resources(synth.customer, "AWS::IAM::Role") {
		if n, ok := props(r)["RoleName"].(string); ok {
			roles[n] = true
		}
	}
	for _, n := range []string{CustomerRoleName, CustomerLogsRoleName, CustomerFirehoseRoleName, CustomerEventsRoleName} {
		if !roles[n] {
			t.Errorf("customer template has no role named %s (roles: %v)", n, roles)
		}
	}
	if p := only(t, synth.customer, "AWS::SecretsManager::Secret"); p["Name"] != CustomerAccessKeySecret {
		t.Errorf("secret name %v, want %s", p["Name"], CustomerAccessKeySecret)
	}
	p := only(t, synth.customer, "AWS::Events::Rule")
	if id := p["Targets"].([]any)[0].(map[string]any)["Id"]; id != CustomerForwardTargetID {
		t.Errorf("forwarding target id %v, want %s", id, CustomerForwardTargetID)
	}
}
