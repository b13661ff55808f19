package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestStringNeverPrints(t *testing.T) {
	s := String("tok-123")
	for _, verb := range []string{"%v", "%s", "%q", "%+v", "%#v", "%x", "%d"} {
		if got := fmt.Sprintf(verb, s); strings.Contains(got, "tok-123") || strings.Contains(got, fmt.Sprintf("%x", "tok-123")) {
			t.Errorf("%s printed the secret: %q", verb, got)
		}
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "token", s, "struct", struct{ T String }{s})
	if strings.Contains(buf.String(), "tok-123") {
		t.Errorf("slog leaked the secret: %s", buf.String())
	}
	if s.Reveal() != "tok-123" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	b, _ := json.Marshal(s)
	if string(b) != `"[redacted]"` {
		t.Errorf("JSON = %s, want the redacted form", b)
	}
	var back String
	if err := json.Unmarshal([]byte(`"tok-9"`), &back); err != nil || back.Reveal() != "tok-9" {
		t.Errorf("Unmarshal = %q, %v", back.Reveal(), err)
	}
	if String("").String() != "" {
		t.Error("empty secret should print empty")
	}
}
