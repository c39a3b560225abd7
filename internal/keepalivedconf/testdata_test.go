package keepalivedconf

import (
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

func ptr[T any](v T) *T { return &v }

var (
	addr   = netip.MustParseAddr
	prefix = netip.MustParsePrefix
)

// handwritten are configurations in the style of keepalived's manual and
// of hand-built clusters, with the model each must read as and the lines
// that must warn.
var handwritten = []struct {
	file      string
	want      model.KeepalivedConfig
	warnLines []int
}{
	{
		file: "testdata/sample.conf",
		want: model.KeepalivedConfig{
			Director: model.Director{
				RouterID: "LVS_DEVEL",
				Globals: model.GlobalDefs{
					NotificationEmail: []string{"acassen@firewall.loc"}, NotificationEmailFrom: "Alexandre.Cassen@firewall.loc",
					SMTPServer: addr("192.168.200.1"), SMTPConnectTimeout: 30, VRRPSkipCheckAdvAddr: true,
				},
				Instances: []model.VRRPInstance{{
					Name: "VI_1", State: "MASTER", Interface: "eth0", VirtualRouterID: 51, Priority: 100, AdvertInt: 1,
					Authentication: &model.VRRPAuth{Type: "PASS", Password: "1111"},
					VirtualIPs: []model.VirtualIP{
						{Prefix: prefix("192.168.200.16/32")},
						{Prefix: prefix("192.168.200.17/24"), Device: "eth0"},
						{Prefix: prefix("192.168.200.18/32"), Label: "eth0:vip"},
					},
				}},
			},
			VirtualServers: []model.VirtualServer{
				{
					Address: addr("192.168.200.100"), Port: 443, DelayLoop: 6, Scheduler: "rr", ForwardingMethod: "nat",
					PersistenceTimeout: 50, Protocol: "tcp",
					RealServers: []model.RealServer{{
						Address: addr("192.168.201.100"), Port: 443, Weight: ptr(1),
						SSLGet: &model.HTTPCheck{
							CheckCommon: model.CheckCommon{ConnectTimeout: 3, Retry: 3, DelayBeforeRetry: 3},
							URLs: []model.CheckURL{
								{Path: "/", Digest: "ff20ad2481f97b1754ef3e12ecd3a9cc"},
								{Path: "/mrtg/", Digest: "9b3a0c85a887a256d6939da88aabd8cd"},
							},
						},
					}},
				},
				{
					Address: addr("10.10.10.2"), Port: 1358, DelayLoop: 6, Scheduler: "rr", ForwardingMethod: "nat",
					PersistenceTimeout: 50, Protocol: "tcp",
					SorryServer: &model.SorryServer{Address: addr("192.168.200.200"), Port: 1358},
					RealServers: []model.RealServer{{
						Address: addr("192.168.200.2"), Port: 1358, Weight: ptr(1),
						HTTPGet: &model.HTTPCheck{
							CheckCommon: model.CheckCommon{ConnectTimeout: 3, Retry: 3, DelayBeforeRetry: 3},
							URLs:        []model.CheckURL{{Path: "/testurl/test.jsp", StatusCode: "200"}},
						},
					}},
				},
			},
		},
		// brd and scope (nb_get_retry in HTTP_GET is read as retry, as
		// keepalived 2.2 reads it).
		warnLines: []int{26, 26},
	},
	{
		file: "testdata/handwritten.conf",
		want: model.KeepalivedConfig{
			Director: model.Director{
				RouterID: "lb1", ScriptUser: "root", EnableScriptSecurity: true,
				Instances: []model.VRRPInstance{{
					Name: "VI_WEB", State: "BACKUP", Interface: "eth0", VirtualRouterID: 60, Priority: 150, AdvertInt: 1,
					NoPreempt: true, UnicastSrcIP: addr("10.0.0.2"), UnicastPeers: []netip.Addr{addr("10.0.0.3")},
					VirtualIPs:   []model.VirtualIP{{Prefix: prefix("10.0.0.100/24"), Device: "eth0"}},
					TrackScripts: []model.TrackScript{{Name: "chk_haproxy", Script: "/usr/bin/killall -0 haproxy", Interval: 2, Weight: -20, Fall: 2, Rise: 2}},
					TrackIfaces:  []model.TrackInterface{{Name: "lo", Weight: -10}},
					Notify:       model.Notify{Master: "/etc/keepalived/master.sh VI_WEB", Any: "/etc/keepalived/notify.sh"},
				}},
			},
			VirtualServers: []model.VirtualServer{{
				Fwmark: 7, DelayLoop: 10, Scheduler: "sh", SchedulerPort: true, ForwardingMethod: "dr",
				PersistenceTimeout: 300, PersistenceGranularity: 24, Quorum: 1, InhibitOnFailure: true,
				RealServers: []model.RealServer{
					{
						Address: addr("10.0.0.21"), Weight: ptr(2), InhibitOnFailure: ptr(false),
						TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 80, ConnectTimeout: 2}},
					},
					{
						Address: addr("10.0.0.22"), Weight: ptr(0),
						MiscCheck: &model.MiscCheck{Script: "/usr/local/bin/check 10.0.0.22", Timeout: 5, Dynamic: true},
					},
				},
			}},
		},
	},
}

func TestHandwritten(t *testing.T) {
	for _, tc := range handwritten {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, warns, err := Parse(f, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tc.want, "", " ")
				t.Errorf("model differs:\n%s", diff(string(w), string(g)))
			}
			var lines []int
			for _, w := range warns {
				lines = append(lines, w.Line)
				if !strings.HasPrefix(w.String(), tc.file+":") {
					t.Errorf("warning %q does not name the file", w)
				}
			}
			if !reflect.DeepEqual(lines, tc.warnLines) {
				t.Errorf("warnings at lines %v, want %v: %v", lines, tc.warnLines, warns)
			}
			// What was read renders, and the rendering reads back as the same model.
			text, err := render.Keepalived(got)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			again, warns, err := Parse(strings.NewReader(text), "rendered")
			if err != nil || len(warns) != 0 {
				t.Fatalf("parsing the rendering: %v %v", err, warns)
			}
			if !Equivalent(got, again) {
				g, _ := json.MarshalIndent(again, "", " ")
				w, _ := json.MarshalIndent(got, "", " ")
				t.Errorf("rendering reads back differently:\n%s", diff(string(w), string(g)))
			}
		})
	}
}
