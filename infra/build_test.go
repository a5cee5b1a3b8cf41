package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuildSpecArgs(t *testing.T) {
	b := buildSpec{Root: "/src", Name: "notifier", Out: "/src/build/lambda"}
	want := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid=", "-o", "/src/build/lambda/notifier/bootstrap", "./functions/notifier"}
	if got := b.args(); !slices.Equal(got, want) {
		t.Errorf("args = %q\nwant   %q", got, want)
	}
	if got := b.assetDir(); got != "/src/build/lambda/notifier" {
		t.Errorf("assetDir = %q", got)
	}
}

func TestBuildSpecEnv(t *testing.T) {
	b := buildSpec{}
	env := b.env([]string{"PATH=/bin", "GOOS=darwin", "GOARCH=amd64", "CGO_ENABLED=1", "GOFLAGS=-mod=mod", "HOME=/root"})
	want := []string{"PATH=/bin", "HOME=/root", "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly"}
	if !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
}

func TestBuildFunctionsMissingDirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "functions", "present"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "functions", "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		names   []string
		missing []string
	}{
		"one missing":    {[]string{"present", "kinesis-consumer"}, []string{"kinesis-consumer"}},
		"all missing":    {[]string{"a", "b"}, []string{"functions/a", "functions/b"}},
		"file, not dir":  {[]string{"afile"}, []string{"afile"}},
		"none requested": {nil, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dirs, err := buildFunctions(context.Background(), root, filepath.Join(root, "out"), tc.names)
			if len(tc.missing) == 0 {
				if err != nil || len(dirs) != 0 {
					t.Fatalf("dirs %v err %v", dirs, err)
				}
				return
			}
			if !errors.Is(err, ErrNoFunction) {
				t.Fatalf("err = %v, want ErrNoFunction", err)
			}
			for _, m := range tc.missing {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %q", err, m)
				}
			}
			if _, statErr := os.Stat(filepath.Join(root, "out")); !errors.Is(statErr, os.ErrNotExist) {
				t.Error("something was built although a directory was missing")
			}
		})
	}
}

type mapContext map[string]any

func (m mapContext) TryGetContext(key *string) interface{} { return m[*key] }

func TestEnvDefaults(t *testing.T) {
	env := map[string]string{"CDK_DEFAULT_ACCOUNT": "111122223333", "CDK_DEFAULT_REGION": "eu-west-1"}
	tests := map[string]struct {
		ctx  mapContext
		key  string
		want any
	}{
		"unset account uses CLI default": {mapContext{}, "vendorAccount", "111122223333"},
		"empty region uses CLI default":  {mapContext{"vendorRegion": ""}, "vendorRegion", "eu-west-1"},
		"context wins":                   {mapContext{"vendorAccount": "444455556666"}, "vendorAccount", "444455556666"},
		"other keys untouched":           {mapContext{}, "receiverUrl", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := tc.key
			if got := (envDefaults{tc.ctx, func(k string) string { return env[k] }}).TryGetContext(&k); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
