package secret

import "testing"

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"key", "key", true},
		{"key", "kez", false},
		{"key", "key2", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRandomToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := RandomToken(24)
		if len(tok) != 32 {
			t.Fatalf("len = %d, want 32", len(tok))
		}
		if seen[tok] {
			t.Fatalf("repeated token %q", tok)
		}
		seen[tok] = true
	}
}
