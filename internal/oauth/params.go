package oauth

import (
	"bytes"
	"encoding/json"
	"strings"
)

// params is an ordered parameter list in which setting an existing name
// replaces its value in place (the reference's object-key semantics: a
// template repeating response_type keeps it first).
type params []param

type param struct{ name, value string }

// set replaces the value of name, or appends it.
func (p *params) set(name, value string) {
	for i := range *p {
		if (*p)[i].name == name {
			(*p)[i].value = value
			return
		}
	}
	*p = append(*p, param{name, value})
}

// encode joins name=value pairs with &, each escaped by esc.
func (p params) encode(esc func(string) string) string {
	var b strings.Builder
	for i, x := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(esc(x.name))
		b.WriteByte('=')
		b.WriteString(esc(x.value))
	}
	return b.String()
}

// json encodes the parameters as a flat JSON object of strings, in order.
func (p params) json() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(x.name)
		v, _ := json.Marshal(x.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// formEscape is the WHATWG application/x-www-form-urlencoded byte
// serializer (what URLSearchParams writes, and what the reference's
// authorization URLs use): ASCII letters, digits and "*-._" stay, a space
// becomes "+", every other byte is percent-encoded.
func formEscape(s string) string {
	return escape(s, func(c byte) bool {
		return isAlnum(c) || c == '*' || c == '-' || c == '.' || c == '_'
	}, true)
}

// querystringEscape is Node's querystring.escape (the reference's token
// request bodies): ASCII letters, digits and "-_.!~*'()" stay, a space
// becomes "%20", every other byte is percent-encoded.
func querystringEscape(s string) string {
	return escape(s, func(c byte) bool {
		return isAlnum(c) || strings.IndexByte("-_.!~*'()", c) >= 0
	}, false)
}

// basicEscape is the encoding of client credentials in the reference's
// form-encoded Basic header (authorization_method: header): ASCII letters,
// digits and "-_.~" stay, a space becomes "+", every other byte
// (including "!'()*") is percent-encoded.
func basicEscape(s string) string {
	return escape(s, func(c byte) bool {
		return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
	}, true)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

const upperhex = "0123456789ABCDEF"

func escape(s string, keep func(byte) bool, spacePlus bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) && !(spacePlus && s[i] == ' ') {
			n++
		}
	}
	if n == 0 && !(spacePlus && strings.IndexByte(s, ' ') >= 0) {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case keep(c):
			b = append(b, c)
		case c == ' ' && spacePlus:
			b = append(b, '+')
		default:
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return string(b)
}
