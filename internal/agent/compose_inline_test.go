package agent

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// inlineVSObj is a DR service on 10.0.0.10:80 that declares its real
// servers inline, as an lvs_virtual_server with real_server blocks stores it.
func inlineVSObj(addrs ...string) wire.Object {
	vs := &model.VirtualServer{Address: netip.MustParseAddr("10.0.0.10"), Port: 80, ForwardingMethod: "dr"}
	for _, a := range addrs {
		vs.RealServers = append(vs.RealServers, model.RealServer{Address: netip.MustParseAddr(a)})
	}
	return wire.Object{Key: wire.VirtualServerKey(vs.Key()), VirtualServer: vs}
}

func TestComposeTakesInlineRealServers(t *testing.T) {
	hc, werr := compose(objMap(directorObj(100), inlineVSObj("192.168.1.10", "192.168.1.11")))
	if werr != nil {
		t.Fatal(werr)
	}
	if n := len(hc.keepalived.VirtualServers); n != 1 || len(hc.keepalived.VirtualServers[0].RealServers) != 2 {
		t.Fatalf("composed %+v, want one service with its 2 inline real servers", hc.keepalived.VirtualServers)
	}
}

// A service with inline real servers owns all its destinations: a real
// server object under it (an lvs_real_server naming it) is refused, with
// the way out in the message.
func TestComposeRefusesRealServerObjectsUnderAnInlineService(t *testing.T) {
	vs := inlineVSObj("192.168.1.10")
	_, werr := compose(objMap(directorObj(100), vs, groupRSObj(vs.ID, "192.168.1.11")))
	if werr == nil || werr.Code != wire.ExitBadRequest {
		t.Fatalf("compose: %v, want a bad request", werr)
	}
	msg := werr.Object + ": " + werr.Message
	for _, want := range []string{"real_server tcp/10.0.0.10:80/192.168.1.11:80", "inline", "real_server block"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}
