package tracing

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/nango-go/nango/internal/config"
)

// Exporter sends spans to an OTLP/HTTP collector as JSON
// (ExportTraceServiceRequest in the protobuf JSON mapping of the OTLP
// specification). It implements sdktrace.SpanExporter.
type Exporter struct {
	endpoint string // where spans are POSTed
	display  string // endpoint without credentials or query, for errors
	headers  []config.OTLPHeader
	client   *http.Client
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// NewExporter returns an exporter POSTing to endpoint (the full traces
// URL) with headers, each export bounded by timeout.
func NewExporter(endpoint string, headers []config.OTLPHeader, timeout time.Duration) *Exporter {
	display := endpoint
	if u, err := url.Parse(endpoint); err == nil {
		display = u.Scheme + "://" + u.Host + u.EscapedPath()
	}
	return &Exporter{endpoint: endpoint, display: display, headers: headers, client: &http.Client{
		Timeout: timeout,
		// Its own transport: never the proxy's or a provider's, and never
		// an environment proxy the operator did not mean for spans.
		Transport: &http.Transport{MaxIdleConns: 2, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: timeout},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the headers may hold a key
		},
	}}
}

// ExportSpans sends one batch. Its errors name the endpoint (without
// credentials or query) and the status, never a header value.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(encode(spans))
	if err != nil {
		return fmt.Errorf("tracing: encoding %d spans: %w", len(spans), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tracing: exporting to %s: %w", e.display, err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range e.headers {
		req.Header.Set(h.Name, h.Value.Reveal())
	}
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry credentials
		}
		return fmt.Errorf("tracing: exporting %d spans to %s: %v", len(spans), e.display, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("tracing: the collector at %s answered HTTP %d to %d spans", e.display, resp.StatusCode, len(spans))
	}
	return nil
}

// Shutdown releases the exporter's idle connections.
func (e *Exporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

// The OTLP JSON document (opentelemetry-proto, JSON mapping: ids in hex,
// 64-bit integers as strings, enum values as numbers).
type (
	exportRequest struct {
		ResourceSpans []resourceSpans `json:"resourceSpans"`
	}
	resourceSpans struct {
		Resource   resourceJSON `json:"resource"`
		ScopeSpans []scopeSpans `json:"scopeSpans"`
	}
	resourceJSON struct {
		Attributes []keyValue `json:"attributes"`
	}
	scopeSpans struct {
		Scope scopeJSON  `json:"scope"`
		Spans []spanJSON `json:"spans"`
	}
	scopeJSON struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	spanJSON struct {
		TraceID           string      `json:"traceId"`
		SpanID            string      `json:"spanId"`
		ParentSpanID      string      `json:"parentSpanId,omitempty"`
		TraceState        string      `json:"traceState,omitempty"`
		Flags             uint32      `json:"flags,omitempty"`
		Name              string      `json:"name"`
		Kind              int         `json:"kind"`
		StartTimeUnixNano string      `json:"startTimeUnixNano"`
		EndTimeUnixNano   string      `json:"endTimeUnixNano"`
		Attributes        []keyValue  `json:"attributes,omitempty"`
		DroppedAttributes int         `json:"droppedAttributesCount,omitempty"`
		Events            []eventJSON `json:"events,omitempty"`
		DroppedEvents     int         `json:"droppedEventsCount,omitempty"`
		Status            *statusJSON `json:"status,omitempty"`
	}
	eventJSON struct {
		TimeUnixNano string     `json:"timeUnixNano"`
		Name         string     `json:"name"`
		Attributes   []keyValue `json:"attributes,omitempty"`
	}
	statusJSON struct {
		Code    int    `json:"code"`
		Message string `json:"message,omitempty"`
	}
	keyValue struct {
		Key   string   `json:"key"`
		Value anyValue `json:"value"`
	}
	anyValue struct {
		StringValue *string     `json:"stringValue,omitempty"`
		BoolValue   *bool       `json:"boolValue,omitempty"`
		IntValue    string      `json:"intValue,omitempty"`
		DoubleValue *float64    `json:"doubleValue,omitempty"`
		ArrayValue  *arrayValue `json:"arrayValue,omitempty"`
	}
	arrayValue struct {
		Values []anyValue `json:"values"`
	}
)

// encode groups spans by resource and instrumentation scope.
func encode(spans []sdktrace.ReadOnlySpan) exportRequest {
	var req exportRequest
	type scopeKey struct{ name, version string }
	resIndex := map[string]int{}
	scopeIndex := map[int]map[scopeKey]int{}
	for _, s := range spans {
		res := s.Resource()
		rk := ""
		if res != nil {
			rk = res.Encoded(attribute.DefaultEncoder())
		}
		ri, ok := resIndex[rk]
		if !ok {
			ri = len(req.ResourceSpans)
			resIndex[rk] = ri
			var attrs []keyValue
			if res != nil {
				attrs = keyValues(res.Attributes())
			}
			req.ResourceSpans = append(req.ResourceSpans, resourceSpans{Resource: resourceJSON{Attributes: attrs}})
			scopeIndex[ri] = map[scopeKey]int{}
		}
		rs := &req.ResourceSpans[ri]
		sc := s.InstrumentationScope()
		sk := scopeKey{sc.Name, sc.Version}
		si, ok := scopeIndex[ri][sk]
		if !ok {
			si = len(rs.ScopeSpans)
			scopeIndex[ri][sk] = si
			rs.ScopeSpans = append(rs.ScopeSpans, scopeSpans{Scope: scopeJSON{Name: sc.Name, Version: sc.Version}})
		}
		rs.ScopeSpans[si].Spans = append(rs.ScopeSpans[si].Spans, encodeSpan(s))
	}
	return req
}

func encodeSpan(s sdktrace.ReadOnlySpan) spanJSON {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	out := spanJSON{
		TraceID:           hex.EncodeToString(tid[:]),
		SpanID:            hex.EncodeToString(sid[:]),
		TraceState:        sc.TraceState().String(),
		Flags:             uint32(sc.TraceFlags()),
		Name:              s.Name(),
		Kind:              int(s.SpanKind()), // the API's numbers are OTLP's
		StartTimeUnixNano: unixNano(s.StartTime()),
		EndTimeUnixNano:   unixNano(s.EndTime()),
		Attributes:        keyValues(s.Attributes()),
		DroppedAttributes: s.DroppedAttributes(),
		DroppedEvents:     s.DroppedEvents(),
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		pid := p.SpanID()
		out.ParentSpanID = hex.EncodeToString(pid[:])
	}
	for _, ev := range s.Events() {
		out.Events = append(out.Events, eventJSON{TimeUnixNano: unixNano(ev.Time), Name: ev.Name, Attributes: keyValues(ev.Attributes)})
	}
	// The API numbers status codes Unset 0, Error 1, Ok 2; OTLP Unset 0,
	// Ok 1, Error 2.
	switch st := s.Status(); st.Code {
	case codes.Error:
		out.Status = &statusJSON{Code: 2, Message: st.Description}
	case codes.Ok:
		out.Status = &statusJSON{Code: 1}
	}
	return out
}

func unixNano(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func keyValues(attrs []attribute.KeyValue) []keyValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]keyValue, 0, len(attrs))
	for _, kv := range attrs {
		out = append(out, keyValue{Key: string(kv.Key), Value: value(kv.Value)})
	}
	return out
}

func value(v attribute.Value) anyValue {
	switch v.Type() {
	case attribute.BOOL:
		b := v.AsBool()
		return anyValue{BoolValue: &b}
	case attribute.INT64:
		return anyValue{IntValue: strconv.FormatInt(v.AsInt64(), 10)}
	case attribute.FLOAT64:
		f := v.AsFloat64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			s := strconv.FormatFloat(f, 'g', -1, 64) // JSON has no NaN
			return anyValue{StringValue: &s}
		}
		return anyValue{DoubleValue: &f}
	case attribute.BOOLSLICE:
		return array(v.AsBoolSlice(), func(b bool) attribute.Value { return attribute.BoolValue(b) })
	case attribute.INT64SLICE:
		return array(v.AsInt64Slice(), func(n int64) attribute.Value { return attribute.Int64Value(n) })
	case attribute.FLOAT64SLICE:
		return array(v.AsFloat64Slice(), func(f float64) attribute.Value { return attribute.Float64Value(f) })
	case attribute.STRINGSLICE:
		return array(v.AsStringSlice(), func(s string) attribute.Value { return attribute.StringValue(s) })
	default:
		s := v.String()
		return anyValue{StringValue: &s}
	}
}

func array[T any](xs []T, wrap func(T) attribute.Value) anyValue {
	vals := make([]anyValue, len(xs))
	for i, x := range xs {
		vals[i] = value(wrap(x))
	}
	return anyValue{ArrayValue: &arrayValue{Values: vals}}
}
