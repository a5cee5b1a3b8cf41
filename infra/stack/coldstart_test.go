package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestColdStartWithTemplateEnvironment proves that the vendor stack and the
// functions agree: every function, built for the host, is started with exactly the
// Environment.Variables the synthesized template gives it (intrinsics resolved to
// placeholders) and must get as far as asking the Lambda Runtime API for its first
// invocation: its configuration parsed and validated, its clients built, its
// cold-start reads (the layer parameter) answered. A fake Runtime API and a fake
// AWS endpoint on 127.0.0.1 stand in for Lambda and AWS.
func TestColdStartWithTemplateEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the eight functions")
	}
	bin := buildForHost(t)
	res := newResolver(t, synth.vendor)
	for _, name := range Functions() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := templateEnvironment(t, synth.vendor, name)
			vars := make(map[string]string, len(env))
			for k, v := range env {
				vars[k] = res.resolve(t, v)
			}
			run := coldStart(t, filepath.Join(bin, name), name, vars, res)
			if !run.reached {
				t.Errorf("%s did not reach the Runtime API's next call (%s) with environment %v:\n%s", name, run.end, sortedKeys(vars), run.out)
			}
			if strings.Contains(run.out, "cold start failed") {
				t.Errorf("cold start failed:\n%s", run.out)
			}
			// The functions that instrument read the layer map the stack stores.
			wantParams := 0
			if name == FnReinstrumenter || name == FnIntegrationAPI {
				wantParams = 1
			}
			if len(run.params) != wantParams || (wantParams == 1 && run.params[0] != LayerArnsParameter) {
				t.Errorf("SSM parameters read: %q, want %d read of %s", run.params, wantParams, LayerArnsParameter)
			}
			if len(run.unexpected) > 0 {
				t.Errorf("unexpected AWS calls during cold start: %v\n%s", run.unexpected, run.out)
			}
		})
	}
	// The harness can fail: a variable the template sets, taken away, fails the
	// cold start before the Runtime API is reached.
	t.Run("control: kinesis-consumer without DELIVERY_REGION", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{}
		for k, v := range templateEnvironment(t, synth.vendor, FnKinesisConsumer) {
			vars[k] = res.resolve(t, v)
		}
		delete(vars, "DELIVERY_REGION")
		run := coldStart(t, filepath.Join(bin, FnKinesisConsumer), FnKinesisConsumer, vars, res)
		if run.reached || !strings.Contains(run.out, "cold start failed") || !strings.Contains(run.out, "DELIVERY_REGION") {
			t.Errorf("reached=%v (%s), want a failed cold start naming DELIVERY_REGION:\n%s", run.reached, run.end, run.out)
		}
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// buildForHost builds every function with the Lambda build tags for the host, in
// one go build (shared compilation), into a temporary directory.
func buildForHost(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkgs := make([]string, 0, len(Functions()))
	for _, name := range Functions() {
		pkgs = append(pkgs, "./functions/"+name)
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-o", dir + string(os.PathSeparator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return dir
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

// templateEnvironment returns the function's Environment.Variables, found by its
// FunctionName (sightline-<name>).
func templateEnvironment(t *testing.T, tmpl map[string]any, name string) map[string]any {
	t.Helper()
	for _, r := range resources(tmpl, "AWS::Lambda::Function") {
		p := props(r)
		if p["FunctionName"] != VendorRoleName(name) {
			continue
		}
		env, _ := p["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		return vars
	}
	t.Fatalf("no function %s in the template", VendorRoleName(name))
	return nil
}

// resolver turns the CloudFormation intrinsics of environment values into
// plausible deployed values. An intrinsic it does not know fails the test, so a
// new kind of reference is handled deliberately.
type resolver struct {
	tmpl            map[string]any
	account, region string
}

func newResolver(t *testing.T, tmpl map[string]any) *resolver {
	return &resolver{tmpl: tmpl, account: synth.cfg.VendorAccount, region: synth.cfg.VendorRegion}
}

func (r *resolver) resource(t *testing.T, id string) (typ string, p map[string]any) {
	t.Helper()
	res, ok := r.tmpl["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("reference to unknown resource %s", id)
	}
	p, _ = res["Properties"].(map[string]any)
	return res["Type"].(string), p
}

func (r *resolver) resolve(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			return r.ref(t, ref)
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return r.getAtt(t, ga[0].(string), ga[1].(string))
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			parts := j[1].([]any)
			out := make([]string, len(parts))
			for i, p := range parts {
				out[i] = r.resolve(t, p)
			}
			return strings.Join(out, j[0].(string))
		}
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}

func (r *resolver) ref(t *testing.T, id string) string {
	switch id {
	case "AWS::Region":
		return r.region
	case "AWS::AccountId":
		return r.account
	case "AWS::Partition":
		return "aws"
	case "AWS::URLSuffix":
		return "amazonaws.com"
	}
	typ, p := r.resource(t, id)
	switch typ {
	case "AWS::DynamoDB::Table":
		return "SightlineVendor-" + id + "-1A2B3C4D5E6F"
	case "AWS::SQS::Queue":
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/SightlineVendor-%s-1A2B3C4D5E6F", r.region, r.account, id)
	case "AWS::SSM::Parameter":
		return p["Name"].(string)
	case "AWS::SNS::Topic":
		name, _ := p["TopicName"].(string)
		if name == "" {
			name = "SightlineVendor-" + id
		}
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", r.region, r.account, name)
	case "AWS::S3::Bucket":
		return "sightlinevendor-" + strings.ToLower(id) + "-1a2b3c4d5e6f"
	}
	t.Fatalf("no placeholder for Ref of %s (%s)", id, typ)
	return ""
}

func (r *resolver) getAtt(t *testing.T, id, attr string) string {
	typ, p := r.resource(t, id)
	switch typ + "." + attr {
	case "AWS::Events::EventBus.Arn":
		return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", r.region, r.account, p["Name"])
	case "AWS::Lambda::Url.FunctionUrl":
		return fmt.Sprintf("https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.%s.on.aws/", r.region)
	}
	t.Fatalf("no placeholder for Fn::GetAtt %s.%s (%s)", id, attr, typ)
	return ""
}

// parameterValue is the Value the template gives the SSM parameter called name.
func (r *resolver) parameterValue(name string) (string, bool) {
	for _, res := range resources(r.tmpl, "AWS::SSM::Parameter") {
		if p := props(res); p["Name"] == name {
			v, ok := p["Value"].(string)
			return v, ok
		}
	}
	return "", false
}

// fakeAWS is a Lambda Runtime API ("next" blocks until the test ends) and an AWS
// endpoint answering SSM GetParameter from the template's parameters; every other
// call is recorded as unexpected and refused.
type fakeAWS struct {
	res     *resolver
	reached chan struct{}
	once    sync.Once
	done    chan struct{}

	mu         sync.Mutex
	unexpected []string
	params     []string // SSM parameters read
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
		f.once.Do(func() { close(f.reached) })
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-Amz-Target") == "AmazonSSM.GetParameter" {
		var in struct{ Name string }
		_ = json.Unmarshal(body, &in)
		f.mu.Lock()
		f.params = append(f.params, in.Name)
		f.mu.Unlock()
		if v, ok := f.res.parameterValue(in.Name); ok {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
				"Name": in.Name, "Type": "String", "Value": v, "Version": 1}})
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ParameterNotFound","message":"no such parameter in the template"}`)
		return
	}
	f.mu.Lock()
	f.unexpected = append(f.unexpected, fmt.Sprintf("%s %s %s", r.Method, r.URL.Path, r.Header.Get("X-Amz-Target")))
	f.mu.Unlock()
	w.WriteHeader(http.StatusBadRequest)
}

// coldRun is the outcome of one cold start.
type coldRun struct {
	reached    bool     // the function asked the Runtime API for an invocation
	end        string   // how the run ended
	out        string   // the function's stdout and stderr
	unexpected []string // AWS calls other than SSM GetParameter
	params     []string // SSM parameters read
}

// coldStart runs one function binary with vars plus what Lambda itself sets, and
// waits until it asks for its first invocation, exits, or 60 s pass; then the
// process (started by this test) is killed by its PID.
func coldStart(t *testing.T, binary, name string, vars map[string]string, res *resolver) coldRun {
	t.Helper()
	fake := &fakeAWS{res: res, reached: make(chan struct{}), done: make(chan struct{})}
	srv := httptest.NewServer(fake) // 127.0.0.1
	defer srv.Close()
	defer close(fake.done) // runs before srv.Close: releases the blocked "next"
	u, _ := url.Parse(srv.URL)
	home := t.TempDir()

	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + u.Host,
		"AWS_REGION=" + res.region, "AWS_DEFAULT_REGION=" + res.region,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=cold-start-test",
		"AWS_LAMBDA_FUNCTION_NAME=" + VendorRoleName(name), "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_LOG_FORMAT=JSON",
		"_HANDLER=bootstrap", "TZ=:UTC", "HOME=" + home,
		// Every AWS client talks to the fake; nothing leaves the loopback interface.
		"AWS_ENDPOINT_URL=" + srv.URL, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
	}
	for _, k := range sortedKeys(vars) {
		env = append(env, k+"="+vars[k])
	}

	var out bytes.Buffer
	cmd := exec.Command(binary)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var run coldRun
	select {
	case <-fake.reached:
		run.reached, run.end = true, "reached next"
		if err := cmd.Process.Kill(); err != nil {
			t.Errorf("kill %d: %v", cmd.Process.Pid, err)
		}
		<-exited
	case err := <-exited:
		run.end = fmt.Sprintf("exited: %v", err)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
		run.end = "timed out after 60 s"
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	run.out, run.unexpected, run.params = out.String(), fake.unexpected, fake.params
	return run
}
