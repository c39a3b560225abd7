package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TLS certificates: each haproxy_certificate object is one PEM file
// (certificate chain, then key) of mode 0600 in model.HAProxyCertDir, a
// directory of mode 0700 that only the agent writes. A file's name carries
// a digest of its content (HAProxyCertificate.FilePath), so a rotation
// writes a new file beside the one haproxy runs with: haproxy.cfg changes
// with the name, haproxy -c checks the new certificate with the config,
// and the reload (hitless: the listening sockets pass to the new worker)
// is what switches to it. Files no stored certificate names any more are
// removed once an apply has succeeded.

// checkBindCertificates refuses a bind that names a certificate the host
// does not store; fronts are the frontend objects of cfg.Frontends.
func checkBindCertificates(cfg *model.HAProxyConfig, fronts []wire.Object) *wire.Error {
	for i, f := range cfg.Frontends {
		for k, b := range f.Binds {
			if b.Certificate != "" && cfg.Certificate(b.Certificate) == nil {
				return badRequest(fronts[i].Key.String(), fmt.Errorf("bind[%d].certificate: %q is not the name of a certificate stored on this host; create the lvs_haproxy_certificate first", k, b.Certificate))
			}
		}
	}
	for _, l := range cfg.Listens {
		for k, b := range l.Binds {
			if b.Certificate != "" && cfg.Certificate(b.Certificate) == nil {
				return badRequest("listen "+l.Name, fmt.Errorf("bind[%d].certificate: %q is not the name of a certificate stored on this host", k, b.Certificate))
			}
		}
	}
	return nil
}

// certFiles is what an apply does to the certificate directory: the files
// it created (removed again if the apply fails) and, once it succeeded,
// the ones to remove.
type certFiles struct {
	created []string
}

// writeCerts writes every certificate of hc whose file is missing or
// differs, before haproxy -c reads them. An existing file of the right
// name is rewritten only when its content is not the certificate's (a
// hand edit): haproxy holds what it loaded, so that repairs it for the
// next reload without reloading.
func (a *Agent) writeCerts(hc *hostConfig) (*certFiles, *wire.Error) {
	cf := &certFiles{}
	if len(hc.certs) == 0 {
		return cf, nil
	}
	dir := a.path(model.HAProxyCertDir)
	// Never write a key through a link someone else made.
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return cf, &wire.Error{Code: wire.ExitForeign, Step: "create certificate directory", Object: model.HAProxyCertDir,
			Message: fmt.Sprintf("%s is %s, not a directory; lvs-agent writes private keys only into a directory of its own: move it away", model.HAProxyCertDir, describeFile(fi))}
	}
	if err := os.MkdirAll(dir, secretDirMode); err != nil {
		return cf, certError("create certificate directory", model.HAProxyCertDir, err)
	}
	// MkdirAll keeps the mode of a directory that exists.
	if err := os.Chmod(dir, secretDirMode); err != nil {
		return cf, certError("create certificate directory", model.HAProxyCertDir, err)
	}
	for i := range hc.certs {
		c := &hc.certs[i]
		path := a.path(c.FilePath())
		data := c.FileContent()
		old, err := os.ReadFile(path)
		switch {
		case err == nil && bytes.Equal(old, data):
			if err := os.Chmod(path, secretFileMode); err != nil {
				return cf, certError("write certificate", c.Name, err)
			}
			continue
		case err != nil && !os.IsNotExist(err):
			return cf, certError("read certificate", c.Name, err)
		case err != nil:
			cf.created = append(cf.created, path)
		}
		if err := writeAtomic(path, data, secretFileMode); err != nil {
			return cf, certError("write certificate", c.Name, err)
		}
	}
	return cf, nil
}

func certError(step, object string, err error) *wire.Error {
	return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "haproxy_certificate " + object, Message: err.Error()}
}

// undo removes the files this apply created (the apply failed).
func (cf *certFiles) undo() {
	for _, p := range cf.created {
		os.Remove(p)
	}
	cf.created = nil
}

// pruneCerts removes the files of the certificate directory that no
// certificate of hc names: the ones a rotation or a removal left behind,
// after haproxy was reloaded onto the new ones. A failure is a warning:
// the apply has succeeded.
func (a *Agent) pruneCerts(hc *hostConfig) []string {
	dir := a.path(model.HAProxyCertDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("listing %s to remove certificates no longer used: %v", model.HAProxyCertDir, err)}
	}
	keep := map[string]bool{}
	for i := range hc.certs {
		keep[filepath.Base(hc.certs[i].FilePath())] = true
	}
	var warnings []string
	for _, e := range entries {
		if keep[e.Name()] || !strings.HasSuffix(e.Name(), ".pem") || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			warnings = append(warnings, fmt.Sprintf("removing unused certificate %s: %v", filepath.Join(model.HAProxyCertDir, e.Name()), err))
		}
	}
	if len(hc.certs) == 0 {
		os.Remove(dir) // only when empty
	}
	return warnings
}

// driftedCerts are the names of hc's certificates whose file is missing,
// not a regular file of mode 0600, or not what the agent wrote.
func (a *Agent) driftedCerts(hc *hostConfig) []string {
	var out []string
	for i := range hc.certs {
		c := &hc.certs[i]
		path := a.path(c.FilePath())
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != secretFileMode {
			out = append(out, c.Name)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(data, c.FileContent()) {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}
