package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// statScript prints "absent", or the sha256 of file $1 and its octal mode.
const statScript = `set -e
[ -e "$1" ] || { echo absent; exit 0; }
sha256sum < "$1"
stat -c %a "$1"`

// uploadScript installs stdin as $1 (dst) atomically: it writes a private
// temporary file $2 beside it, checks its sha256 against $4, sets mode $3,
// flushes it to disk and renames it over dst. $5 is dst's directory, created
// if missing. The temporary file is removed on any failure.
const uploadScript = `set -e
dst=$1 tmp=$2 mode=$3 want=$4 dir=$5
trap 'rm -f "$tmp"' EXIT
(umask 022 && mkdir -p "$dir")
umask 077
cat > "$tmp"
got=$(sha256sum < "$tmp")
got=${got%% *}
if [ "$got" != "$want" ]; then
  echo "sha256 of the uploaded copy is $got, expected $want" >&2
  exit 1
fi
chmod "$mode" "$tmp"
sync "$tmp" 2>/dev/null || sync
mv -f "$tmp" "$dst"
sync "$dir" 2>/dev/null || sync`

// remoteFile is what statScript found.
type remoteFile struct {
	exists bool
	sum    string
	mode   uint64 // as stat prints it: permission and setuid/setgid/sticky bits
}

// Sha256 returns the hex sha256 of the file at path on the host. A missing
// file is an error that matches fs.ErrNotExist.
func (h *Host) Sha256(ctx context.Context, p string) (string, error) {
	step := "sha256 " + p
	f, err := h.stat(ctx, step, p)
	if err != nil {
		return "", err
	}
	if !f.exists {
		return "", &Error{Host: h.id, Step: step, Op: "stat", Err: fs.ErrNotExist}
	}
	return f.sum, nil
}

// Upload makes the file at path (absolute) on the host hold content with
// permission bits mode, atomically: readers see the old file or the new one,
// never a part. When the file already has that content nothing is written
// (only its mode is corrected), and uploaded is false. Missing parent
// directories are created with mode 0755. Content travels on stdin, so it
// may be secret.
func (h *Host) Upload(ctx context.Context, p string, content []byte, mode fs.FileMode) (uploaded bool, err error) {
	step := "upload " + p
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])
	f, err := h.stat(ctx, step, p)
	if err != nil {
		return false, err
	}
	octal := fmt.Sprintf("%04o", mode.Perm())
	if f.exists && f.sum == want {
		if f.mode != uint64(mode.Perm()) {
			_, err = h.Run(ctx, Command{Step: step, Args: []string{"chmod", octal, p}})
		}
		return false, err
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // never fails (crypto/rand)
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".tmp-"+hex.EncodeToString(suffix))
	_, err = h.Run(ctx, Command{
		Step:  step,
		Args:  []string{"sh", "-c", uploadScript, "sh", p, tmp, octal, want, path.Dir(p)},
		Stdin: bytes.NewReader(content),
	})
	return err == nil, err
}

// stat reads a remote file's sha256 and mode.
func (h *Host) stat(ctx context.Context, step, p string) (remoteFile, error) {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return remoteFile{}, &Error{Host: h.id, Step: step, Op: "check path",
			Err: fmt.Errorf("%q is not a clean absolute file path", p)}
	}
	res, err := h.Run(ctx, Command{Step: step, Args: []string{"sh", "-c", statScript, "sh", p}})
	if err != nil {
		return remoteFile{}, err
	}
	f, err := parseStat(string(res.Stdout))
	if err != nil {
		return remoteFile{}, &Error{Host: h.id, Step: step, Op: "stat", Err: err}
	}
	return f, nil
}

func parseStat(out string) (remoteFile, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 1 && lines[0] == "absent" {
		return remoteFile{}, nil
	}
	if len(lines) != 2 {
		return remoteFile{}, fmt.Errorf("unexpected output %q", out)
	}
	sum, _, _ := strings.Cut(lines[0], " ")
	if len(sum) != sha256.Size*2 {
		return remoteFile{}, fmt.Errorf("unexpected sha256sum output %q", lines[0])
	}
	mode, err := strconv.ParseUint(strings.TrimSpace(lines[1]), 8, 32)
	if err != nil {
		return remoteFile{}, errors.New("unexpected stat output " + strconv.Quote(lines[1]))
	}
	return remoteFile{exists: true, sum: sum, mode: mode}, nil
}
