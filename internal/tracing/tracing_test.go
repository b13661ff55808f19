package tracing_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/tracing"
)

// collector is an OTLP/HTTP endpoint keeping what it receives.
type collector struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	status  int
}

func newCollector(t *testing.T) *collector {
	c := &collector{status: http.StatusOK}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"), http.StatusBadRequest)
			return
		}
		c.bodies = append(c.bodies, b)
		c.headers = append(c.headers, r.Header.Clone())
		w.WriteHeader(c.status)
	}))
	t.Cleanup(c.Close)
	return c
}

// OTLP JSON as a collector decodes it.
type otlp struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []kv `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Scope struct {
				Name string `json:"name"`
			} `json:"scope"`
			Spans []span `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

type span struct {
	TraceID, SpanID, ParentSpanID, Name string
	Kind                                int
	StartTimeUnixNano, EndTimeUnixNano  string
	Attributes                          []kv
	Status                              *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	Events []struct {
		Name       string `json:"name"`
		Attributes []kv   `json:"attributes"`
	}
}

type kv struct {
	Key   string         `json:"key"`
	Value map[string]any `json:"value"`
}

func (s span) attr(k string) any {
	for _, a := range s.Attributes {
		if a.Key == k {
			for _, v := range a.Value {
				return v
			}
		}
	}
	return nil
}

func (c *collector) spans(t *testing.T) []span {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, b := range c.bodies {
		var doc otlp
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("the export is not OTLP JSON: %v\n%s", err, b)
		}
		for _, rs := range doc.ResourceSpans {
			var service string
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service, _ = a.Value["stringValue"].(string)
				}
			}
			if service == "" {
				t.Fatalf("resource without service.name: %s", b)
			}
			for _, ss := range rs.ScopeSpans {
				if ss.Scope.Name != tracing.ScopeName {
					t.Fatalf("scope %q", ss.Scope.Name)
				}
				out = append(out, ss.Spans...)
			}
		}
	}
	return out
}

// TestExporterEncoding exports spans built through the SDK and checks the
// document a collector decodes: hex ids, parent link, kinds, OTLP status
// codes (whose numbers differ from the API's), typed attribute values,
// events, times as decimal strings, and the configured headers.
func TestExporterEncoding(t *testing.T) {
	col := newCollector(t)
	exp := tracing.NewExporter(col.URL+"/v1/traces", []config.OTLPHeader{{Name: "X-Api-Key", Value: secret.String("k ey")}}, 5*time.Second)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer(tracing.ScopeName)

	ctx, parent := tr.Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("s", "v"), attribute.Int("i", 42), attribute.Bool("b", true), attribute.Float64("f", 1.5),
		attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{7})))
	child.AddEvent("ev", trace.WithAttributes(attribute.String("k", "v")))
	child.SetStatus(codes.Error, "boom")
	child.End()
	parent.SetStatus(codes.Ok, "")
	parent.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := col.spans(t)
	if len(spans) != 2 {
		t.Fatalf("%d spans exported, want 2", len(spans))
	}
	byName := map[string]span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	p, c := byName["parent"], byName["child"]
	if len(p.TraceID) != 32 || len(p.SpanID) != 16 || strings.Trim(p.TraceID, "0123456789abcdef") != "" {
		t.Fatalf("ids not lower-case hex of 16 and 8 bytes: %q %q", p.TraceID, p.SpanID)
	}
	if c.TraceID != p.TraceID || c.ParentSpanID != p.SpanID || p.ParentSpanID != "" {
		t.Fatalf("parent link lost: parent %+v child %+v", p, c)
	}
	if p.Kind != 2 || c.Kind != 3 {
		t.Fatalf("kinds %d, %d; OTLP numbers SERVER 2, CLIENT 3", p.Kind, c.Kind)
	}
	if c.Status == nil || c.Status.Code != 2 || c.Status.Message != "boom" || p.Status == nil || p.Status.Code != 1 {
		t.Fatalf("statuses %+v, %+v; OTLP numbers ERROR 2, OK 1", c.Status, p.Status)
	}
	if c.attr("s") != "v" || c.attr("i") != "42" || c.attr("b") != true || c.attr("f") != 1.5 {
		t.Fatalf("attributes %+v (intValue is a decimal string in OTLP JSON)", c.Attributes)
	}
	arr, _ := c.attr("ss").(map[string]any)
	if vals, _ := arr["values"].([]any); len(vals) != 2 {
		t.Fatalf("string slice attribute %+v", c.attr("ss"))
	}
	if len(c.Events) != 1 || c.Events[0].Name != "ev" {
		t.Fatalf("events %+v", c.Events)
	}
	for _, ts := range []string{p.StartTimeUnixNano, p.EndTimeUnixNano} {
		if len(ts) < 19 || strings.Trim(ts, "0123456789") != "" {
			t.Fatalf("time %q is not a decimal count of nanoseconds", ts)
		}
	}
	col.mu.Lock()
	got := col.headers[0].Get("X-Api-Key")
	col.mu.Unlock()
	if got != "k ey" {
		t.Fatalf("configured header arrived as %q", got)
	}
}

// TestExporterErrorsKeepSecrets: a refusing collector gives an error that
// names the endpoint and status, not a header value nor the URL's
// credentials or query.
func TestExporterErrorsKeepSecrets(t *testing.T) {
	col := newCollector(t)
	col.status = http.StatusUnauthorized
	u := strings.Replace(col.URL, "http://", "http://user:pw-secret@", 1) + "/v1/traces?token=q-secret"
	exp := tracing.NewExporter(u, []config.OTLPHeader{{Name: "Authorization", Value: secret.String("Bearer h-secret")}}, 5*time.Second)
	if err := exp.ExportSpans(context.Background(), nil); err != nil {
		t.Fatalf("nothing to send: %v", err)
	}
	dead := tracing.NewExporter("http://127.0.0.1:1/v1/traces?token=q-secret", nil, time.Second)
	var got []error
	for _, e := range []*tracing.Exporter{exp, dead} {
		got = append(got, e.ExportSpans(context.Background(), snapshot(t)))
	}
	for i, err := range got {
		if err == nil {
			t.Fatalf("export %d: no error", i)
		}
		for _, s := range []string{"pw-secret", "q-secret", "h-secret"} {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("error %q holds %s", err, s)
			}
		}
	}
	if !strings.Contains(got[0].Error(), "HTTP 401") {
		t.Fatalf("error %q does not give the status", got[0])
	}
}

// snapshot returns one ended span as the SDK hands it to exporters.
func snapshot(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	var rec recorder
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(&rec))
	_, s := tp.Tracer(tracing.ScopeName).Start(context.Background(), "s")
	s.End()
	if len(rec.spans) != 1 {
		t.Fatal("no span recorded")
	}
	return rec.spans
}

type recorder struct{ spans []sdktrace.ReadOnlySpan }

func (r *recorder) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	r.spans = append(r.spans, s...)
	return nil
}
func (r *recorder) Shutdown(context.Context) error { return nil }

// TestSetupOff: without an endpoint there is no tracer, and its methods and
// the Finish functions are safe no-ops.
func TestSetupOff(t *testing.T) {
	tr, shutdown := tracing.Setup(config.Tracing{}, "v", nil, tracing.Options{})
	if tr != nil {
		t.Fatalf("Setup without endpoint: %v", tr)
	}
	r := httptest.NewRequest("GET", "/x", nil)
	ctx, s := tr.StartServer(context.Background(), r)
	if s != nil || ctx != context.Background() {
		t.Fatal("a nil tracer started a span")
	}
	tracing.FinishServer(s, "GET", "/x", 200, "id", "")
	_, c := tr.StartClient(context.Background(), "proxy", r, 1)
	tracing.FinishClient(c, 0, errors.New("x"))
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSetupSpans drives the helpers through Setup with a collector: the
// server span joins the caller's traceparent, is named by route and carries
// status and request id; the client span is its child, named by component,
// method and host, without path or query; a transport failure is classed,
// not quoted.
func TestSetupSpans(t *testing.T) {
	col := newCollector(t)
	tr, shutdown := tracing.Setup(config.Tracing{Endpoint: col.URL + "/v1/traces", ServiceName: "svc", Sampler: "parentbased_always_on"}, "v9", nil, tracing.Options{})
	if tr == nil {
		t.Fatal("Setup with an endpoint returned no tracer")
	}
	in := httptest.NewRequest("GET", "/connection/u-secret-id?token=q-secret", nil)
	const parentTrace, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	in.Header.Set("Traceparent", "00-"+parentTrace+"-"+parentSpan+"-01")
	ctx, srv := tr.StartServer(context.Background(), in)
	out := httptest.NewRequest("POST", "https://api.example.com:8443/oauth/token?client_secret=q-secret", nil)
	_, cl := tr.StartClient(ctx, "oauth", out, 0)
	tracing.FinishClient(cl, 503, nil)
	_, cl2 := tr.StartClient(ctx, "proxy", out, 2)
	tracing.FinishClient(cl2, 0, context.DeadlineExceeded)
	if tracing.TraceID(ctx) != parentTrace {
		t.Fatalf("TraceID = %q", tracing.TraceID(ctx))
	}
	tracing.FinishServer(srv, "GET", "GET /connection/{connectionId}", 200, "req-1", "github")
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := col.spans(t)
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	var server span
	clients := map[string]span{}
	for _, s := range spans {
		if s.Kind == 2 {
			server = s
		} else {
			clients[s.Name] = s
		}
	}
	// FinishServer is given the route as ServeMux names it, method
	// included; the span's name and http.route hold it once.
	if server.TraceID != parentTrace || server.ParentSpanID != parentSpan || server.Name != "GET /connection/{connectionId}" {
		t.Fatalf("server span %+v", server)
	}
	if server.attr("http.route") != "/connection/{connectionId}" || server.attr("http.response.status_code") != "200" || server.attr("nango.request_id") != "req-1" || server.attr("nango.provider") != "github" {
		t.Fatalf("server span attributes %+v", server.Attributes)
	}
	o := clients["oauth POST api.example.com"]
	if o.ParentSpanID != server.SpanID || o.attr("server.port") != "8443" || o.attr("http.response.status_code") != "503" || o.Status == nil || o.Status.Code != 2 {
		t.Fatalf("oauth client span %+v (spans %+v)", o, clients)
	}
	p := clients["proxy POST api.example.com"]
	if p.attr("error.type") != "timeout" || p.attr("nango.attempt") != "2" {
		t.Fatalf("proxy client span %+v", p)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, b := range col.bodies {
		for _, s := range []string{"q-secret", "u-secret-id", "/oauth/token"} {
			if strings.Contains(string(b), s) {
				t.Fatalf("the export holds %q: %s", s, b)
			}
		}
	}
}

// TestCollectorDecodesExport hands an export to the decoder the
// OpenTelemetry Collector's OTLP/HTTP receiver uses for JSON bodies
// (pdata's ptrace.JSONUnmarshaler) and checks every field survives: a
// document that only our own test decoder understood would be dropped by a
// real collector.
func TestCollectorDecodesExport(t *testing.T) {
	col := newCollector(t)
	exp := tracing.NewExporter(col.URL+"/v1/traces", nil, 5*time.Second)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc"))))
	tr := tp.Tracer(tracing.ScopeName)
	ctx, parent := tr.Start(context.Background(), "GET /connection/{connectionId}", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "oauth POST example.com", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("http.response.status_code", 502), attribute.Bool("b", true), attribute.Float64("f", 0.5),
			attribute.StringSlice("ss", []string{"x"})))
	child.AddEvent("retry")
	child.SetStatus(codes.Error, "Bad Gateway")
	child.End()
	parent.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	body := col.bodies[0]
	col.mu.Unlock()

	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	if err != nil {
		t.Fatalf("the collector's decoder refuses the export: %v\n%s", err, body)
	}
	if td.SpanCount() != 2 {
		t.Fatalf("%d spans decoded, want 2", td.SpanCount())
	}
	rs := td.ResourceSpans().At(0)
	if v, _ := rs.Resource().Attributes().Get("service.name"); v.Str() != "svc" {
		t.Fatalf("service.name %q", v.Str())
	}
	ss := rs.ScopeSpans().At(0)
	if ss.Scope().Name() != tracing.ScopeName {
		t.Fatalf("scope %q", ss.Scope().Name())
	}
	got := map[string]ptrace.Span{}
	for i := 0; i < ss.Spans().Len(); i++ {
		got[ss.Spans().At(i).Name()] = ss.Spans().At(i)
	}
	p, c := got["GET /connection/{connectionId}"], got["oauth POST example.com"]
	psc, csc := parent.SpanContext(), child.SpanContext()
	if [16]byte(p.TraceID()) != [16]byte(psc.TraceID()) || [8]byte(p.SpanID()) != [8]byte(psc.SpanID()) ||
		[8]byte(c.ParentSpanID()) != [8]byte(psc.SpanID()) || [8]byte(c.SpanID()) != [8]byte(csc.SpanID()) {
		t.Fatalf("ids lost: parent %s/%s child %s parent-of-child %s", p.TraceID(), p.SpanID(), c.SpanID(), c.ParentSpanID())
	}
	if p.Kind() != ptrace.SpanKindServer || c.Kind() != ptrace.SpanKindClient {
		t.Fatalf("kinds %v, %v", p.Kind(), c.Kind())
	}
	if c.Status().Code() != ptrace.StatusCodeError || c.Status().Message() != "Bad Gateway" {
		t.Fatalf("status %v %q", c.Status().Code(), c.Status().Message())
	}
	if c.StartTimestamp().AsTime().IsZero() || c.EndTimestamp().AsTime().Before(c.StartTimestamp().AsTime()) {
		t.Fatalf("times %v – %v", c.StartTimestamp(), c.EndTimestamp())
	}
	attrs := c.Attributes()
	if v, _ := attrs.Get("http.response.status_code"); v.Int() != 502 {
		t.Fatalf("int attribute %v", v.AsRaw())
	}
	if v, _ := attrs.Get("b"); !v.Bool() {
		t.Fatalf("bool attribute %v", v.AsRaw())
	}
	if v, _ := attrs.Get("f"); v.Double() != 0.5 {
		t.Fatalf("double attribute %v", v.AsRaw())
	}
	if v, _ := attrs.Get("ss"); v.Slice().Len() != 1 || v.Slice().At(0).Str() != "x" {
		t.Fatalf("slice attribute %v", v.AsRaw())
	}
	if c.Events().Len() != 1 || c.Events().At(0).Name() != "retry" {
		t.Fatalf("events %d", c.Events().Len())
	}
}
