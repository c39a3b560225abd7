package render

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// A bind naming a certificate reads the agent's file of it when the
// configuration carries the certificate, else the fixed path a
// rendered-only haproxy.cfg documents; the key never reaches the text.
func TestHAProxyBindCertificate(t *testing.T) {
	cfg := &model.HAProxyConfig{
		Frontends: []model.HAProxyFrontend{{Name: "web", DefaultBackend: "b", Mode: "http",
			Binds: []model.HAProxyBind{{Port: 443, Certificate: "www", Options: "alpn h2,http/1.1"}}}},
		Backends: []model.HAProxyBackend{{Name: "b", Mode: "http"}},
	}
	text, err := HAProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "    bind :443 ssl crt /etc/haproxy/lvs-certs/www.pem alpn h2,http/1.1\n"; !strings.Contains(text, want) {
		t.Errorf("rendered-only bind: want line %q in\n%s", want, text)
	}
	cert, key := testCertificate(t)
	cfg.Certificates = []model.HAProxyCertificate{{Name: "www", CertificatePEM: cert, PrivateKeyPEM: key}}
	text, err = HAProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "    bind :443 ssl crt " + cfg.Certificates[0].FilePath() + " alpn h2,http/1.1\n"; !strings.Contains(text, want) {
		t.Errorf("agent's bind: want line %q in\n%s", want, text)
	}
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "CERTIFICATE") {
		t.Errorf("PEM in haproxy.cfg:\n%s", text)
	}
}

func testCertificate(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "t"},
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
