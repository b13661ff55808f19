package config

import (
	"strings"
	"testing"
)

func TestTokenCacheSize(t *testing.T) {
	const v = "NANGO_TOKEN_CACHE_SIZE"
	tests := []struct {
		name    string
		env     map[string]string
		want    int64
		wantErr string
	}{
		{name: "default 32 MiB", env: nil, want: 32 << 20},
		{name: "bytes", env: map[string]string{v: "1048576"}, want: 1 << 20},
		{name: "MiB", env: map[string]string{v: "64MiB"}, want: 64 << 20},
		{name: "case and space", env: map[string]string{v: " 2 gib "}, want: 2 << 30},
		{name: "KiB lower bound", env: map[string]string{v: "64KiB"}, want: 64 << 10},
		{name: "decimal units", env: map[string]string{v: "50MB"}, want: 50_000_000},
		{name: "B", env: map[string]string{v: "100000B"}, want: 100_000},
		{name: "off", env: map[string]string{v: "0"}, want: 0},
		{name: "off with a unit", env: map[string]string{v: "0MiB"}, want: 0},
		{name: "upper bound", env: map[string]string{v: "1TiB"}, want: 1 << 40},
		{name: "too small", env: map[string]string{v: "1KiB"}, wantErr: v + `: "1KiB" is out of range (0, or 65536-1099511627776 bytes)`},
		{name: "too large", env: map[string]string{v: "1100GB"}, wantErr: `"1100GB" is out of range`},
		{name: "overflow", env: map[string]string{v: "99999999999999TiB"}, wantErr: `"99999999999999TiB" is out of range`},
		{name: "unknown unit", env: map[string]string{v: "16M"}, wantErr: v + `: "16M" is not a size (examples: 0, 65536, 64KiB, 16MiB, 1GiB)`},
		{name: "fraction", env: map[string]string{v: "1.5GiB"}, wantErr: `"1.5GiB" is not a size`},
		{name: "negative", env: map[string]string{v: "-1"}, wantErr: `"-1" is not a size`},
		{name: "empty", env: map[string]string{v: ""}, wantErr: `"" is not a size`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.TokenCacheBytes != tt.want {
				t.Errorf("TokenCacheBytes = %d, want %d", c.TokenCacheBytes, tt.want)
			}
		})
	}
}
