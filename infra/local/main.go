// Command local runs Sightline's main job on this machine, against the embedded
// default environment: DynamoDB Local (started unless DYNAMODB_ENDPOINT is set) and,
// for the instrumentation part of the demo, moto_server (unless MOTO_ENDPOINT is set).
//
//	go run ./infra/local demo                      the whole pipeline on a generated day
//	go run ./infra/local replay [flags] FILE...    replay delivery files through the Lambdas' handlers
//	go run ./infra/local quick-create-link --tenant T
//
// Results go to stdout as JSON lines; diagnostics go to stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sightline:", err)
		stop()
		os.Exit(1)
	}
}

const usage = `usage:
  local demo [--seed N] [--invocations N] [--functions N]
  local replay [--region R] [--config functions.json] [--repeat N] [--batch N] [--workers N] [--tenant T] FILE...
  local quick-create-link --tenant T [--region R] [--template-url URL]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch args[0] {
	case "replay":
		return runReplay(ctx, log, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, log, args[1:], stdout, stderr)
	case "quick-create-link":
		return runQuickCreateLink(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
