package model

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
)

// selfSigned is a certificate and its key, in PEM.
func selfSigned(t *testing.T) (certPEM, keyPEM string) {
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

func TestHAProxyCertificateValidate(t *testing.T) {
	cert, key := selfSigned(t)
	otherCert, otherKey := selfSigned(t)
	ok := HAProxyCertificate{Name: "www", CertificatePEM: cert, PrivateKeyPEM: key}
	if err := ok.Validate(nil); err != nil {
		t.Fatalf("a matching pair is refused: %v", err)
	}
	for name, tc := range map[string]struct {
		c    HAProxyCertificate
		path string
		msg  string
	}{
		"key of another certificate": {HAProxyCertificate{Name: "www", CertificatePEM: cert, PrivateKeyPEM: otherKey}, "private_key_pem", "does not go with certificate_pem"},
		"no name":                    {HAProxyCertificate{CertificatePEM: cert, PrivateKeyPEM: key}, "name", "must be set"},
		"name with a slash":          {HAProxyCertificate{Name: "../x", CertificatePEM: cert, PrivateKeyPEM: key}, "name", "not a valid name"},
		"key given as certificate":   {HAProxyCertificate{Name: "www", CertificatePEM: key, PrivateKeyPEM: key}, "certificate_pem", `type "PRIVATE KEY"`},
		"certificate given as key":   {HAProxyCertificate{Name: "www", CertificatePEM: cert, PrivateKeyPEM: otherCert}, "private_key_pem", `type "CERTIFICATE"`},
		"not PEM":                    {HAProxyCertificate{Name: "www", CertificatePEM: "hello", PrivateKeyPEM: key}, "certificate_pem", "is not PEM"},
		"text after the PEM":         {HAProxyCertificate{Name: "www", CertificatePEM: cert + "\nglobal\n", PrivateKeyPEM: key}, "certificate_pem", "is not PEM"},
		"no key":                     {HAProxyCertificate{Name: "www", CertificatePEM: cert}, "private_key_pem", "must be set"},
	} {
		errs := AsErrors(tc.c.Validate(nil))
		if len(errs) == 0 {
			t.Errorf("%s: accepted", name)
			continue
		}
		e := errs[0]
		if len(e.Path) != 1 || e.Path[0] != tc.path || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%s: error at %v %q, want at %s containing %q", name, e.Path, e.Msg, tc.path, tc.msg)
		}
		for _, e := range errs {
			if strings.Contains(e.Msg, "MIG") || strings.Contains(e.Msg, "-----BEGIN CERT") || strings.Contains(e.Msg, "-----BEGIN PRIV") {
				t.Errorf("%s: the message quotes PEM: %q", name, e.Msg)
			}
		}
	}
}

func TestHAProxyCertificateFile(t *testing.T) {
	cert, key := selfSigned(t)
	c := HAProxyCertificate{Name: "www", CertificatePEM: strings.TrimSuffix(cert, "\n"), PrivateKeyPEM: key}
	if got := string(c.FileContent()); got != cert+key {
		t.Errorf("file content %q, want the certificate then the key, each ending in a line break", got)
	}
	p := c.FilePath()
	if !strings.HasPrefix(p, HAProxyCertDir+"/www.") || !strings.HasSuffix(p, ".pem") || len(p) != len(HAProxyCertDir+"/www.")+16+4 {
		t.Errorf("file path %q, want %s/www.<16 hex digits>.pem", p, HAProxyCertDir)
	}
	_, key2 := selfSigned(t)
	rotated := c
	rotated.PrivateKeyPEM = key2
	if rotated.FilePath() == p {
		t.Errorf("a new key keeps the file name %s: the reload would not see the rotation", p)
	}
}

func TestHAProxyBindCertificateChecked(t *testing.T) {
	cert, key := selfSigned(t)
	cfg := HAProxyConfig{
		Frontends: []HAProxyFrontend{{Name: "web", DefaultBackend: "b",
			Binds: []HAProxyBind{{Port: 443, Certificate: "bad name"}}}},
		Backends:     []HAProxyBackend{{Name: "b"}},
		Certificates: []HAProxyCertificate{{Name: "www", CertificatePEM: cert, PrivateKeyPEM: key}, {Name: "www", CertificatePEM: cert, PrivateKeyPEM: key}},
	}
	msgs := cfg.Validate(nil).Error()
	for _, want := range []string{"frontend[0].bind[0].certificate", "certificate[1].name"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("errors %q do not name %s", msgs, want)
		}
	}
}
