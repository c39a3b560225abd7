package wire

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func TestRequestRoundTrip(t *testing.T) {
	w := 3
	req := Request{Version: Version, Verb: VerbApply,
		Put: []Object{
			{Key: Key{KindDirector, "director"}, Director: &model.Director{Interface: "eth0", Instances: []model.VRRPInstance{{
				Name: "VI_1", VirtualRouterID: 51, Priority: 120, Authentication: &model.VRRPAuth{Type: "PASS", Password: "pw"},
				VirtualIPs: []model.VirtualIP{{Prefix: netip.MustParsePrefix("10.0.0.10/24")}},
			}}}},
			{Key: Key{KindVirtualServer, "group/web/tcp"}, VirtualServer: &model.VirtualServer{Group: "web"},
				VirtualServerGroup: &model.VirtualServerGroup{Name: "web", Members: []model.VSGroupMember{
					{Address: netip.MustParseAddr("10.0.0.40"), RangeEnd: 41, Port: 80}, {Fwmark: 7}}}},
			{Key: Key{KindRealServer, "tcp/10.0.0.10:80/10.0.1.1:80"}, RealServer: &model.RealServer{Address: netip.MustParseAddr("10.0.1.1"), Weight: &w}},
		},
		Delete: []Key{{KindVirtualServer, "udp/10.0.0.10:53"}},
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadRequest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&req, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Fatalf("round trip changed the request (-want +got):\n%s", d)
	}
}

func TestReadRequestRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"other version": `{"version":99,"verb":"observe"}`,
		"unknown field": `{"version":2,"verb":"observe","flush":true}`,
		"body mismatch": `{"version":2,"verb":"apply","put":[{"kind":"director","id":"director","real_server":{}}]}`,
		"unknown kind":  `{"version":2,"verb":"apply","put":[{"kind":"nginx","id":"x"}]}`,
		"empty id":      `{"version":2,"verb":"apply","put":[{"kind":"director","id":"","director":{}}]}`,
		"not json":      `verb=apply`,
		"group on a director": `{"version":2,"verb":"apply","put":[{"kind":"director","id":"director","director":{},` +
			`"virtual_server_group":{"Name":"web"}}]}`,
		"group not named": `{"version":2,"verb":"apply","put":[{"kind":"virtual_server","id":"tcp/10.0.0.10:80",` +
			`"virtual_server":{"Address":"10.0.0.10","Port":80},"virtual_server_group":{"Name":"web"}}]}`,
		"another group": `{"version":2,"verb":"apply","put":[{"kind":"virtual_server","id":"group/web/tcp",` +
			`"virtual_server":{"Group":"web"},"virtual_server_group":{"Name":"api"}}]}`,
	} {
		if _, err := ReadRequest(strings.NewReader(body)); err == nil {
			t.Errorf("%s: accepted %s", name, body)
		}
	}
}
