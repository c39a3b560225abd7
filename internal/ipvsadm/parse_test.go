package ipvsadm

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }
func w(n int) *int           { return &n }

// rs is a real server as the parser returns it: weight always explicit.
func rs(addr string, port, weight int) model.RealServer {
	return model.RealServer{Address: ip(addr), Port: port, Weight: w(weight)}
}

// via sets the real server's own forwarding method and tunnel.
func via(r model.RealServer, method, tunType string, tunPort int) model.RealServer {
	r.ForwardingMethod, r.TunnelType, r.TunnelPort = method, tunType, tunPort
	return r
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// TestParseSamples reads rules as ipvsadm-save -n prints them (and one
// hand-written file as people feed ipvsadm -R) into the expected models.
func TestParseSamples(t *testing.T) {
	cases := map[string][]model.VirtualServer{
		"nat-web.rules": {
			{Address: ip("192.168.100.10"), Port: 80, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "nat",
				RealServers: []model.RealServer{rs("10.10.0.21", 8080, 1), rs("10.10.0.22", 8080, 1), rs("10.10.0.23", 8080, 0)}},
			{Address: ip("192.168.100.10"), Port: 443, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "nat",
				PersistenceTimeout: 300, PersistenceGranularity: 24,
				RealServers: []model.RealServer{rs("10.10.0.21", 443, 1), rs("10.10.0.22", 443, 1)}},
			{Address: ip("192.168.100.10"), Port: 53, Protocol: "udp", Scheduler: "rr", OnePacket: true, ForwardingMethod: "nat",
				RealServers: []model.RealServer{rs("10.10.0.31", 53, 1), rs("10.10.0.32", 53, 1)}},
		},
		"dr-mixed.rules": {
			{Address: ip("203.0.113.10"), Port: 0, Protocol: "tcp", Scheduler: "wlc", PersistenceTimeout: 300, ForwardingMethod: "dr",
				RealServers: []model.RealServer{rs("203.0.113.21", 0, 1)}},
			{Address: ip("203.0.113.10"), Port: 80, Protocol: "tcp", Scheduler: "sh", SchedulerFallback: true, SchedulerPort: true, ForwardingMethod: "dr",
				RealServers: []model.RealServer{rs("203.0.113.21", 80, 1), rs("203.0.113.22", 80, 1)}},
			{Address: ip("203.0.113.10"), Port: 443, Protocol: "tcp", Scheduler: "wrr", PersistenceTimeout: 1800, ForwardingMethod: "dr",
				RealServers: []model.RealServer{rs("203.0.113.21", 443, 3), rs("203.0.113.22", 443, 1)}},
			{Address: ip("203.0.113.10"), Port: 3868, Protocol: "sctp", Scheduler: "rr", ForwardingMethod: "dr",
				RealServers: []model.RealServer{rs("203.0.113.31", 3868, 1)}},
			{Address: ip("2001:db8::10"), Port: 80, Protocol: "tcp", Scheduler: "mh", SchedulerPort: true,
				PersistenceTimeout: 300, PersistenceGranularity: 64,
				RealServers: []model.RealServer{
					via(rs("2001:db8::21", 80, 1), "dr", "", 0),
					via(rs("2001:db8::22", 80, 1), "tun", "ipip", 0),
				}},
			{Fwmark: 1, Family: "inet", Scheduler: "rr", ForwardingMethod: "nat",
				RealServers: []model.RealServer{rs("192.168.10.1", 0, 1), rs("192.168.10.2", 0, 1)}},
			{Fwmark: 2, Family: "inet6", Scheduler: "wlc", PersistenceTimeout: 600, ForwardingMethod: "dr",
				RealServers: []model.RealServer{rs("2001:db8:1::1", 0, 1)}},
		},
		"tun.rules": {
			{Address: ip("10.0.0.1"), Port: 80, Protocol: "tcp", Scheduler: "rr", ForwardingMethod: "tun", TunnelType: "gre",
				RealServers: []model.RealServer{rs("192.168.11.1", 80, 1)}},
			{Address: ip("207.175.44.110"), Port: 80, Protocol: "tcp", Scheduler: "rr",
				RealServers: []model.RealServer{
					via(rs("192.168.10.1", 80, 1), "tun", "gue", 6080),
					via(rs("192.168.10.4", 80, 1), "tun", "gue", 6078),
				}},
			{Address: ip("207.175.44.110"), Port: 53, Protocol: "udp", Scheduler: "wrr", ForwardingMethod: "tun", TunnelType: "ipip",
				RealServers: []model.RealServer{rs("192.168.10.1", 53, 2), rs("192.168.10.2", 53, 1)}},
		},
		"handwritten.rules": {
			{Address: ip("198.51.100.5"), Port: 25, Protocol: "tcp", Scheduler: "lc", ForwardingMethod: "nat",
				RealServers: []model.RealServer{
					{Address: ip("198.51.100.6"), Port: 25, Weight: w(5), UpperThreshold: 100, LowerThreshold: 50},
					rs("198.51.100.7", 2525, 1),
				}},
			// Defaults only: wlc, -p 300, -g with the virtual port forced, weight 1.
			{Address: ip("198.51.100.5"), Port: 514, Protocol: "udp", Scheduler: "wlc", PersistenceTimeout: 300, ForwardingMethod: "dr",
				RealServers: []model.RealServer{rs("198.51.100.8", 514, 1)}},
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Parse(f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(want, got, addrCmp); d != "" {
				t.Errorf("parsed model differs (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseErrors checks that each broken line is refused with its line
// number, the token to blame, and a message saying what is wrong.
func TestParseErrors(t *testing.T) {
	const svc = "-A -t 10.0.0.1:80 -s rr\n"
	cases := []struct {
		name, rules string
		line        int
		token, msg  string
		notModelled bool
	}{
		{"bad service address", "-A -t 10.0.0.300:80 -s rr\n", 1, "10.0.0.300:80", "not a numeric IP address", false},
		{"host name", "-A -t www.example.com:http\n", 1, "www.example.com:http", "ipvsadm-save -n", false},
		{"port name", "-A -t 10.0.0.1:http\n", 1, "10.0.0.1:http", "invalid port", false},
		{"bad real server", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2.5:80 -m\n", 2, "10.0.0.2.5:80", "invalid real server address", false},
		{"bracket without port", "-A -t [2001:db8::1] -s rr\n", 1, "[2001:db8::1]", "needs its port", false},
		{"unknown option", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -q\n", 2, "-q", "unknown option", false},
		{"unknown scheduler flag", "-A -t 10.0.0.1:80 -s sh -b sh-sticky\n", 1, "sh-sticky", "invalid scheduler flag", false},
		{"flag of other scheduler", "-A -t 10.0.0.1:80 -s wlc -b sh-port\n", 1, "sh-port", "incompatible scheduler flag", false},
		{"generic flag", "-A -t 10.0.0.1:80 -s rr -b flag-1\n", 1, "flag-1", "not modelled", true},
		{"destination before service", "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m\n" + svc, 1, "10.0.0.1:80", "comes before the service's -A line", false},
		{"destination of other service", svc + "-a -u 10.0.0.1:80 -r 10.0.0.2:80 -m\n", 2, "10.0.0.1:80", "-u 10.0.0.1:80 comes before", false},
		{"duplicate service", svc + "\n" + svc, 3, "10.0.0.1:80", "already added on line 1", false},
		{"duplicate destination", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 2\n", 3, "10.0.0.2:80", "already a destination", false},
		{"persistence engine", "-A -u 10.0.0.1:5060 -s rr -p 60 --pe sip\n", 1, "--pe sip", "persistence engine (--pe) is not modelled", true},
		{"tunnel checksum", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i --tun-type gue --tun-port 6080 --tun-csum\n", 2, "--tun-csum", "not modelled", true},
		{"gue without port", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i --tun-type gue\n", 2, "--tun-type gue", "needs --tun-port", false},
		{"tunnel option on nat", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m --tun-type ipip\n", 2, "--tun-type", "tunnelling (-i) only", false},
		{"ipv6 flag before fwmark", "-A -6 -f 5 -s rr\n", 1, "-6", "must follow -f", false},
		{"weight range", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 70000\n", 2, "70000", "out of range 0 to 65535", false},
		{"timeout range", "-A -t 10.0.0.1:80 -s rr -p 2678401\n", 1, "2678401", "invalid persistence timeout", false},
		{"non-contiguous mask", "-A -t 10.0.0.1:80 -s rr -p 60 -M 255.0.255.0\n", 1, "255.0.255.0", "not contiguous", true},
		{"two forwarding methods", svc + "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -g\n", 2, "-g", "conflicts with -m", false},
		{"other command", svc + "-D -t 10.0.0.1:80\n", 2, "-D", "does not belong in saved rules", false},
		{"stray argument", "-A -t 10.0.0.1:80 rr\n", 1, "rr", "unexpected argument", false},
		{"no command", "-t 10.0.0.1:80 -s rr\n", 1, "-t", "a rule starts with -A", false},
		{"server option on service", "-A -t 10.0.0.1:80 -w 3\n", 1, "-w", "does not apply to -A", false},
		{"mixed families", svc + "-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -m\n", 2, "[2001:db8::2]:80", "another address family", false},
		{"ops on tcp (model rule)", "-A -t 10.0.0.1:80 -s rr -o\n", 1, "-t 10.0.0.1:80", "one_packet: one-packet scheduling applies to udp services only", false},
		{"port 0 without persistence", "\n\n-A -t 10.0.0.1:0 -s rr\n", 3, "-t 10.0.0.1:0", "port 0 (all ports) needs persistence_timeout", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.rules))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *ParseError, got %v", err)
			}
			if pe.Line != c.line || pe.Token != c.token {
				t.Errorf("blamed line %d token %q, want line %d token %q (%v)", pe.Line, pe.Token, c.line, c.token, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
			if errors.Is(err, ErrNotModelled) != c.notModelled {
				t.Errorf("errors.Is(err, ErrNotModelled) = %v, want %v (%v)", !c.notModelled, c.notModelled, err)
			}
		})
	}
}
