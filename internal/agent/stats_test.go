package agent

import (
	"context"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestStatsCountCallsReloadsAndConnections(t *testing.T) {
	_, a := newFakeHost(t)
	a.Conn = "10.0.0.1 40000 10.0.0.11 22"
	mustApply(t, a, []wire.Object{directorObj(100)}) // starts keepalived
	mustApply(t, a, []wire.Object{directorObj(100)}) // unchanged: no reload
	if _, code := a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve}); code != 0 {
		t.Fatalf("observe exit %d", code)
	}
	a.Conn = "10.0.0.1 40002 10.0.0.11 22" // the next run's connection
	mustApply(t, a, []wire.Object{directorObj(90)})
	s, err := ReadStats(a.Root)
	if err != nil {
		t.Fatal(err)
	}
	if s.Applies != 3 || s.Observes != 1 || s.Reloads["keepalived"] != 2 || s.Connections != 2 {
		t.Errorf("stats = %+v, want 3 applies, 1 observe, 2 keepalived reloads, 2 connections", s)
	}
}
