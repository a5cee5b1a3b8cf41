package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoFunction means a function named by the stack has no directory under functions/.
var ErrNoFunction = errors.New("function source directory missing")

// buildSpec is one reproducible Lambda build: `go build` of ./functions/<name>
// into <out>/<name>/bootstrap for provided.al2023 on arm64.
type buildSpec struct {
	Root string // module root (holds go.mod)
	Name string // function name = directory under functions/
	Out  string // output root, e.g. build/lambda
}

// dir is the function's package directory.
func (b buildSpec) dir() string { return filepath.Join(b.Root, "functions", b.Name) }

// assetDir is the directory CDK packages as the function's code (holds bootstrap).
func (b buildSpec) assetDir() string { return filepath.Join(b.Out, b.Name) }

// args are the go command's arguments. -trimpath and an empty build id make the
// binary depend only on the sources and the toolchain; -buildvcs=false keeps the
// working tree's git state out of it.
func (b buildSpec) args() []string {
	return []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid=",
		"-o", filepath.Join(b.assetDir(), "bootstrap"),
		"./" + filepath.ToSlash(filepath.Join("functions", b.Name))}
}

// env is the build environment: the caller's, cross-compiling for Lambda arm64.
func (b buildSpec) env(base []string) []string {
	out := make([]string, 0, len(base)+4)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
}

// check reports ErrNoFunction (naming the directory) when the function's package
// directory does not exist.
func (b buildSpec) check() error {
	st, err := os.Stat(b.dir())
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return fmt.Errorf("build %s: %w: %s", b.Name, ErrNoFunction, b.dir())
	}
	if err != nil {
		return fmt.Errorf("build %s: %w", b.Name, err)
	}
	return nil
}

// buildFunctions builds every named function and returns each one's asset
// directory. It checks all directories before building anything.
func buildFunctions(ctx context.Context, root, out string, names []string) (map[string]string, error) {
	specs := make([]buildSpec, len(names))
	var missing []error
	for i, n := range names {
		specs[i] = buildSpec{Root: root, Name: n, Out: out}
		if err := specs[i].check(); err != nil {
			missing = append(missing, err)
		}
	}
	if len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	dirs := make(map[string]string, len(names))
	for _, s := range specs {
		cmd := exec.CommandContext(ctx, "go", s.args()...)
		cmd.Dir = root
		cmd.Env = s.env(os.Environ())
		cmd.Stdout = os.Stderr // stdout is reserved for the CDK CLI
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build %s: go %s: %w", s.Name, strings.Join(s.args(), " "), err)
		}
		dirs[s.Name] = s.assetDir()
	}
	return dirs, nil
}
