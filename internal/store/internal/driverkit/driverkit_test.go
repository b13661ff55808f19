package driverkit

import (
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/nango-go/nango/internal/store"
)

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered", fstest.MapFS{"m/0002_b.sql": {Data: []byte("B")}, "m/0001_a.sql": {Data: []byte("A")}}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, nil, "expected version 2"},
		{"repeat", fstest.MapFS{"m/0001_a.sql": {}, "m/0001_b.sql": {}}, nil, "expected version 2"},
		{"misnamed", fstest.MapFS{"m/0001_a.sql": {}, "m/2_b.sql": {}}, nil, "not named"},
		{"empty", fstest.MapFS{"m/.keep": {}}, nil, "not named"},
		{"missing dir", fstest.MapFS{}, nil, "migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadMigrations(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var vs []int
			for _, m := range got {
				vs = append(vs, m.Version)
			}
			if len(vs) != len(tt.want) {
				t.Fatalf("versions = %v, want %v", vs, tt.want)
			}
			for i := range vs {
				if vs[i] != tt.want[i] {
					t.Fatalf("versions = %v, want %v", vs, tt.want)
				}
			}
			if got[0].SQL != "A" || got[0].Name != "0001_a.sql" {
				t.Errorf("first = %+v", got[0])
			}
		})
	}
}

func TestBrokerOverflowResets(t *testing.T) {
	var b Broker
	ch, cancel := b.Subscribe()
	defer cancel()
	for i := 0; i < SubscriberBuffer+10; i++ {
		b.Publish(store.Event{Topic: "x"})
	}
	ev := <-ch
	if ev.Topic != store.TopicReset {
		t.Fatalf("first event after overflow = %q, want reset", ev.Topic)
	}
	// The ten events after the reset are still delivered.
	n := 0
	for len(ch) > 0 {
		<-ch
		n++
	}
	if n != 9 {
		t.Errorf("events after reset = %d, want 9", n)
	}
}

func TestBrokerCancelAndClose(t *testing.T) {
	var b Broker
	ch1, cancel1 := b.Subscribe()
	ch2, _ := b.Subscribe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.Publish(store.Event{Topic: "a", Payload: "p"}) }()
	wg.Wait()
	if ev := <-ch1; ev.Topic != "a" || ev.Payload != "p" {
		t.Errorf("ch1 got %+v", ev)
	}
	cancel1()
	cancel1() // idempotent
	if _, ok := <-ch1; ok {
		t.Error("ch1 still open after cancel")
	}
	b.Close()
	<-ch2 // the "a" event
	if _, ok := <-ch2; ok {
		t.Error("ch2 still open after Close")
	}
	ch3, cancel3 := b.Subscribe()
	cancel3()
	if _, ok := <-ch3; ok {
		t.Error("subscription after Close is open")
	}
	b.Publish(store.Event{Topic: "late"}) // must not panic
}
