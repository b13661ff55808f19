package oauth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/nango-go/nango/internal/tracing"
)

// ErrNonPublicHost is returned (wrapped) when a provider call whose host
// comes from the connection config — which end users write — would connect
// to a loopback, private, link-local or otherwise non-public address, and
// Client.AllowPrivateNetworks is off. Retrying does not help: it is a
// *ConfigError.
var ErrNonPublicHost = &ConfigError{Problem: "the provider endpoint's host comes from the connection config and resolves to a non-public address; " +
	"set NANGO_PROXY_ALLOW_PRIVATE_NETWORKS=true to allow private networks"}

type guardKey struct{}

// guardCtx marks ctx for calls to an endpoint built from template URL tmpl:
// when its host comes from a placeholder (connection config) and private
// networks are not allowed, the call may only connect to public addresses
// (checked on the address dialled, after DNS resolution, so a name
// resolving to 127.0.0.1 is refused too). A host written in the template
// itself is the operator's choice and is not checked.
func (c *Client) guardCtx(ctx context.Context, tmpl string) context.Context {
	if c.AllowPrivateNetworks || !hostFromConfig(tmpl) {
		return ctx
	}
	return context.WithValue(ctx, guardKey{}, true)
}

// guardTransport sends requests through base, or — for requests marked by
// guardCtx — through a copy of base whose dialer refuses non-public
// addresses. Every provider call of the package goes through one, which
// also gives each a client span when tracing is on.
type guardTransport struct {
	base   http.RoundTripper
	tracer *tracing.Tracer
}

// RoundTrip implements http.RoundTripper.
func (g guardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := g.tracer.StartClient(r.Context(), "oauth", r, 0)
	if span != nil {
		r = r.WithContext(ctx)
	}
	resp, err := g.roundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	tracing.FinishClient(span, status, err)
	return resp, err
}

func (g guardTransport) roundTrip(r *http.Request) (*http.Response, error) {
	if on, _ := r.Context().Value(guardKey{}).(bool); !on {
		return g.base.RoundTrip(r)
	}
	var tr *http.Transport
	if b, ok := g.base.(*http.Transport); ok {
		tr = b.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.Proxy = nil // an environment proxy would dial for us, unchecked
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, Control: refuseNonPublic}).DialContext
	// One-off transport: keep no idle connection behind.
	tr.DisableKeepAlives = true
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(r)
	if err != nil && errors.Is(err, errNonPublic) {
		return nil, ErrNonPublicHost
	}
	return resp, err
}

// guarded wraps hc's transport with guardTransport.
func guarded(hc *http.Client, tracer *tracing.Tracer) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if _, ok := base.(guardTransport); !ok {
		hc.Transport = guardTransport{base: base, tracer: tracer}
	}
	return hc
}
