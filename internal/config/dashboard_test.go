package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestActivityRetention(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "default 15 days", env: nil, want: 15 * 24 * time.Hour},
		{name: "days", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "30d"}, want: 30 * 24 * time.Hour},
		{name: "go duration", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "36h"}, want: 36 * time.Hour},
		{name: "spaces", env: map[string]string{"NANGO_ACTIVITY_RETENTION": " 2d "}, want: 48 * time.Hour},
		{name: "lower bound", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "1h"}, want: time.Hour},
		{name: "upper bound", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "3650d"}, want: 3650 * 24 * time.Hour},
		{name: "too short", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "10m"}, wantErr: "NANGO_ACTIVITY_RETENTION: 10m0s is out of range"},
		{name: "zero days", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "0d"}, wantErr: "NANGO_ACTIVITY_RETENTION: 0 days is out of range"},
		{name: "too many days", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "4000d"}, wantErr: "4000 days is out of range"},
		{name: "garbage", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "forever"}, wantErr: `NANGO_ACTIVITY_RETENTION: "forever" is not a number of days or a duration`},
		{name: "fractional days", env: map[string]string{"NANGO_ACTIVITY_RETENTION": "1.5d"}, wantErr: `"1.5d" is not a number of days`},
		{name: "empty", env: map[string]string{"NANGO_ACTIVITY_RETENTION": ""}, wantErr: `"" is not a number of days`},
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
			if c.ActivityRetention != tt.want {
				t.Errorf("ActivityRetention = %v, want %v", c.ActivityRetention, tt.want)
			}
		})
	}
}

func TestActivityRetentionDocumented(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Dump(&b, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# Dashboard\nNANGO_ACTIVITY_RETENTION=15d  (default)\n") {
		t.Errorf("dump lacks the Dashboard group:\n%s", b.String())
	}
	if md := Markdown(); !strings.Contains(md, "### Dashboard") || !strings.Contains(md, "`NANGO_ACTIVITY_RETENTION`") {
		t.Errorf("Markdown lacks the Dashboard group")
	}
}
