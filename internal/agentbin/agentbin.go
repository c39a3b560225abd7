// Package agentbin carries the lvs-agent binaries embedded in the provider,
// installs the right one on a host over SSH, and runs it with one wire
// request.
//
// `make agent` builds the agent for linux/amd64 and linux/arm64, gzip
// compressed, into bin/; the provider embeds whatever is there. The bin
// directory always holds a tracked .keep, so a fresh clone compiles without
// the binaries and fails only when a host needs one.
//
// On a host the agent lives at RemotePath: named by version and content, so
// an upgrade installs a new file beside the old one and never overwrites a
// binary that another run may be executing.
package agentbin

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// RemoteDir is the directory on a host that holds installed agents.
const RemoteDir = "/var/lib/lvs-agent/bin"

// Arches are the architectures the agent is built for, as GOARCH names.
var Arches = []string{"amd64", "arm64"}

// sumPrefixLen is how many hex digits of the sha256 name an installed agent.
const sumPrefixLen = 12

// ErrNotBuilt reports that the provider carries no agent for a host's
// architecture.
var ErrNotBuilt = errors.New("this provider was built without the agent")

// ErrUnsupportedArch reports a host whose machine the agent is not built for.
var ErrUnsupportedArch = errors.New("unsupported machine")

//go:embed all:bin
var embedded embed.FS

// Embedded returns the binaries built into the provider: files named
// lvs-agent-linux-<arch>.gz at the root.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "bin")
	if err != nil {
		panic(err) // "bin" is a valid path, and fs.Sub fails only on invalid ones
	}
	return sub
}

// Arch maps a host's `uname -m` (or a GOARCH name) to the GOARCH the agent
// is built for.
func Arch(machine string) (string, error) {
	switch m := strings.TrimSpace(machine); m {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	default:
		return "", fmt.Errorf("%w %q (uname -m): the agent is built for x86_64 (amd64) and aarch64 (arm64) only",
			ErrUnsupportedArch, m)
	}
}

// Binary returns the decompressed embedded agent for arch, a `uname -m`
// value or a GOARCH name.
func Binary(arch string) ([]byte, error) {
	b, err := load(Embedded(), arch)
	if err != nil {
		return nil, err
	}
	return b.decompress()
}

// RemotePath is where the agent of that version and sha256 (hex, of the
// decompressed binary) is installed on a host.
func RemotePath(version, sum string) string {
	return path.Join(RemoteDir, "lvs-agent-"+version+"-"+sum[:sumPrefixLen])
}

// fileName is the name `make agent` gives the compressed binary for arch.
func fileName(arch string) string { return "lvs-agent-linux-" + arch + ".gz" }

// binary is one compressed agent and the checksum of its decompressed bytes.
type binary struct {
	arch string
	gz   []byte
	sum  string // hex sha256 of the decompressed binary
}

// load reads the compressed agent for arch from bins and checksums it.
func load(bins fs.FS, machine string) (*binary, error) {
	arch, err := Arch(machine)
	if err != nil {
		return nil, err
	}
	gz, err := fs.ReadFile(bins, fileName(arch))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for linux/%s; run `make agent` before `make build`", ErrNotBuilt, arch)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the embedded agent for linux/%s: %w", arch, err)
	}
	b := &binary{arch: arch, gz: gz}
	h := sha256.New()
	if err := b.decompressTo(h); err != nil {
		return nil, err
	}
	b.sum = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

func (b *binary) decompress() ([]byte, error) {
	var buf bytes.Buffer
	if err := b.decompressTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (b *binary) decompressTo(w io.Writer) error {
	zr, err := gzip.NewReader(bytes.NewReader(b.gz))
	if err == nil {
		_, err = io.Copy(w, zr)
	}
	if err != nil {
		return fmt.Errorf("decompressing the embedded agent for linux/%s (rebuild it with `make agent`): %w", b.arch, err)
	}
	return nil
}
