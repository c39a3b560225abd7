package cluster

import (
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Status flattens a host's report, and what it returns is the caller's:
// changing it leaves the view's observation as it was.
func TestStatusFlattensTheHostAndCopies(t *testing.T) {
	web := vs("10.0.0.10", 80)
	obs := &wire.Observed{Hostname: "dir1", Kernel: "6.1.0", AgentVersion: "v9", IPVSAvailable: true,
		Objects: []wire.Object{directorObj(""), vsObj(web)},
		IPVS:    []wire.IPVSService{kernel(web)},
		Keepalived: &wire.DaemonState{Running: true, ConfigMatches: true,
			VRRP: map[string]string{"VI_1": "MASTER"}, MissingVIPs: map[string][]string{"VI_1": {"10.0.0.10/32"}}},
		HAProxy: &wire.DaemonState{Running: true, Servers: map[string]string{"web/s1": "UP"}},
	}
	st := NewView(obs).Status()
	if st.Hostname != "dir1" || st.Kernel != "6.1.0" || st.AgentVersion != "v9" || !st.IPVSAvailable {
		t.Errorf("host facts: %+v", st)
	}
	if !st.KeepalivedRunning || !st.KeepalivedInSync || !st.HAProxyRunning || st.HAProxyInSync {
		t.Errorf("daemons: %+v; want keepalived running in sync, haproxy running out of sync", st)
	}
	if st.VRRP["VI_1"] != "MASTER" || st.MissingVIPs["VI_1"][0] != "10.0.0.10/32" || st.HAProxyServers["web/s1"] != "UP" {
		t.Errorf("daemon detail: %+v", st)
	}
	if len(st.Objects) != 2 || st.Objects[1] != vsObj(web).Key.String() {
		t.Errorf("objects %v, want the director's and the virtual server's keys", st.Objects)
	}
	if !strings.Contains(st.IPVSTable, "10.0.0.10:80") {
		t.Errorf("IPVS table %q does not list the service", st.IPVSTable)
	}
	st.VRRP["VI_1"], st.MissingVIPs["VI_1"][0] = "FAULT", "x"
	if obs.Keepalived.VRRP["VI_1"] != "MASTER" || obs.Keepalived.MissingVIPs["VI_1"][0] != "10.0.0.10/32" {
		t.Error("changing the status changed the observation")
	}

	bare := NewView(&wire.Observed{}).Status()
	if bare.KeepalivedRunning || bare.KeepalivedInSync || bare.VRRP == nil || bare.HAProxyServers == nil || bare.Objects == nil {
		t.Errorf("a host without daemons: %+v; want not running and empty, non-nil maps", bare)
	}
	if AppliedView(nil) != nil || AppliedView(&wire.Response{}) != nil {
		t.Error("a response without an observation has no view")
	}
}
