package agent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// A failed netlink dump is an error of the observation's IPVS section,
// never an empty table: the service it would list is unknown, not gone.
func TestObserveReportsAFailedIPVSRead(t *testing.T) {
	_, a, table := netlinkHost(t)
	mustApply(t, a, []wire.Object{netlinkDirector(), vsObj(), rsObj("192.168.0.21")})
	table.FailNext("Services", errors.New("netlink: message truncated"))
	resp, code := a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve})
	if code != wire.ExitOK {
		t.Fatalf("observe: exit %d: %v", code, resp.Error)
	}
	o := resp.Observed
	if len(o.IPVS) != 0 {
		t.Errorf("a failed read listed %d services", len(o.IPVS))
	}
	err := o.Err()
	if err == nil || !strings.Contains(err.Error(), "observe ipvs: reading the IPVS table") || !strings.Contains(err.Error(), "message truncated") {
		t.Fatalf("Err() = %v, want the IPVS section's error", err)
	}
	// The next observe reads the table again, and all is well.
	resp, _ = a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve})
	if err := resp.Observed.Err(); err != nil || len(resp.Observed.IPVS) != 1 {
		t.Errorf("observe after the failure: %d services, %v", len(resp.Observed.IPVS), err)
	}
}
