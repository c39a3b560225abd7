package cluster

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestHeldStaticRoutesAndRules(t *testing.T) {
	p := netip.MustParsePrefix
	routes := []model.Route{
		{To: p("10.20.0.0/16"), Via: netip.MustParseAddr("192.168.0.1"), Table: 100},
		{To: p("10.21.0.0/16"), Type: "blackhole"},
	}
	rules := []model.Rule{{From: p("192.168.0.0/24"), Table: 100, Priority: 1000}, {FwMark: 5, Table: 100, Priority: 1001}}
	obs := &wire.Observed{Hostname: "dir1",
		// The first route changed by hand, the blackhole as installed.
		Routes: []model.Route{{To: p("10.20.0.0/16"), Via: netip.MustParseAddr("192.168.0.9"), Device: "eth0", Table: 100},
			{To: p("10.21.0.0/16"), Type: "blackhole", Table: model.MainTable}},
		Rules: []model.Rule{{From: p("0.0.0.0/0"), FwMark: 5, FwMask: 0xffffffff, Table: 100, Priority: 1001}},
	}
	v := NewView(obs)
	if got, err := v.HeldStaticRoutes(routes); err != nil || !slices.Equal(got, []bool{false, true}) {
		t.Errorf("HeldStaticRoutes = %v, %v; want [false true]", got, err)
	}
	if got, err := v.HeldStaticRules(rules); err != nil || !slices.Equal(got, []bool{false, true}) {
		t.Errorf("HeldStaticRules = %v, %v; want [false true]", got, err)
	}
	failed := NewView(&wire.Observed{Hostname: "dir1", Errors: map[string]string{wire.ObserveRoutes: "hostaddr: listing routes: permission denied"}})
	if got, err := failed.HeldStaticRoutes(routes); err == nil || !strings.Contains(err.Error(), "dir1") || !strings.Contains(err.Error(), "permission denied") || got != nil {
		t.Errorf("a failed read: %v, %v; want an error naming the host and the cause", got, err)
	}
	if _, err := failed.HeldStaticRules(rules); err == nil {
		t.Error("a failed read of the rules is no error")
	}
}
