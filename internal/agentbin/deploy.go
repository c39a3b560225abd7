package agentbin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

// Runner runs one command on one host; *transport.Host is one. String names
// the host (user@host:port) in errors and keys the Deployer's per-host cache.
type Runner interface {
	Run(ctx context.Context, cmd transport.Command) (*transport.Result, error)
	String() string
}

// Steps of the commands Ensure runs, as transport errors and logs show them.
const (
	StepDetectArch = "agent: detect architecture"
	StepCheck      = "agent: check installed copy"
	StepInstall    = "agent: install"
)

// checkScript prints the sha256 of the executable file $1, or "absent".
const checkScript = `if [ -f "$1" ] && [ -x "$1" ]; then sha256sum < "$1"; else echo absent; fi`

// installScript decompresses the gzip stream on stdin into a private
// temporary file beside $1, checks its sha256 against $2, makes it
// executable, flushes it and renames it to $1. $3 makes the temporary name
// unique. The temporary file is removed on any failure.
const installScript = `set -e
dst=$1 want=$2 dir=${1%/*}
tmp=$dir/.${dst##*/}.tmp-$3
(umask 022 && mkdir -p "$dir")
trap 'rm -f "$tmp"' EXIT
umask 077
gzip -dc > "$tmp"
got=$(sha256sum < "$tmp")
got=${got%% *}
if [ "$got" != "$want" ]; then
  echo "sha256 of the decompressed agent is $got, expected $want" >&2
  exit 1
fi
chmod 0755 "$tmp"
sync "$tmp" 2>/dev/null || sync
mv -f "$tmp" "$dst"`

// validVersion is what a version may hold: it becomes part of a file name.
var validVersion = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// Deployer installs the agent of one version on hosts and runs it. It
// remembers each host's architecture and the agent it installed there, so a
// host is probed once per Deployer. It is safe for concurrent use.
type Deployer struct {
	version  string
	binaries map[string]func() (*binary, error) // by GOARCH, each loaded once

	mu        sync.Mutex
	arches    map[string]string // host -> GOARCH
	installed map[string]string // host -> path of the agent known to be installed
}

// New returns a Deployer of the agent version (the provider's own) whose
// binaries come from bins: Embedded() in the provider.
func New(version string, bins fs.FS) (*Deployer, error) {
	if !validVersion.MatchString(version) {
		return nil, fmt.Errorf("agent version %q: want letters, digits and . _ + - only", version)
	}
	d := &Deployer{
		version:   version,
		binaries:  make(map[string]func() (*binary, error), len(Arches)),
		arches:    map[string]string{},
		installed: map[string]string{},
	}
	for _, arch := range Arches {
		d.binaries[arch] = sync.OnceValues(func() (*binary, error) { return load(bins, arch) })
	}
	return d, nil
}

// Version is the agent version the Deployer installs.
func (d *Deployer) Version() string { return d.version }

// Ensure makes sure the host runs this Deployer's agent, and returns its
// path. It reads the host's architecture (once per host), then the sha256
// of the installed copy; only when that copy is missing or differs does it
// upload the compressed binary, which the host decompresses, verifies and
// renames into place (uploaded is then true).
func (d *Deployer) Ensure(ctx context.Context, r Runner) (path string, uploaded bool, err error) {
	arch, err := d.hostArch(ctx, r)
	if err != nil {
		return "", false, err
	}
	bin, err := d.binaries[arch]()
	if err != nil {
		return "", false, fmt.Errorf("%s: %s: %w", r, StepInstall, err)
	}
	path = RemotePath(d.version, bin.sum)
	sum, err := installedSum(ctx, r, path)
	if err != nil {
		return "", false, err
	}
	if sum != bin.sum {
		if err := install(ctx, r, path, bin); err != nil {
			return "", false, err
		}
		uploaded = true
	}
	d.mu.Lock()
	d.installed[r.String()] = path
	d.mu.Unlock()
	return path, uploaded, nil
}

// path returns the agent's path on the host, ensuring it once per host.
func (d *Deployer) path(ctx context.Context, r Runner) (string, error) {
	d.mu.Lock()
	p, ok := d.installed[r.String()]
	d.mu.Unlock()
	if ok {
		return p, nil
	}
	p, _, err := d.Ensure(ctx, r)
	return p, err
}

// forget drops what the Deployer knows of the host's installed agent, so
// the next Call checks it again.
func (d *Deployer) forget(r Runner) {
	d.mu.Lock()
	delete(d.installed, r.String())
	d.mu.Unlock()
}

// hostArch returns the host's GOARCH, asking it the first time.
func (d *Deployer) hostArch(ctx context.Context, r Runner) (string, error) {
	d.mu.Lock()
	arch, ok := d.arches[r.String()]
	d.mu.Unlock()
	if ok {
		return arch, nil
	}
	res, err := r.Run(ctx, transport.Command{Step: StepDetectArch, Args: []string{"uname", "-m"}})
	if err != nil {
		return "", err
	}
	if arch, err = Arch(string(res.Stdout)); err != nil {
		return "", fmt.Errorf("%s: %s: %w", r, StepDetectArch, err)
	}
	d.mu.Lock()
	d.arches[r.String()] = arch
	d.mu.Unlock()
	return arch, nil
}

// installedSum returns the sha256 of the executable at path on the host,
// or "" when there is none.
func installedSum(ctx context.Context, r Runner, path string) (string, error) {
	res, err := r.Run(ctx, transport.Command{Step: StepCheck, Args: []string{"sh", "-c", checkScript, "sh", path}})
	if err != nil {
		return "", err
	}
	out := strings.TrimSpace(string(res.Stdout))
	if out == "absent" {
		return "", nil
	}
	sum, _, _ := strings.Cut(out, " ")
	if _, err := hex.DecodeString(sum); err != nil || len(sum) != 64 {
		return "", fmt.Errorf("%s: %s: unexpected sha256sum output %q", r, StepCheck, out)
	}
	return sum, nil
}

// install uploads the compressed binary and installs it at path.
func install(ctx context.Context, r Runner, path string, bin *binary) error {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // never fails (crypto/rand)
	_, err := r.Run(ctx, transport.Command{
		Step:  StepInstall + " " + path,
		Args:  []string{"sh", "-c", installScript, "sh", path, bin.sum, hex.EncodeToString(suffix)},
		Stdin: bytes.NewReader(bin.gz),
	})
	return err
}
