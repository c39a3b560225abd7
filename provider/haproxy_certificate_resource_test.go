package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// pemPair is a self-signed certificate and its key, in PEM.
func pemPair(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "bad.test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
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

// badCertificate is an lvs_haproxy_certificate on a TEST-NET host nothing
// answers on, with the given key attributes.
func badCertificate(certPEM, keyAttrs string) string {
	return fmt.Sprintf(`
resource "lvs_haproxy_certificate" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  name            = "www"
  certificate_pem = <<-EOT
%s  EOT
%s
}`, certPEM, keyAttrs)
}

func heredoc(attr, v string) string { return attr + " = <<-EOT\n" + v + "  EOT\n" }

// A certificate and key that do not go together, or are not PEM, and a
// write-only key without its version, are refused at plan with the
// attribute; the key itself is never in the message.
func TestHAProxyCertificateBadInputAtPlan(t *testing.T) {
	cert, key := pemPair(t)
	_, otherKey := pemPair(t)
	for _, c := range []badInput{
		{"key of another certificate", badCertificate(cert, heredoc("private_key_pem", otherKey)),
			"private_key_pem: does not go with certificate_pem"},
		{"write-only key of another certificate", badCertificate(cert, heredoc("private_key_pem_wo", otherKey)+"private_key_pem_wo_version = 1\n"),
			"private_key_pem_wo: does not go with certificate_pem"},
		{"certificate not PEM", badCertificate("not a certificate\n", heredoc("private_key_pem", key)),
			"certificate_pem: is not PEM"},
		{"write-only key without version", badCertificate(cert, heredoc("private_key_pem_wo", key)),
			"private_key_pem_wo_version: must be set with private_key_pem_wo"},
		{"both keys", badCertificate(cert, heredoc("private_key_pem", key)+heredoc("private_key_pem_wo", key)+"private_key_pem_wo_version = 1\n"),
			"2 attributes specified when one (and only one) of"},
		{"no key", badCertificate(cert, ""), "No attribute specified when one (and only one) of"},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      c.config,
					PlanOnly:    true,
					ExpectError: phrase(c.want),
				}},
			})
		})
	}
}

// data.lvs_haproxy_config renders a bind naming a certificate with the
// path whoever installs the file puts the PEM at.
func TestHAProxyConfigDataSourceCertificatePath(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `
data "lvs_haproxy_config" "tls" {
  frontend {
    name            = "https"
    mode            = "http"
    default_backend = "web"
    bind {
      port        = 443
      certificate = "www"
      options     = "alpn h2,http/1.1"
    }
    options = ["http-after-response set-header Strict-Transport-Security \"max-age=31536000\""]
  }
  backend {
    name = "web"
    mode = "http"
    server {
      name    = "app1"
      address = "10.0.0.11"
      port    = 8080
    }
  }
}`,
			Check: resource.TestCheckResourceAttrWith("data.lvs_haproxy_config.tls", "content", func(v string) error {
				for _, want := range []string{
					"    bind :443 ssl crt /etc/haproxy/lvs-certs/www.pem alpn h2,http/1.1\n",
					"    http-after-response set-header Strict-Transport-Security \"max-age=31536000\"\n",
				} {
					if !strings.Contains(v, want) {
						return fmt.Errorf("content lacks %q:\n%s", want, v)
					}
				}
				return nil
			}),
		}},
	})
}
