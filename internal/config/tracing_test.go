package config

import (
	"strings"
	"testing"
)

func TestTracingDefaultsOff(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.Endpoint != "" || c.Tracing.ServiceName != "nango" || c.Tracing.Sampler != "parentbased_always_on" ||
		c.Tracing.SamplerArg != 1 || c.Tracing.TimeoutMillis != 10000 || c.Tracing.Headers != nil {
		t.Fatalf("Tracing = %+v", c.Tracing)
	}
}

func TestTracingVariables(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // the endpoint
	}{
		{"base URL gets /v1/traces", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces"},
		{"traces endpoint as given, and wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b.example/otlp/spans"}, "https://b.example/otlp/spans"},
		{"base path kept, query after the traces path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example/otlp?tenant=a"}, "https://otel.example/otlp/v1/traces?tenant=a"},
		{"empty is unset", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, ""},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Tracing.Endpoint != tt.want {
				t.Errorf("Endpoint = %q, want %q", c.Tracing.Endpoint, tt.want)
			}
		})
	}

	c, err := load(t, map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=a%20b%3Dc, dd-tag = v2 ,",
		"OTEL_SERVICE_NAME": "vault", "OTEL_TRACES_SAMPLER": "ParentBased_TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
		"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_PROTOCOL": "HTTP/JSON"})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Tracing
	if len(tr.Headers) != 2 || tr.Headers[0].Name != "x-api-key" || tr.Headers[0].Value.Reveal() != "a b=c" ||
		tr.Headers[1].Name != "dd-tag" || tr.Headers[1].Value.Reveal() != "v2" {
		t.Fatalf("Headers = %+v", tr.Headers)
	}
	if tr.ServiceName != "vault" || tr.Sampler != "parentbased_traceidratio" || tr.SamplerArg != 0.25 || tr.TimeoutMillis != 2500 {
		t.Fatalf("Tracing = %+v", tr)
	}
}

func TestTracingVariableErrors(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"endpoint not a URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", `OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" is not an absolute http(s) URL`},
		{"gRPC", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", `OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported`},
		{"protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTLP over HTTP with JSON encoding (http/json)"},
		{"header without =", "OTEL_EXPORTER_OTLP_HEADERS", "a=1,tok-value-secret", "OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not name=value"},
		{"header value bad escape", "OTEL_EXPORTER_OTLP_HEADERS", "k=%zzsecret", "OTEL_EXPORTER_OTLP_HEADERS: the value of k is not a valid percent-encoded header value"},
		{"header value newline", "OTEL_EXPORTER_OTLP_HEADERS", "k=a%0Db", "the value of k is not"},
		{"sampler", "OTEL_TRACES_SAMPLER", "jaeger_remote", `OTEL_TRACES_SAMPLER: "jaeger_remote" is not one of parentbased_always_on`},
		{"ratio", "OTEL_TRACES_SAMPLER_ARG", "1.5", `OTEL_TRACES_SAMPLER_ARG: "1.5" is not a ratio between 0 and 1`},
		{"timeout", "OTEL_EXPORTER_OTLP_TIMEOUT", "0", "OTEL_EXPORTER_OTLP_TIMEOUT: 0 is out of range"},
		{"service name", "OTEL_SERVICE_NAME", "  ", "OTEL_SERVICE_NAME: a service name of 1-200 characters is needed"},
		{"disabled flag", "OTEL_SDK_DISABLED", "maybe", `OTEL_SDK_DISABLED: "maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, map[string]string{tt.variable: tt.value})
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q quotes the secret header value", err)
			}
		})
	}
}
