package cluster

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseVSID(t *testing.T) {
	for _, tc := range []struct {
		id        string
		canonical string
		want      Service
		directors []string
	}{
		{"tcp/10.0.0.10:80@dir1,dir2", "", Service{Address: netip.MustParseAddr("10.0.0.10"), Port: 80, Protocol: "tcp"}, []string{"dir1", "dir2"}},
		{"udp/[2001:db8::1]:53@10.77.0.11", "", Service{Address: netip.MustParseAddr("2001:db8::1"), Port: 53, Protocol: "udp"}, []string{"10.77.0.11"}},
		{"sctp/10.0.0.10:0@d", "", Service{Address: netip.MustParseAddr("10.0.0.10"), Port: 0, Protocol: "sctp"}, []string{"d"}},
		{"fwmark/7@dir2,dir1", "fwmark/7@dir1,dir2", Service{Fwmark: 7, Family: "inet"}, []string{"dir1", "dir2"}},
		{"fwmark6/4294967295@dir1", "", Service{Fwmark: 4294967295, Family: "inet6"}, []string{"dir1"}},
		{"tcp/10.0.0.10:80@dir1:2222, dir2", "tcp/10.0.0.10:80@dir1:2222,dir2", Service{Address: netip.MustParseAddr("10.0.0.10"), Port: 80, Protocol: "tcp"}, []string{"dir1:2222", "dir2"}},
	} {
		got, err := ParseVirtualServerID(tc.id)
		if err != nil {
			t.Errorf("ParseVirtualServerID(%q): %v", tc.id, err)
			continue
		}
		if got.Service != tc.want || strings.Join(got.Directors, ",") != strings.Join(tc.directors, ",") {
			t.Errorf("ParseVirtualServerID(%q) = %+v, want %+v on %v", tc.id, got, tc.want, tc.directors)
		}
		canonical := tc.canonical
		if canonical == "" {
			canonical = tc.id
		}
		if got.String() != canonical {
			t.Errorf("ParseVirtualServerID(%q).String() = %q, want %q", tc.id, got.String(), canonical)
		}
		// The key is the model's key: the wire object id on each director.
		vs := got.VirtualServer()
		if vs.Key()+"@"+strings.Join(got.Directors, ",") != canonical {
			t.Errorf("model key of %q = %q", tc.id, vs.Key())
		}
	}
}

func TestParseVSIDErrors(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"tcp/10.0.0.10:80", `no "@"`},
		{"tcp/10.0.0.10:80@", `no "@"`},
		{"@dir1", `no "@"`},
		{"tcp/10.0.0.10:80@dir1,,dir2", "empty director"},
		{"tcp/10.0.0.10:80@dir1,dir1", "twice"},
		{"icmp/10.0.0.10:80@dir1", "neither a protocol"},
		{"tcp/10.0.0.10@dir1", "not ADDRESS:PORT"},
		{"tcp/2001:db8::1:80@dir1", "not ADDRESS:PORT"},
		{"tcp/[fe80::1%eth0]:80@dir1", "no zone"},
		{"fwmark/0@dir1", "not a firewall mark"},
		{"fwmark/x@dir1", "not a firewall mark"},
		{"fwmark/4294967296@dir1", "not a firewall mark"},
		{"tcp@dir1", "want PROTOCOL/ADDRESS:PORT"},
		{"tcp/[::ffff:10.0.0.10]:80@dir1", `write it as "tcp/10.0.0.10:80"`},
	} {
		_, err := ParseVirtualServerID(tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseVirtualServerID(%q) error = %v, want it to say %q", tc.id, err, tc.want)
		}
	}
}

func TestParseRSID(t *testing.T) {
	for _, tc := range []struct {
		id, vsKey, dest string
		directors       []string
	}{
		{"tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2", "tcp/10.0.0.10:80", "192.168.1.10:80", []string{"dir1", "dir2"}},
		{"udp/[2001:db8::1]:53/[2001:db8::10]:5353@dir1", "udp/[2001:db8::1]:53", "[2001:db8::10]:5353", []string{"dir1"}},
		{"fwmark/7/192.168.1.10:0@dir1", "fwmark/7", "192.168.1.10:0", []string{"dir1"}},
	} {
		got, err := ParseRealServerID(tc.id)
		if err != nil {
			t.Errorf("ParseRealServerID(%q): %v", tc.id, err)
			continue
		}
		if got.VS.Key() != tc.vsKey || got.DestKey() != tc.dest || strings.Join(got.VS.Directors, ",") != strings.Join(tc.directors, ",") {
			t.Errorf("ParseRealServerID(%q) = %s %s on %v", tc.id, got.VS.Key(), got.DestKey(), got.VS.Directors)
		}
		if got.String() != tc.id {
			t.Errorf("ParseRealServerID(%q).String() = %q", tc.id, got.String())
		}
		if got.ObjectID() != tc.vsKey+"/"+tc.dest {
			t.Errorf("objectID = %q", got.ObjectID())
		}
	}
	for _, tc := range []struct{ id, want string }{
		{"tcp/10.0.0.10:80/192.168.1.10:80", `no "@"`},
		{"tcp/10.0.0.10:80@dir1", "want PROTOCOL/ADDRESS:PORT"},
		{"tcp/10.0.0.10:80/192.168.1.10@dir1", "not ADDRESS:PORT"},
		{"icmp/10.0.0.10:80/192.168.1.10:80@dir1", "neither a protocol"},
		{"192.168.1.10:80@dir1", "want VIRTUAL_SERVER/ADDRESS:PORT@DIRECTORS"},
	} {
		_, err := ParseRealServerID(tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRealServerID(%q) error = %v, want it to say %q", tc.id, err, tc.want)
		}
	}
}
