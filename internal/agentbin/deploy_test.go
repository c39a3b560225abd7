package agentbin

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

const host1 = "root@10.0.0.1:22"

func checkArgs(path string) []string { return []string{"sh", "-c", checkScript, "sh", path} }

func TestEnsureInstallsOnceAndReinstallsWhatChanged(t *testing.T) {
	ctx := context.Background()
	bins, sum := fakeBinaries(t, "agent v1")
	d, err := New("1.0.0", bins)
	if err != nil {
		t.Fatal(err)
	}
	path := RemotePath("1.0.0", sum)
	f := newFake(t,
		expect{step: StepDetectArch, args: []string{"uname", "-m"}, res: ok("x86_64\n")},
		expect{step: StepCheck, args: checkArgs(path), res: ok("absent\n")},
		expect{step: StepInstall + " " + path, res: ok("")},
	)
	got, uploaded, err := d.Ensure(ctx, f)
	if err != nil || got != path || !uploaded {
		t.Fatalf("first Ensure = %q, %v, %v; want %q, uploaded", got, uploaded, err, path)
	}
	install := f.cmds[2]
	if install.Args[4] != path || install.Args[5] != sum {
		t.Errorf("install args %q do not carry the path and sha256", install.Args[3:])
	}
	if !bytes.Equal(f.stdin[2], bins[fileName("amd64")].Data) {
		t.Error("install did not send the compressed binary on stdin")
	}

	// The architecture is known now: one check, nothing uploaded.
	f.expectMore(expect{step: StepCheck, args: checkArgs(path), res: ok(sum + "  -\n")})
	if got, uploaded, err = d.Ensure(ctx, f); err != nil || got != path || uploaded {
		t.Fatalf("second Ensure = %q, %v, %v; want %q, not uploaded", got, uploaded, err, path)
	}

	// A changed copy is replaced.
	f.expectMore(
		expect{step: StepCheck, args: checkArgs(path), res: ok(strings.Repeat("0", 64) + "  -\n")},
		expect{step: StepInstall + " " + path, res: ok("")},
	)
	if _, uploaded, err = d.Ensure(ctx, f); err != nil || !uploaded {
		t.Fatalf("Ensure over a changed copy = %v, %v; want uploaded", uploaded, err)
	}
}

func TestEnsureFailures(t *testing.T) {
	ctx := context.Background()
	bins, sum := fakeBinaries(t, "agent v1")
	installStep := StepInstall + " " + RemotePath("1.0.0", sum)
	lost := &transport.Error{Host: host1, Step: StepInstall, Op: "run", Err: transport.ErrConnectionLost}
	for _, tc := range []struct {
		name   string
		want   []expect
		errHas []string
		is     error
	}{{
		name:   "unsupported machine",
		want:   []expect{{step: StepDetectArch, res: ok("riscv64\n")}},
		errHas: []string{host1, StepDetectArch, `"riscv64"`},
		is:     ErrUnsupportedArch,
	}, {
		name:   "binary not built for the host",
		want:   []expect{{step: StepDetectArch, res: ok("aarch64\n")}},
		errHas: []string{host1, "built without the agent for linux/arm64", "make agent"},
		is:     ErrNotBuilt,
	}, {
		name: "garbled sha256sum",
		want: []expect{
			{step: StepDetectArch, res: ok("x86_64\n")},
			{step: StepCheck, res: ok("sha256sum: not found\n")},
		},
		errHas: []string{host1, StepCheck, "sha256sum: not found"},
	}, {
		name: "install fails",
		want: []expect{
			{step: StepDetectArch, res: ok("x86_64\n")},
			{step: StepCheck, res: ok("absent\n")},
			{step: installStep, err: lost},
		},
		errHas: []string{host1, "ssh connection lost"},
		is:     transport.ErrConnectionLost,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New("1.0.0", bins)
			if err != nil {
				t.Fatal(err)
			}
			f := newFake(t, tc.want...)
			_, _, err = d.Ensure(ctx, f)
			if err == nil {
				t.Fatal("Ensure succeeded")
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}
