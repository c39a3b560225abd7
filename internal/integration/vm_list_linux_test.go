package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvsadm"
)

// vmListRules are hand-made services (foreign to the agent) that cover
// every column and flag `ipvsadm -Ln` prints: NAT with port mapping and a
// drained server, persistence with an IPv4 and an IPv6 mask, one-packet
// scheduling, the sh and mh flags, mixed forwarding methods, tunnels,
// SCTP, and fwmark services of both families.
var vmListRules = []string{
	"-A -t 10.0.2.110:443 -s wlc -p 600 -M 255.255.255.0",
	"-a -t 10.0.2.110:443 -r 10.0.2.111:8443 -m -w 3",
	"-a -t 10.0.2.110:443 -r 10.0.2.112:8443 -m -w 0",
	"-A -u 10.0.2.110:53 -s rr -o",
	"-a -u 10.0.2.110:53 -r 10.0.2.113:53 -i -w 2",
	"-A -t 10.0.2.120:80 -s sh -b sh-fallback,sh-port",
	"-a -t 10.0.2.120:80 -r 10.0.2.121:80 -g -w 1",
	"-a -t 10.0.2.120:80 -r 10.0.2.122:80 -i -w 1",
	"-A --sctp-service 10.0.2.130:5000 -s lc",
	"-a --sctp-service 10.0.2.130:5000 -r 10.0.2.131:5000 -m -w 1",
	"-A -t [2001:db8::10]:80 -s wrr -p 60 -M 64",
	"-a -t [2001:db8::10]:80 -r [2001:db8::11]:80 -g -w 1",
	"-A -f 9 -6 -s mh -b mh-port",
	"-a -f 9 -6 -r [2001:db8::12]:0 -g -w 1",
	"-A -f 3 -s rr",
	"-a -f 3 -r 10.0.2.141:0 -g -w 4",
}

// vmCheckList adds vmListRules by hand, compares ipvsadm.List of the
// agent's observation with the real `ipvsadm -Ln` (from its column header
// on), and takes the services away again. With LVS_IPVSADM_LIST_TESTDATA
// set to a directory it writes the observation and the real output there
// (internal/ipvsadm/testdata/list-kernel.{json,txt}, the unit test's
// fixture).
func vmCheckList(t *testing.T, h *vmHost) {
	t.Helper()
	var add, del []string
	for _, r := range vmListRules {
		add = append(add, "ipvsadm "+r)
		if strings.HasPrefix(r, "-A ") {
			del = append(del, "ipvsadm -D "+strings.Fields(r)[1]+" "+strings.Fields(r)[2]+
				map[bool]string{true: " -6", false: ""}[strings.Contains(r, " -6")])
		}
	}
	h.sh("modprobe -a ip_vs_sh ip_vs_mh ip_vs_lc ip_vs_wlc 2>/dev/null; " + strings.Join(add, " && "))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = h.vm.Run(ctx, strings.Join(del, "; "), nil)
	})

	listed := h.sh("ipvsadm -Ln")
	header, table, ok := strings.Cut(listed, "\n")
	if !ok || !strings.HasPrefix(header, "IP Virtual Server version") {
		t.Fatalf("ipvsadm -Ln does not start with its version line:\n%s", listed)
	}
	obs := h.observe()
	if got := ipvsadm.List(obs.IPVS); got != table {
		t.Errorf("ipvsadm.List of the observation differs from ipvsadm -Ln\n--- ipvsadm -Ln\n%s--- ipvsadm.List\n%s", table, got)
	}
	if dir := os.Getenv("LVS_IPVSADM_LIST_TESTDATA"); dir != "" {
		js, err := json.MarshalIndent(obs.IPVS, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "list-kernel.json"), append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "list-kernel.txt"), []byte(listed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
