package agentbin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

// errUnexpected is what fakeRunner returns for a command it did not expect.
var errUnexpected = errors.New("fake runner: unexpected command")

// expect is one command fakeRunner expects, and what it answers.
type expect struct {
	step string
	// args, when set, must equal the command's arguments.
	args []string
	res  *transport.Result
	err  error
}

// fakeRunner answers the commands it expects, in order, records what they
// carried on stdin, and fails the test on any other command and on
// expectations left over at the end.
type fakeRunner struct {
	t     *testing.T
	host  string
	want  []expect
	stdin [][]byte
	cmds  []transport.Command
}

func newFake(t *testing.T, want ...expect) *fakeRunner {
	f := &fakeRunner{t: t, host: host1, want: want}
	t.Cleanup(func() {
		for _, e := range f.want {
			t.Errorf("%s: expected command %q was not run", f.host, e.step)
		}
	})
	return f
}

// expectMore queues further expectations.
func (f *fakeRunner) expectMore(want ...expect) { f.want = append(f.want, want...) }

func (f *fakeRunner) String() string { return f.host }

func (f *fakeRunner) Run(_ context.Context, cmd transport.Command) (*transport.Result, error) {
	var in []byte
	if cmd.Stdin != nil {
		in, _ = io.ReadAll(cmd.Stdin)
	}
	f.cmds = append(f.cmds, cmd)
	f.stdin = append(f.stdin, in)
	if len(f.want) == 0 {
		f.t.Errorf("%s: unexpected command %q %q", f.host, cmd.Step, cmd.Args)
		return nil, errUnexpected
	}
	e := f.want[0]
	f.want = f.want[1:]
	if cmd.Step != e.step || e.args != nil && !slices.Equal(cmd.Args, e.args) {
		f.t.Errorf("%s: got command %q %q, expected %q %q", f.host, cmd.Step, cmd.Args, e.step, e.args)
		return nil, errUnexpected
	}
	return e.res, e.err
}

// ok is a successful command's result.
func ok(stdout string) *transport.Result { return &transport.Result{Stdout: []byte(stdout)} }

// exited is a command that exited non-zero, as transport reports it.
func exited(code int, stdout, stderr string) expect {
	return expect{
		res: &transport.Result{Stdout: []byte(stdout), Stderr: []byte(stderr), ExitCode: code},
		err: &transport.ProcessError{Host: host1, ExitCode: code, Stderr: stderr},
	}
}

// fakeBinaries returns a binary set holding content for amd64 only, with
// content's hex sha256.
func fakeBinaries(t *testing.T, content string) (fstest.MapFS, string) {
	t.Helper()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return fstest.MapFS{fileName("amd64"): {Data: gz.Bytes()}}, hex.EncodeToString(sum[:])
}
