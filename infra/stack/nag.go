package stack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyChecks adds cdk-nag's AwsSolutions pack, with reports, to every stack under
// scope. Findings become warning/error annotations; Findings collects them after
// synthesis so the app can fail on any unsuppressed one.
func ApplyChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports: jsii.Bool(true),
		Verbose: jsii.Bool(true),
	}), nil)
}

// Findings lists the unsuppressed cdk-nag findings (warnings and errors of any rule
// pack) recorded in a synthesized assembly, sorted, one "stack: path: message" each.
func Findings(asm cxapi.CloudAssembly) []string {
	var out []string
	for _, st := range *asm.Stacks() {
		for _, m := range *st.Messages() {
			if m.Level != cxapi.SynthesisMessageLevel_WARNING && m.Level != cxapi.SynthesisMessageLevel_ERROR {
				continue
			}
			text := fmt.Sprint(m.Entry.Data)
			if s, ok := m.Entry.Data.(string); ok {
				text = s
			}
			if !isNagFinding(text) {
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s: %s", *st.StackName(), *m.Id, firstLine(text)))
		}
	}
	sort.Strings(out)
	return out
}

func isNagFinding(text string) bool {
	for _, p := range []string{"AwsSolutions-", "HIPAA.Security-", "NIST.800.53", "PCI.DSS.321-", "Serverless-", "CdkNagValidationFailure"} {
		if strings.HasPrefix(text, "[Error at") || strings.HasPrefix(text, p) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// suppress records a cdk-nag suppression on one construct (and its children when
// the finding is on a generated child such as a role's DefaultPolicy). appliesTo
// narrows IAM5-style findings to the listed wildcard resources or actions.
func suppress(c constructs.IConstruct, children bool, id, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		l := make([]interface{}, len(appliesTo))
		for i, a := range appliesTo {
			l[i] = a
		}
		s.AppliesTo = &l
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(children))
}

// nagForm renders a (possibly token-bearing) string the way cdk-nag prints it in a
// finding id, so suppressions can name the exact wildcard resource they cover:
// Fn::Join is flattened, Ref becomes <Name>, Fn::GetAtt <Id.Attr>, ${X} in Fn::Sub <X>.
func nagForm(st awscdk.Stack, s string) string {
	return flattenRef(st.Resolve(jsii.String(s)))
}

func flattenRef(v any) string {
	switch n := v.(type) {
	case nil:
		return ""
	case string:
		return strings.NewReplacer("${", "<", "}", ">").Replace(n)
	case *string:
		return flattenRef(*n)
	case map[string]any:
		if j, ok := n["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			items, _ := j[1].([]any)
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = flattenRef(it)
			}
			return strings.Join(parts, sep)
		}
		if sub, ok := n["Fn::Sub"]; ok {
			return flattenRef(sub)
		}
		if g, ok := n["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return "<" + flattenRef(g[0]) + "." + flattenRef(g[1]) + ">"
		}
		if r, ok := n["Ref"]; ok {
			return "<" + flattenRef(r) + ">"
		}
	}
	return fmt.Sprint(v)
}
