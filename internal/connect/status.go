package connect

import (
	"errors"
	"net/http"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/store"
)

// providerFault marks the cause of an unknown_err that happened while
// talking to the provider (unreachable, timed out, refused the exchange,
// answered something unusable): the popup page says 502, not 500.
type providerFault struct{ err error }

func (e *providerFault) Error() string { return e.err.Error() }
func (e *providerFault) Unwrap() error { return e.err }

// fromProvider returns err marked as the provider's fault.
func fromProvider(err error) error { return &providerFault{err: err} }

// flowStatus is the HTTP status of the page answering a failed flow (SPEC
// Part A: bad input is a 4xx, 500 only a server fault; the reference
// answered 500 to everything, and the SDK does not read it):
//
//	bad request, unknown or incomplete integration, template that cannot
//	serve the flow, missing/forged/expired/replayed state, callback errors  400
//	the provider failed (token_err, exchange or access-token call failed)  502
//	the database is unavailable                                            503
//	a value the database refuses (a NUL character), or a connection
//	config host on the server's own network (oauth.ErrNonPublicHost)       400
//	anything else                                                           500
func flowStatus(fe *oauth.FlowError) int {
	switch fe.Type {
	case oauth.ErrTypeToken:
		return http.StatusBadGateway
	case oauth.ErrTypeUnknown:
	default:
		return http.StatusBadRequest
	}
	var pf *providerFault
	var pe *oauth.ProviderError
	var re *oauth.ResponseError
	switch {
	case fe.Err == nil:
		return http.StatusInternalServerError
	case errors.Is(fe.Err, store.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(fe.Err, store.ErrInvalidValue), errors.Is(fe.Err, oauth.ErrNonPublicHost):
		// A value the request gave: not storable, or naming a host on the
		// server's own network.
		return http.StatusBadRequest
	case errors.As(fe.Err, &pf), errors.As(fe.Err, &pe), errors.As(fe.Err, &re):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}
