package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func certObj(t *testing.T) wire.Object {
	t.Helper()
	const name = "www"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &model.HAProxyCertificate{Name: name,
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		PrivateKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))}
	return wire.Object{Key: wire.HAProxyCertificateKey(name), HAProxyCertificate: c}
}

// tlsObjs are haproxyObjs with the frontend's bind terminating TLS with cert.
func tlsObjs(cert wire.Object) []wire.Object {
	objs := haproxyObjs(80)
	objs[1].HAProxyFrontend.Frontend.Binds[0].Certificate = cert.ID
	return append(objs, cert)
}

// A certificate is written as a 0600 file in a 0700 directory before
// haproxy -c reads the config naming it; a rotation writes a new file,
// changes haproxy.cfg (so haproxy reloads onto it) and removes the old
// file; a hand edit shows as drift and the next apply repairs it.
func TestApplyCertificateFiles(t *testing.T) {
	f, a := newFakeHost(t)
	first := certObj(t)
	resp := mustApply(t, a, tlsObjs(first))
	c := first.HAProxyCertificate
	assertMode(t, filepath.Join(f.root, model.HAProxyCertDir), 0o700|os.ModeDir)
	assertMode(t, filepath.Join(f.root, c.FilePath()), 0o600)
	if got := f.read(c.FilePath()); got != string(c.FileContent()) {
		t.Errorf("certificate file holds %q", got)
	}
	conf := f.read(HAProxyConf)
	if !strings.Contains(conf, "bind :8080 ssl crt "+c.FilePath()+"\n") || strings.Contains(conf, "PRIVATE KEY") {
		t.Errorf("haproxy.cfg:\n%s", conf)
	}
	if d := resp.Observed.HAProxy.CertificatesDrifted; len(d) != 0 {
		t.Errorf("drifted right after the apply: %v", d)
	}

	rotated := certObj(t)
	f.take()
	resp = mustApply(t, a, tlsObjs(rotated))
	if resp.Applied.Reloads["haproxy"] != 1 {
		t.Errorf("rotation reloads %v, want haproxy once", resp.Applied.Reloads)
	}
	calls, _ := f.take()
	if !slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "haproxy -c") }) {
		t.Errorf("the rotated config was not checked with haproxy -c: %q", calls)
	}
	if _, err := os.Stat(filepath.Join(f.root, c.FilePath())); !os.IsNotExist(err) {
		t.Errorf("the old certificate file is still there after the rotation: %v", err)
	}
	rc := rotated.HAProxyCertificate
	if !strings.Contains(f.read(HAProxyConf), "ssl crt "+rc.FilePath()) {
		t.Errorf("haproxy.cfg does not name the rotated file")
	}

	if err := os.WriteFile(filepath.Join(f.root, rc.FilePath()), []byte("edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	obs, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve, LockTimeoutSeconds: 1})
	if code != wire.ExitOK || !slices.Equal(obs.Observed.HAProxy.CertificatesDrifted, []string{"www"}) {
		t.Fatalf("observe after a hand edit: exit %d, drifted %v", code, obs.Observed.HAProxy.CertificatesDrifted)
	}
	resp = mustApply(t, a, tlsObjs(rotated))
	if got := f.read(rc.FilePath()); got != string(rc.FileContent()) || len(resp.Observed.HAProxy.CertificatesDrifted) != 0 {
		t.Errorf("the apply did not repair the file: %q, drifted %v", got, resp.Observed.HAProxy.CertificatesDrifted)
	}

	// Removing the frontend and the certificate removes the file.
	mustApply(t, a, nil, wire.HAProxyFrontendKey("web"), rotated.Key)
	if _, err := os.Stat(filepath.Join(f.root, rc.FilePath())); !os.IsNotExist(err) {
		t.Errorf("the certificate file outlived its object: %v", err)
	}
}

// A bind naming a certificate the host does not store is refused before
// anything is written.
func TestApplyRefusesUnknownCertificate(t *testing.T) {
	f, a := newFakeHost(t)
	objs := tlsObjs(certObj(t))
	objs = objs[:len(objs)-1] // no certificate object
	resp, code := apply(t, a, objs)
	if code != wire.ExitBadRequest || !strings.Contains(resp.Error.Message, `"www" is not the name of a certificate`) || resp.Error.Object != "haproxy_frontend web" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if _, err := os.Stat(filepath.Join(f.root, HAProxyConf)); !os.IsNotExist(err) {
		t.Errorf("haproxy.cfg written: %v", err)
	}
}

// A certificate directory that is a symlink is refused: no key is
// written through a link the agent did not make.
func TestApplyRefusesCertificateDirSymlink(t *testing.T) {
	f, a := newFakeHost(t)
	dir := filepath.Join(f.root, model.HAProxyCertDir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), dir); err != nil {
		t.Fatal(err)
	}
	resp, code := apply(t, a, tlsObjs(certObj(t)))
	if code != wire.ExitForeign || !strings.Contains(resp.Error.Message, "a symlink") {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
}
