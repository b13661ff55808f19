package dashboard

import (
	"testing"

	"github.com/nango-go/nango/internal/store"
)

func TestFmtTotal(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"},
		{999, "999"},
		{1234, "1,234"},
		{store.DefaultCountCap, "10,000"},
		{store.DefaultCountCap + 1, "10,000+"}, // the store's "more than the cap"
		{-1234567, "-1,234,567"},
	}
	for _, tt := range tests {
		if got := fmtTotal(tt.n); got != tt.want {
			t.Errorf("fmtTotal(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
