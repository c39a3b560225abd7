package model

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"path"
	"strings"
)

// HAProxyCertificate is a TLS certificate (with its chain) and its private
// key that binds name by Name (bind ... ssl crt). The agent writes it as
// one PEM file of mode 0600 into HAProxyCertDir, a directory it owns: no
// path is ever given by the user, so none can lead elsewhere.
type HAProxyCertificate struct {
	Name string `json:"name,omitzero"`
	// CertificatePEM is the leaf certificate first, then its chain.
	CertificatePEM string `json:"certificate_pem,omitzero"`
	// PrivateKeyPEM is the key of the leaf certificate. A secret: it is
	// never rendered into haproxy.cfg, logged or put in an error.
	PrivateKeyPEM string `json:"private_key_pem,omitzero"`
}

// HAProxyCertDir is the directory the agent writes certificates to, mode
// 0700: below /etc/haproxy, where haproxy's package keeps its files (and
// one of HAProxyCertDirs).
const HAProxyCertDir = "/etc/haproxy/lvs-certs"

// MaxPEMLen bounds a certificate chain or key (a chain of a few RSA-4096
// certificates is under 10 KB).
const MaxPEMLen = 64 << 10

// FileContent is the PEM file haproxy reads for c: the certificate chain,
// then the key, each ending in a line break.
func (c *HAProxyCertificate) FileContent() []byte {
	nl := func(s string) string {
		if s != "" && !strings.HasSuffix(s, "\n") {
			return s + "\n"
		}
		return s
	}
	return []byte(nl(c.CertificatePEM) + nl(c.PrivateKeyPEM))
}

// FilePath is where the agent writes c: the name and the first 16 hex
// digits of the file's SHA-256, so that a rotation writes a new file
// beside the one haproxy runs with and changes haproxy.cfg, whose reload
// (checked with haproxy -c first) is what switches to it.
func (c *HAProxyCertificate) FilePath() string {
	sum := sha256.Sum256(c.FileContent())
	return path.Join(HAProxyCertDir, c.Name+"."+hex.EncodeToString(sum[:8])+".pem")
}

// HAProxyCertPath is the file a bind naming certificate name reads when
// the configuration does not carry that certificate (a rendered-only
// haproxy.cfg: the file is put there by whoever installs the config).
func HAProxyCertPath(name string) string { return path.Join(HAProxyCertDir, name+".pem") }

// Validate checks the certificate: a name, a PEM certificate chain, and a
// PEM private key that belongs to its first certificate. The key is never
// quoted in a message.
func (c *HAProxyCertificate) Validate(at Path) error {
	var errs Errors
	p := rootLoc(at)
	checkName(&errs, p.At("name"), c.Name)
	certOK := checkPEM(&errs, p.At("certificate_pem"), c.CertificatePEM, "certificate", func(t string) bool { return t == "CERTIFICATE" })
	keyOK := checkPEM(&errs, p.At("private_key_pem"), c.PrivateKeyPEM, "private key", func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") })
	if certOK && keyOK {
		if _, err := tls.X509KeyPair([]byte(c.CertificatePEM), []byte(c.PrivateKeyPEM)); err != nil {
			// crypto/tls's messages name what is wrong, never key bytes.
			errs.add(p.At("private_key_pem"), "does not go with certificate_pem: %v", err)
		}
	}
	return errs.err()
}

// checkPEM accepts PEM blocks of an allowed type and nothing else but
// blank space between them; what names the value for messages.
func checkPEM(errs *Errors, p loc, v, what string, allowed func(string) bool) bool {
	if v == "" {
		errs.add(p, "must be set: a PEM %s", what)
		return false
	}
	if len(v) > MaxPEMLen {
		errs.add(p, "is %d bytes long; at most %d are allowed", len(v), MaxPEMLen)
		return false
	}
	rest := []byte(v)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if !allowed(b.Type) {
			errs.add(p, "holds a PEM block of type %q; give PEM %s blocks only", short(b.Type), what)
			return false
		}
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		errs.add(p, "is not PEM: give the %s as PEM text (-----BEGIN ...-----), and nothing else", what)
		return false
	}
	return true
}

// checkCertificates validates the certificates of a configuration and
// refuses two of one name.
func checkCertificates(errs *Errors, p loc, certs []HAProxyCertificate) {
	names := map[string]bool{}
	for i := range certs {
		c := &certs[i]
		cp := p.At("certificate", i)
		if err := c.Validate(nil); err != nil {
			for _, e := range AsErrors(err) {
				errs.add(cp.At(e.Path...), "%s", e.Msg)
			}
		}
		if names[c.Name] {
			errs.add(cp.At("name"), "%q is already the name of another certificate", c.Name)
		}
		names[c.Name] = true
	}
}

// Certificate is the certificate of the configuration named name, or nil.
func (c *HAProxyConfig) Certificate(name string) *HAProxyCertificate {
	for i := range c.Certificates {
		if c.Certificates[i].Name == name {
			return &c.Certificates[i]
		}
	}
	return nil
}
