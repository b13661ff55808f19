package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
)

// body is a request body on its way upstream: either held in memory
// (replayable: sent again on each attempt) or a stream read once.
type body struct {
	data        []byte
	replayable  bool
	stream      io.Reader
	length      int64  // -1 when unknown (chunked)
	contentType string // set when the proxy made the body (template body)
}

// open returns the body for one attempt and its length (-1: unknown).
func (b *body) open() (io.ReadCloser, int64) {
	if b.replayable {
		return io.NopCloser(bytes.NewReader(b.data)), int64(len(b.data))
	}
	return io.NopCloser(b.stream), b.length
}

// bytes returns the body for signing; nil when it is streamed.
func (b *body) bytes() []byte {
	if b == nil || !b.replayable {
		return nil
	}
	return b.data
}

// readUpTo reads r until EOF or until more than limit bytes came. complete
// reports EOF within the limit; buf holds what was read either way.
func readUpTo(r io.Reader, limit int64) (buf []byte, complete bool, err error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	return b.Bytes(), n <= limit, nil
}

// mergeTemplateBody merges the template's proxy body (interpolated) into a
// JSON object body; keys the caller set win. Without a body, a POST, PUT or
// PATCH gets the template body alone. Other bodies pass unchanged.
func (p *plan) mergeTemplateBody(b *body, method, contentType string) (*body, *httpx.Error) {
	tb := p.tmpl.Proxy.Body
	if tb == nil {
		return b, nil
	}
	if b == nil {
		switch method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			return nil, nil
		}
	} else if !isJSON(contentType) {
		return b, nil
	}
	add, e := p.interpolateValue("body", tb)
	if e != nil {
		return nil, e
	}
	obj := map[string]any{}
	if b != nil {
		dec := json.NewDecoder(bytes.NewReader(b.data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, httpx.Ef("invalid_body", "The request body is not valid JSON, so the provider template's body values cannot be merged into it.")
		}
		m, ok := v.(map[string]any)
		if !ok {
			return b, nil // not an object: nothing to merge into
		}
		obj = m
	}
	fill(obj, add.(map[string]any))
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, httpx.Ef("invalid_body", "The merged request body cannot be encoded.")
	}
	out := &body{data: data, replayable: true, length: int64(len(data))}
	if b == nil {
		out.contentType = "application/json"
	}
	return out, nil
}

// fill adds src's keys missing from dst, recursing into objects both hold.
func fill(dst, src map[string]any) {
	for k, v := range src {
		cur, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		cm, ok1 := cur.(map[string]any)
		sm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			fill(cm, sm)
		}
	}
}

// interpolateValue interpolates every string inside a template value.
func (p *plan) interpolateValue(what string, v any) (any, *httpx.Error) {
	switch t := v.(type) {
	case string:
		s, err := provider.Interpolate(t, p.vars)
		if e := interpolationError(what, err); e != nil {
			return nil, e
		}
		return s, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			y, e := p.interpolateValue(what, x)
			if e != nil {
				return nil, e
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			y, e := p.interpolateValue(what, x)
			if e != nil {
				return nil, e
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}
