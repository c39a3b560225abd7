//go:build linux

package vm

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestConfigChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"minimal", Config{Name: "dir1"}, ""},
		{"bridge", Config{Name: "dir1", Bridge: "lvslab0", BridgeAddr: netip.MustParsePrefix("10.77.0.11/24")}, ""},
		{"no name", Config{}, `name ""`},
		{"upper case", Config{Name: "Dir1"}, `name "Dir1"`},
		{"bridge without address", Config{Name: "d", Bridge: "lvslab0"}, "set both or neither"},
		{"address without bridge", Config{Name: "d", BridgeAddr: netip.MustParsePrefix("10.77.0.11/24")}, "set both or neither"},
		{"ipv6 bridge address", Config{Name: "d", Bridge: "b", BridgeAddr: netip.MustParsePrefix("fd00::2/64")}, "want an IPv4 prefix"},
		{"machine", Config{Name: "d", Machine: "q35"}, `machine "q35"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.withDefaults()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("withDefaults() = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("withDefaults() = %v, want an error with %q", err, tc.want)
			case tc.want == "" && (got.MemoryMiB != DefaultMemoryMiB || got.CPUs != 1 || got.Machine != MachineMicroVM || got.DiskMiB != DefaultDiskMiB):
				t.Errorf("withDefaults() = %+v: defaults not applied", got)
			}
		})
	}
}

func TestQemuArgs(t *testing.T) {
	v := &VM{
		Name:    "dir1",
		Console: "/s/console.log",
		cfg: Config{Name: "dir1", Machine: MachinePC, MemoryMiB: 192, CPUs: 1, Dir: "/s",
			BridgeAddr: netip.MustParsePrefix("10.77.0.11/24"), KernelArgs: []string{"lvs.extra=1"}},
		cache: Cache{KernelBzImage: "/c/vmlinuz", KernelELF: "/c/vmlinux", Initrd: "/c/initramfs.cpio"},
		tap:   "lvsvm01020304",
	}
	args := v.qemuArgs(2222)
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"-M pc", "-m 192", "-kernel /c/vmlinuz", "-initrd /c/initramfs.cpio",
		"hostfwd=tcp:127.0.0.1:2222-:22", "virtio-blk-pci,drive=d0", "file=/s/disk.img,",
		"tap,id=n1,ifname=lvsvm01020304,", "virtio-net-pci,netdev=n1,mac=52:54:0a:4d:00:0b",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("qemu args lack %q:\n%s", want, joined)
		}
	}
	kernelCmdline := args[slices.Index(args, "-append")+1]
	for _, want := range []string{"lvs.name=dir1", "lvs.ip2=10.77.0.11/24", "lvs.extra=1"} {
		if !slices.Contains(strings.Fields(kernelCmdline), want) {
			t.Errorf("kernel command line %q lacks %q", kernelCmdline, want)
		}
	}

	v.cfg.Machine = MachineMicroVM
	joined = strings.Join(v.qemuArgs(2222), " ")
	for _, want := range []string{"-M microvm", "-kernel /c/vmlinux", "virtio-net-device,netdev=n0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("microvm qemu args lack %q:\n%s", want, joined)
		}
	}
}

func TestLoadCache(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCache(dir); err == nil || !strings.Contains(err.Error(), "setup.sh") {
		t.Errorf("LoadCache(empty dir) = %v, want an error pointing at setup.sh", err)
	}
	for _, f := range []string{"vmlinuz", "vmlinux", "initramfs.cpio"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := "KERNEL_VERSION=6.1.0-56-cloud-amd64\nBUILD_KEY=x\n" +
		"KERNEL_BZIMAGE=" + filepath.Join(dir, "vmlinuz") + "\n" +
		"KERNEL_ELF=" + filepath.Join(dir, "vmlinux") + "\n" +
		"INITRD=" + filepath.Join(dir, "gone.cpio") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "lab.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCache(dir); err == nil || !strings.Contains(err.Error(), "INITRD") {
		t.Errorf("LoadCache(missing initrd) = %v, want an error naming INITRD", err)
	}
	env = strings.Replace(env, "gone.cpio", "initramfs.cpio", 1)
	if err := os.WriteFile(filepath.Join(dir, "lab.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.KernelVersion != "6.1.0-56-cloud-amd64" || c.Initrd != filepath.Join(dir, "initramfs.cpio") {
		t.Errorf("LoadCache = %+v", c)
	}
}
