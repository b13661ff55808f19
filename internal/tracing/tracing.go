package tracing

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/nango-go/nango/internal/config"
)

// ScopeName is the instrumentation scope of every span of the server.
const ScopeName = "github.com/nango-go/nango"

// Tracer starts the server's spans. A nil *Tracer is tracing off: its
// methods return at once and the Finish functions accept the nil span they
// hand out.
type Tracer struct {
	t    trace.Tracer
	prop propagation.TextMapPropagator
}

// Options tune Setup for tests: a nil Exporter means the OTLP/HTTP
// exporter of cfg; BatchTimeout 0 the SDK's default (5 s).
type Options struct {
	Exporter     sdktrace.SpanExporter
	BatchTimeout time.Duration
}

// Setup builds the tracer cfg asks for. With no endpoint it returns a nil
// *Tracer and a shutdown that does nothing. Otherwise spans are batched
// (a bounded queue of 2048; a full queue drops spans, never blocks) and
// exported in the background; shutdown flushes what is queued within its
// context's deadline. Export failures are logged at warn level, at most
// once a minute, without header values.
func Setup(cfg config.Tracing, version string, log *slog.Logger, o Options) (*Tracer, func(context.Context) error) {
	if cfg.Endpoint == "" && o.Exporter == nil {
		return nil, func(context.Context) error { return nil }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	exp := o.Exporter
	if exp == nil {
		timeout := time.Duration(cfg.TimeoutMillis) * time.Millisecond
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		exp = NewExporter(cfg.Endpoint, cfg.Headers, timeout)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "nango"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("service.version", version))
	var bopts []sdktrace.BatchSpanProcessorOption
	if o.BatchTimeout > 0 {
		bopts = append(bopts, sdktrace.WithBatchTimeout(o.BatchTimeout))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, bopts...),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler(cfg.Sampler, cfg.SamplerArg)),
	)
	otel.SetErrorHandler(throttledHandler(log, time.Minute))
	t := &Tracer{t: tp.Tracer(ScopeName), prop: propagation.TraceContext{}}
	log.Info("tracing on: spans exported as OTLP/HTTP JSON", "endpoint", exporterDisplay(exp), "sampler", cfg.Sampler)
	return t, tp.Shutdown
}

func exporterDisplay(exp sdktrace.SpanExporter) string {
	if e, ok := exp.(*Exporter); ok {
		return e.display
	}
	return "(custom)"
}

// sampler maps an OTEL_TRACES_SAMPLER name (config.Samplers) to a sampler.
func sampler(name string, arg float64) sdktrace.Sampler {
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(arg)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(arg))
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// throttledHandler logs the SDK's errors (failed exports, mostly) at most
// once per interval, counting what it left out.
func throttledHandler(log *slog.Logger, every time.Duration) otel.ErrorHandler {
	var (
		mu      sync.Mutex
		last    time.Time
		skipped int
	)
	return otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= every {
			log.Warn("tracing: "+err.Error(), "similar_errors_not_logged", skipped)
			last, skipped = now, 0
			return
		}
		skipped++
	})
}

// StartServer starts the span of a request the server received, as a
// child of the caller's span when the request carries a traceparent
// header. It is named by its method until FinishServer knows the route.
func (t *Tracer) StartServer(ctx context.Context, r *http.Request) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	return t.t.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
}

// FinishServer names span "<method> <route>" (the route pattern without
// its method, never the path), records the status, the request id and the provider template
// (when known), and ends it. 5xx statuses mark the span as an error.
func FinishServer(span trace.Span, method, route string, status int, requestID, provider string) {
	if span == nil {
		return
	}
	if route != "" {
		// ServeMux patterns may start with their method ("GET /x").
		if i := strings.IndexByte(route, ' '); i >= 0 {
			route = strings.TrimLeft(route[i+1:], " ")
		}
		span.SetName(method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("nango.request_id", requestID))
	if provider != "" {
		span.SetAttributes(attribute.String("nango.provider", provider))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// StartClient starts the span of a call the server makes to a provider:
// component is what makes it ("oauth" for token, client-credentials and
// OAuth 1 requests and credential checks, "proxy" for proxied calls),
// attempt the proxy's attempt number (0 when there are no retries). The
// span is named "<component> <method> <host>"; no path or query is
// recorded. No trace header is sent to the provider: it is a third party.
func (t *Tracer) StartClient(ctx context.Context, component string, r *http.Request, attempt int) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	host := r.URL.Hostname()
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("server.address", host),
		attribute.String("nango.component", component),
	}
	if p := r.URL.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			attrs = append(attrs, attribute.Int("server.port", n))
		}
	}
	if attempt > 0 {
		attrs = append(attrs, attribute.Int("nango.attempt", attempt))
	}
	return t.t.Start(ctx, component+" "+r.Method+" "+host, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// FinishClient records a provider call's outcome — its status, or for a
// transport failure a class of error ("timeout", "canceled",
// "connect_error", "transport_error"; never the error's text, which may
// quote a URL) — and ends span. 5xx statuses and failures mark the span
// as an error.
func FinishClient(span trace.Span, status int, err error) {
	if span == nil {
		return
	}
	switch {
	case err != nil:
		class := errorClass(err)
		span.SetAttributes(attribute.String("error.type", class))
		span.SetStatus(codes.Error, class)
	case status > 0:
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// TraceID returns the trace id of ctx's span for log lines, or "".
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

func errorClass(err error) string {
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &op) && op.Op == "dial":
		return "connect_error"
	}
	return "transport_error"
}
