//go:build linux

package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The TLS lab: its own name and subnet.
const (
	tlsLabName   = "lvsx5"
	tlsLabSubnet = "10.135.0.0/24"
	tlsHost      = "www.lvs.test"
)

// testCA is a certificate authority of the test, which the client trusts
// and which signs the leaf certificates haproxy serves.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lvs test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a certificate for tlsHost with a fresh key, serial serial;
// it returns the certificate and key in PEM.
func (ca *testCA) leaf(t *testing.T, serial int64) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: tlsHost},
		DNSNames:     []string{tlsHost},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// httpsGet sends one request on a fresh connection (a new handshake),
// trusting only the test CA, and returns the body and the serial of the
// certificate the server presented.
func (ca *testCA) httpsGet(url string) (body string, serial int64, err error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: ca.pool, ServerName: tlsHost, MinVersion: tls.VersionTLS12},
	}}
	resp, err := c.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return strings.TrimSpace(string(b)), resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
}

// tlsLoad sends HTTPS requests from several clients at once, each on fresh
// connections, until stopped; it counts answers by certificate serial.
type tlsLoad struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	serials  map[int64]int
	fail     int
	firstErr error
}

func (ca *testCA) startLoad(url string, clients int) *tlsLoad {
	l := &tlsLoad{stop: make(chan struct{}), serials: map[int64]int{}}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				_, serial, err := ca.httpsGet(url)
				l.mu.Lock()
				if err != nil {
					l.fail++
					if l.firstErr == nil {
						l.firstErr = err
					}
				} else {
					l.serials[serial]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *tlsLoad) finish() (serials map[int64]int, fail int, firstErr error) {
	close(l.stop)
	l.wg.Wait()
	return l.serials, l.fail, l.firstErr
}

// tlsConfig is lb1 terminating TLS on :8443 with the certificate "www"
// (its key write-only, at version), in front of app1.
func tlsConfig(a *accLab, certPEM, keyPEM string, version int) string {
	return a.providerConfig() + fmt.Sprintf(`
resource "lvs_haproxy" "lb" {
  ssh {
    host = %[1]q
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
}

resource "lvs_haproxy_certificate" "www" {
  ssh {
    host = %[1]q
  }
  name            = "www"
  certificate_pem = <<-EOT
%[3]s  EOT
  private_key_pem_wo = <<-EOT
%[4]s  EOT
  private_key_pem_wo_version = %[5]d
}

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = %[1]q
  }
  name = "web"
  mode = "http"
  bind {
    address     = %[1]q
    port        = 8443
    certificate = lvs_haproxy_certificate.www.name
  }
  backend {
    server {
      name    = "app1"
      address = %[2]q
      port    = 8000
      check   = true
      inter   = 500
      rise    = 1
    }
  }
}
`, a.addr("lb1"), a.addr("app1"), certPEM, keyPEM, version)
}

// certFiles lists the certificate directory of lb1, with each file's mode.
func certFiles(a *accLab) (map[string]os.FileMode, os.FileMode, error) {
	dir := a.Hosts["lb1"].Path(model.HAProxyCertDir)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	out := map[string]os.FileMode{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, 0, err
		}
		out[e.Name()] = info.Mode()
	}
	return out, fi.Mode().Perm(), nil
}

// checkCertFiles requires exactly one certificate file, mode 0600, in a
// directory of mode 0700, holding certPEM.
func checkCertFiles(a *accLab, certPEM string) error {
	files, dirMode, err := certFiles(a)
	if err != nil {
		return err
	}
	if dirMode != 0o700 {
		return fmt.Errorf("%s has mode %o, want 700", model.HAProxyCertDir, dirMode)
	}
	if len(files) != 1 {
		return fmt.Errorf("%s holds %v, want one file", model.HAProxyCertDir, files)
	}
	for name, mode := range files {
		if mode.Perm() != 0o600 || !mode.IsRegular() {
			return fmt.Errorf("%s/%s has mode %v, want a regular file of mode 0600", model.HAProxyCertDir, name, mode)
		}
		data, err := os.ReadFile(filepath.Join(a.Hosts["lb1"].Path(model.HAProxyCertDir), name))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(data), certPEM) || !strings.Contains(string(data), "PRIVATE KEY") {
			return fmt.Errorf("%s/%s is not the certificate followed by its key", model.HAProxyCertDir, name)
		}
	}
	return nil
}

// TestAccHAProxyCertificate_rotation terminates TLS on lb1 with a
// certificate whose key is write-only: HTTPS traffic trusted by the test
// CA reaches app1; import; the certificate rotated (new key, version
// bumped) under HTTPS load from several clients: a hitless reload (same
// master, 0 failed requests), the new certificate served, the old file
// removed; a hand edit of the file planned as drift and repaired; and the
// key never in the state.
func TestAccHAProxyCertificate_rotation(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	a := startAccLabAt(t, tlsLabName, tlsLabSubnet, "lb1", "app1")
	a.serveHTTP("app1")
	conf := a.Hosts["lb1"].Path("/etc/haproxy/haproxy.cfg")
	if _, err := os.Stat(conf); err == nil {
		// The lab seeds Debian's haproxy.cfg, which is not ours: set aside.
		if err := os.Rename(conf, conf+".debian"); err != nil {
			t.Fatal(err)
		}
	}
	ca := newTestCA(t)
	certA, keyA := ca.leaf(t, 1001)
	certB, keyB := ca.leaf(t, 1002)
	url := fmt.Sprintf("https://%s:8443/", a.addr("lb1"))
	serves := func(want int64) error {
		return waitFor(15*time.Second, func() error {
			body, serial, err := ca.httpsGet(url)
			switch {
			case err != nil:
				return err
			case body != "app1":
				return fmt.Errorf("GET %s answered %q, want app1", url, body)
			case serial != want:
				return fmt.Errorf("GET %s presented certificate serial %d, want %d", url, serial, want)
			}
			return nil
		})
	}
	noKeyInState := func(s *terraform.State) error {
		for name, r := range s.RootModule().Resources {
			for k, v := range r.Primary.Attributes {
				if strings.Contains(v, "PRIVATE KEY") {
					return fmt.Errorf("%s.%s holds a private key in the state", name, k)
				}
			}
		}
		return nil
	}
	var masterPID string
	var traffic *tlsLoad
	var start time.Time

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: tlsConfig(a, certA, keyA, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_haproxy_certificate.www", tfjsonpath.New("id"),
						knownvalue.StringExact("www@root@"+a.addr("lb1")+":22")),
					statecheck.ExpectKnownValue("lvs_haproxy_certificate.www", tfjsonpath.New("file_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("lvs_haproxy_certificate.www", tfjsonpath.New("private_key_pem_wo"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(noKeyInState, func(*terraform.State) error {
					if err := serves(1001); err != nil {
						return err
					}
					return checkCertFiles(a, certA)
				}),
			},
			{
				ResourceName:      "lvs_haproxy_certificate.www",
				ImportState:       true,
				ImportStateId:     "www@" + a.addr("lb1"),
				ImportStateVerify: true,
				// The key's version is the configuration's; the key itself
				// is never imported.
				ImportStateVerifyIgnore: []string{"private_key_pem_wo_version"},
			},
			// The rotation under load: a new certificate and key, the
			// version bumped; only the certificate changes in the plan.
			{
				PreConfig: func() {
					masterPID = a.haproxyPID()
					traffic = ca.startLoad(url, 4)
					start = time.Now()
				},
				Config: tlsConfig(a, certB, keyB, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy_certificate.www", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.web", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(noKeyInState, func(*terraform.State) error {
					t.Logf("rotation: %s", time.Since(start).Round(time.Millisecond))
					err := serves(1002)
					// A little more traffic after the switch.
					time.Sleep(500 * time.Millisecond)
					serials, fail, first := traffic.finish()
					total := fail
					for _, n := range serials {
						total += n
					}
					t.Logf("HTTPS requests during the rotation: %d, by certificate serial %v, %d failed", total, serials, fail)
					switch {
					case err != nil:
						return err
					case fail > 0:
						return fmt.Errorf("%d of %d requests failed during the rotation; first: %w", fail, total, first)
					case serials[1001] == 0 || serials[1002] == 0:
						return fmt.Errorf("requests saw certificates %v; want both the old and the new one", serials)
					case a.haproxyPID() != masterPID:
						return fmt.Errorf("haproxy master pid %s -> %s: restarted, not reloaded", masterPID, a.haproxyPID())
					}
					return checkCertFiles(a, certB)
				}),
			},
			// A hand edit of the certificate file is drift.
			{
				PreConfig: func() {
					files, _, err := certFiles(a)
					if err != nil {
						t.Fatal(err)
					}
					for name := range files {
						p := filepath.Join(a.Hosts["lb1"].Path(model.HAProxyCertDir), name)
						if err := os.WriteFile(p, []byte("edited by hand\n"), 0o600); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config:             tlsConfig(a, certB, keyB, 2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: tlsConfig(a, certB, keyB, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy_certificate.www", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if err := checkCertFiles(a, certB); err != nil {
						return err
					}
					return serves(1002)
				},
			},
		},
	})
}
