package main

// The tracing (OpenTelemetry) of serve and sandbox, configured by the
// standard OTEL_* variables rather than flags. Off unless OTEL_TRACES_EXPORTER is set:
// unlike the OTel SDKs, whose default is otlp, an unset variable means no
// tracing, so that a plain `phoneapi serve` never tries to reach an
// exporter on localhost:4318. Values:
//
//	unset, "none"  off: no SDK, the handlers and store start no spans
//	"console"      spans as JSON lines on standard output
//	"otlp"         OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (or
//	               OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTEL_EXPORTER_OTLP_PROTOCOL
//	               http/protobuf (default) or grpc
//
// OTEL_SDK_DISABLED=true turns tracing off whatever the exporter.
// OTEL_SERVICE_NAME is the service.name (default "phoneapi");
// service.version is the build's version. The on/off decision, the
// exporter's name and protocol are read through run's getenv and checked
// before anything is touched; the OTLP exporter's own settings (endpoint,
// headers, timeouts), the sampler (OTEL_TRACES_SAMPLER, default
// parentbased_always_on), the batcher (OTEL_BSP_*) and
// OTEL_RESOURCE_ATTRIBUTES are read by the OpenTelemetry SDK from the
// process's environment.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceFlushTimeout bounds the flush of the spans left at shutdown.
const traceFlushTimeout = 5 * time.Second

// traceOptions is the tracing configuration of serve or sandbox.
type traceOptions struct {
	exporter string // "" (off), "console" or "otlp"
	service  string // service.name
}

// traceConfig reads and checks the OTEL_* variables for the command cmd;
// an unknown exporter or OTLP protocol is a usage error naming cmd and the
// variable.
func traceConfig(cmd string, getenv func(string) string) (traceOptions, error) {
	t := traceOptions{service: getenv("OTEL_SERVICE_NAME")}
	if t.service == "" {
		t.service = "phoneapi"
	}
	exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	switch exp {
	case "", "none":
	case "console", "otlp":
		t.exporter = exp
	default:
		return t, envError(cmd, "OTEL_TRACES_EXPORTER", exp, "is not none, console or otlp")
	}
	for _, env := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch p := getenv(env); p {
		case "", "grpc", "http/protobuf":
		default:
			return t, envError(cmd, env, p, "is not http/protobuf or grpc")
		}
	}
	switch d := strings.ToLower(strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))); d {
	case "", "false":
	case "true":
		t.exporter = ""
	default:
		return t, envError(cmd, "OTEL_SDK_DISABLED", d, "is not true or false")
	}
	return t, nil
}

// envError is a setting without a flag that is wrong: exit 2.
func envError(cmd, env, value, problem string) error {
	return &usageError{msg: fmt.Sprintf("%s: %s: %q %s", cmd, env, value, problem), cmd: cmd}
}

// provider returns the tracer provider of t, exporting console spans to
// stdout, and the function that flushes and stops it; nil and a no-op
// when tracing is off.
func (t traceOptions) provider(ctx context.Context, version string, stdout io.Writer) (trace.TracerProvider, func() error, error) {
	if t.exporter == "" {
		return nil, func() error { return nil }, nil
	}
	var exp sdktrace.SpanExporter
	var err error
	if t.exporter == "console" {
		exp, err = stdouttrace.New(stdouttrace.WithWriter(stdout))
	} else {
		exp, err = autoexport.NewSpanExporter(ctx) // reads OTEL_TRACES_EXPORTER=otlp and the OTLP settings
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %s exporter: %w", t.exporter, err)
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", t.service), attribute.String("service.version", version)))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
		defer cancel()
		return tp.Shutdown(ctx)
	}
	return tp, stop, nil
}

// describe says where spans go, for the start-up log line.
func (t traceOptions) describe() string {
	if t.exporter == "" {
		return "off"
	}
	return t.exporter
}
