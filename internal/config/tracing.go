package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/nango-go/nango/internal/secret"
)

// Tracing configures OpenTelemetry tracing (the standard OTEL_* variables
// this server reads). It is on when Endpoint is set.
type Tracing struct {
	// Endpoint is the full URL spans are POSTed to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// as given, else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces"; "" is off.
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS):
	// typically a collector's API key, hence secret values.
	Headers []OTLPHeader
	// TimeoutMillis bounds one export (OTEL_EXPORTER_OTLP_TIMEOUT).
	TimeoutMillis int
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// Sampler is one of the OTEL_TRACES_SAMPLER names this server supports;
	// SamplerArg the ratio of the traceidratio samplers.
	Sampler    string
	SamplerArg float64
}

// OTLPHeader is one header of OTEL_EXPORTER_OTLP_HEADERS.
type OTLPHeader struct {
	Name  string
	Value secret.String
}

// Samplers lists the accepted OTEL_TRACES_SAMPLER values.
var Samplers = []string{"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
	"always_on", "always_off", "traceidratio"}

// tracesURL appends the OTLP traces path to a collector's base URL (its
// own path kept, its query left where it is).
func tracesURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	u.RawPath = ""
	return u.String(), nil
}

// parseOTLPHeaders parses the W3C-baggage-like list of
// OTEL_EXPORTER_OTLP_HEADERS: name=value pairs separated by commas, values
// percent-encoded. Its errors never quote a value (they are secrets).
func parseOTLPHeaders(v string) ([]OTLPHeader, error) {
	var hs []OTLPHeader
	for i, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || !validToken(name) {
			return nil, fmt.Errorf("entry %d is not name=value with a header name (format: name1=value1,name2=value2)", i+1)
		}
		dec, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil || strings.ContainsAny(dec, "\r\n\x00") {
			return nil, fmt.Errorf("the value of %s is not a valid percent-encoded header value", name)
		}
		hs = append(hs, OTLPHeader{Name: name, Value: secret.String(dec)})
	}
	return hs, nil
}

// validToken reports whether s is an HTTP header name (RFC 9110 token).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

func parseSampler(v string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	for _, ok := range Samplers {
		if s == ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", v, strings.Join(Samplers, ", "))
}

func parseRatio(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is not a ratio between 0 and 1", v)
	}
	return f, nil
}
