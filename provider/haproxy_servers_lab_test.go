//go:build linux

package provider

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/net/dns/dnsmessage"
)

// The servers-by-name lab: its own name and subnet.
const (
	serversLabName   = "lvsz3"
	serversLabSubnet = "10.153.0.0/24"
	// serversAppName is the host name the lab's DNS server answers.
	serversAppName = "app.lvsz3.test"
)

// labDNS is a DNS server on the lab's bridge (the machine, as the hosts
// see it) that answers A queries for one name with an address the test
// sets, and NXDOMAIN for anything else: what haproxy's resolvers ask.
type labDNS struct {
	conn    *net.UDPConn
	mu      sync.Mutex
	answer  netip.Addr
	queries int
}

func startLabDNS(t *testing.T, at netip.Addr) *labDNS {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(at, 0)))
	if err != nil {
		t.Fatalf("lab DNS: %v", err)
	}
	d := &labDNS{conn: conn}
	t.Cleanup(func() { _ = conn.Close() })
	go d.serve()
	return d
}

func (d *labDNS) addrPort() netip.AddrPort { return d.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (d *labDNS) set(a netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answer = a
}

func (d *labDNS) asked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries
}

func (d *labDNS) serve() {
	buf := make([]byte, 4096)
	for {
		n, from, err := d.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		if resp, err := d.reply(buf[:n]); err == nil {
			_, _ = d.conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

// reply answers one query: the A record of serversAppName, an empty
// answer for its other types (haproxy asks AAAA too), NXDOMAIN otherwise.
func (d *labDNS) reply(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.queries++
	answer := d.answer
	d.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	known := strings.EqualFold(strings.TrimSuffix(q.Name.String(), "."), serversAppName)
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA && answer.IsValid() {
		if err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1},
			dnsmessage.AResource{A: answer.As4()}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// tlsLabServer is an HTTPS server of the test on the lab bridge, with a
// certificate for tlsHost from the test's CA, and an haproxy agent beside
// it that answers each agent check with the line the test sets.
type tlsLabServer struct {
	https, agent netip.AddrPort
	mu           sync.Mutex
	line         string
}

func startTLSLabServer(t *testing.T, at netip.Addr, ca *testCA) *tlsLabServer {
	t.Helper()
	certPEM, keyPEM := ca.leaf(t, 2)
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", netip.AddrPortFrom(at, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "tls-server\n") }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		_ = srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}()
	t.Cleanup(func() { _ = srv.Close() })
	al, err := net.Listen("tcp4", netip.AddrPortFrom(at, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = al.Close() })
	s := &tlsLabServer{
		https: l.Addr().(*net.TCPAddr).AddrPort(),
		agent: al.Addr().(*net.TCPAddr).AddrPort(),
		line:  "up ready",
	}
	go func() {
		for {
			c, err := al.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			line := s.line
			s.mu.Unlock()
			_, _ = io.WriteString(c, line+"\n")
			_ = c.Close()
		}
	}()
	return s
}

func (s *tlsLabServer) say(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.line = line
}

func serversByNameConfig(a *accLab, dns netip.AddrPort, resolvers string, ts *tlsLabServer) string {
	return a.providerConfig() + fmt.Sprintf(`
locals {
  lb = %[1]q
}

resource "lvs_haproxy" "lb" {
  ssh {
    host = local.lb
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
  resolvers {
    name            = "lab"
    nameservers     = [%[2]q]
    resolve_retries = 3
    timeout_resolve = 500
    timeout_retry   = 500
    hold_valid      = 1000
  }
}

resource "lvs_haproxy_backend" "web" {
  ssh {
    host = local.lb
  }
  name = "web"
  server {
    name           = "app"
    address        = %[3]q
    port           = 8000
    check          = true
    inter          = 500
    rise           = 1
    resolvers      = %[4]q
    resolve_prefer = "ipv4"
    init_addr      = ["none"]
  }
  depends_on = [lvs_haproxy.lb]
}

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = local.lb
  }
  name = "web"
  mode = "http"
  bind {
    address = local.lb
    port    = 8080
  }
  default_backend = lvs_haproxy_backend.web.name
}

# TLS to a server of the test, verified against the test's CA and the
# name its certificate carries; its agent can take it out.
resource "lvs_haproxy_frontend" "tls" {
  ssh {
    host = local.lb
  }
  name = "tls"
  mode = "http"
  bind {
    address = local.lb
    port    = 8081
  }
  backend {
    server {
      name        = "tls1"
      address     = %[5]q
      port        = %[6]d
      check       = true
      inter       = 500
      rise        = 1
      ssl         = true
      verify      = "required"
      ca_file     = "/etc/haproxy/lab-ca.pem"
      sni         = "str(%[7]s)"
      verifyhost  = %[7]q
      agent_check = true
      agent_port  = %[8]d
      agent_inter = 500
    }
  }
  depends_on = [lvs_haproxy.lb]
}
`, a.addr("lb1"), dns.String(), serversAppName, resolvers,
		ts.https.Addr().String(), ts.https.Port(), tlsHost, ts.agent.Port())
}

// TestAccHAProxyServersByName_netns: a server given by host name, resolved
// at run time through a resolvers section of lvs_haproxy whose nameserver
// is a DNS server of the test. Traffic reaches the address the name
// resolves to, follows the name when its address changes (no apply), the
// plan stays empty and the backend imports with its new attributes. A
// second frontend's server speaks TLS to an HTTPS server of the test,
// verified against the test's CA (ca_file) and name (sni, verifyhost), and
// its agent (agent_check) takes it out with "maint" and back; it imports
// with its TLS and agent attributes. Then a
// server naming a resolvers section the host does not have passes plan
// and is refused at apply, naming the section.
func TestAccHAProxyServersByName_netns(t *testing.T) {
	t.Parallel()
	a := startAccLabAt(t, serversLabName, serversLabSubnet, "lb1", "app1", "app2")
	for _, app := range []string{"app1", "app2"} {
		a.serveHTTP(app)
	}
	conf := a.Hosts["lb1"].Path("/etc/haproxy/haproxy.cfg")
	if _, err := os.Stat(conf); err == nil {
		// The lab seeds Debian's haproxy.cfg, which is not ours: set aside.
		if err := os.Rename(conf, conf+".debian"); err != nil {
			t.Fatal(err)
		}
	}
	ca := newTestCA(t)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	if err := os.WriteFile(a.Hosts["lb1"].Path("/etc/haproxy/lab-ca.pem"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startTLSLabServer(t, a.Gateway, ca)
	dns := startLabDNS(t, a.Gateway)
	dns.set(netip.MustParseAddr(a.addr("app1")))
	url := fmt.Sprintf("http://%s:8080/", a.addr("lb1"))
	tlsURL := fmt.Sprintf("http://%s:8081/", a.addr("lb1"))
	answeredAt := func(url, want string, within time.Duration) error {
		err := waitFor(within, func() error {
			body, err := httpGet(url)
			if err != nil {
				return err
			}
			if body != want {
				return fmt.Errorf("GET %s answered by %q, want %q", url, body, want)
			}
			return nil
		})
		if err != nil {
			b, _ := os.ReadFile(conf)
			return fmt.Errorf("%w (the lab DNS was asked %d times)\nhaproxy.cfg:\n%s", err, dns.asked(), b)
		}
		return nil
	}
	answeredBy := func(want string, within time.Duration) error { return answeredAt(url, want, within) }
	// refused waits for the TLS frontend to answer 503 (no server).
	refused := func(within time.Duration) error {
		return waitFor(within, func() error {
			body, err := httpGet(tlsURL)
			switch {
			case err == nil:
				return fmt.Errorf("GET %s answered %q, want 503 with the agent's server out", tlsURL, body)
			case !strings.Contains(err.Error(), "503"):
				return fmt.Errorf("want 503 with the agent's server out: %w", err)
			}
			return nil
		})
	}
	start := time.Now()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: serversByNameConfig(a, dns.addrPort(), "lab", ts),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					t.Logf("create: %s", time.Since(start).Round(time.Millisecond))
					b, err := os.ReadFile(conf)
					if err != nil {
						return err
					}
					for _, want := range []string{
						"\nresolvers lab\n    nameserver ns1 " + dns.addrPort().String() + "\n",
						"    server app " + serversAppName + ":8000 check inter 500 rise 1 resolvers lab resolve-prefer ipv4 init-addr none\n",
					} {
						if !strings.Contains(string(b), want) {
							return fmt.Errorf("haproxy.cfg lacks %q:\n%s", want, b)
						}
					}
					if err := answeredBy("app1", 20*time.Second); err != nil {
						return err
					}
					// The name moves: haproxy follows it at run time.
					dns.set(netip.MustParseAddr(a.addr("app2")))
					moved := time.Now()
					if err := answeredBy("app2", 30*time.Second); err != nil {
						return fmt.Errorf("after the name moved to app2: %w", err)
					}
					t.Logf("traffic followed the name to app2 in %s", time.Since(moved).Round(time.Millisecond))
					// TLS verified against the test's CA and name.
					if err := answeredAt(tlsURL, "tls-server", 20*time.Second); err != nil {
						return fmt.Errorf("over TLS: %w", err)
					}
					// The agent takes its server out, then back in.
					ts.say("maint")
					if err := refused(15 * time.Second); err != nil {
						return err
					}
					ts.say("ready up")
					if err := answeredAt(tlsURL, "tls-server", 15*time.Second); err != nil {
						return fmt.Errorf("after the agent said ready: %w", err)
					}
					return nil
				},
			},
			{
				ResourceName:      "lvs_haproxy_backend.web",
				ImportState:       true,
				ImportStateId:     "web@" + a.addr("lb1"),
				ImportStateVerify: true,
			},
			{
				ResourceName:      "lvs_haproxy_frontend.tls",
				ImportState:       true,
				ImportStateId:     "tls@" + a.addr("lb1"),
				ImportStateVerify: true,
			},
			{
				ResourceName:      "lvs_haproxy.lb",
				ImportState:       true,
				ImportStateId:     a.addr("lb1"),
				ImportStateVerify: true,
			},
			{
				Config:      serversByNameConfig(a, dns.addrPort(), "nowhere", ts),
				ExpectError: regexp.MustCompile(`(?s)no\s+single\s+resource\s+can\s+check\s+at\s+plan.*haproxy_backend\s+web:\s+validate:\s+backend\[\d+\]\.server\[0\]\.resolvers:\s+"nowhere"\s+is\s+not\s+the\s+name\s+of\s+a\s+resolvers\s+section`),
			},
		},
	})
}
