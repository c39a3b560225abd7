package ipvsadm

import (
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestListKernel formats an agent's observation of a real IPVS table and
// compares it with what the real `ipvsadm -Ln` printed for that table, on
// the VM lab's kernel (testdata/list-kernel.txt, version line and all;
// regenerate both files with the VM test TestVMNetlinkEngine and
// LVS_IPVSADM_LIST_TESTDATA=$PWD/internal/ipvsadm/testdata). The table
// covers NAT with port mapping, DR, tunnels, persistence with IPv4 and
// IPv6 masks, one-packet scheduling, the sh and mh flags, SCTP, IPv6 and
// fwmark services of both families.
func TestListKernel(t *testing.T) {
	js, err := os.ReadFile("testdata/list-kernel.json")
	if err != nil {
		t.Fatal(err)
	}
	var services []wire.IPVSService
	if err := json.Unmarshal(js, &services); err != nil {
		t.Fatal(err)
	}
	listed, err := os.ReadFile("testdata/list-kernel.txt")
	if err != nil {
		t.Fatal(err)
	}
	version, want, ok := strings.Cut(string(listed), "\n")
	if !ok || !strings.HasPrefix(version, "IP Virtual Server version ") {
		t.Fatalf("list-kernel.txt is not ipvsadm -Ln output: %q", version)
	}
	if d := cmp.Diff(want, List(services)); d != "" {
		t.Errorf("List (-ipvsadm -Ln +got):\n%s", d)
	}
	// The kernel's own order is not ipvsadm's: List sorts either way.
	for i, j := 0, len(services)-1; i < j; i, j = i+1, j-1 {
		services[i], services[j] = services[j], services[i]
	}
	if d := cmp.Diff(want, List(services)); d != "" {
		t.Errorf("List of the reversed table (-ipvsadm -Ln +got):\n%s", d)
	}
}

// TestListCounters: wide counters and weights stay in their columns as
// ipvsadm's printf pads them, an empty table is the header alone, and a
// destination under a service without real servers reads as Masq.
func TestListCounters(t *testing.T) {
	if got := List(nil); got != ListHeader {
		t.Errorf("empty table = %q", got)
	}
	w := 65535
	svc := wire.IPVSService{
		Service: model.VirtualServer{
			Address: netip.MustParseAddr("192.0.2.10"), Port: 443, Protocol: "tcp", Scheduler: "wlc",
			ForwardingMethod: "dr",
			RealServers:      []model.RealServer{{Address: netip.MustParseAddr("198.51.100.10"), Port: 443, Weight: &w}},
		},
		Destinations: []wire.IPVSDestination{
			{Key: "198.51.100.10:443", Weight: 65535, ActiveConns: 1234567, InactiveConns: 98765432},
			{Key: "198.51.100.9:443", Weight: 1},
		},
	}
	want := ListHeader +
		"TCP  192.0.2.10:443 wlc\n" +
		"  -> 198.51.100.9:443             Masq    1      0          0         \n" +
		"  -> 198.51.100.10:443            Route   65535  1234567    98765432  \n"
	if d := cmp.Diff(want, List([]wire.IPVSService{svc})); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
}
