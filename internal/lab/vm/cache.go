//go:build linux

package vm

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultCacheDir is where setup.sh builds the kernel and initramfs when
// LVS_VM_CACHE is not set.
const DefaultCacheDir = "/var/tmp/lvs-vm-cache"

// CacheEnv names the environment variable that overrides DefaultCacheDir,
// for setup.sh and for Boot alike.
const CacheEnv = "LVS_VM_CACHE"

// Cache is what setup.sh built: the kernel in both forms and the initramfs.
type Cache struct {
	Dir           string
	KernelVersion string // e.g. 6.1.0-56-cloud-amd64
	KernelBzImage string // for MachinePC
	KernelELF     string // uncompressed vmlinux, for MachineMicroVM (PVH entry)
	Initrd        string
}

// CacheDir returns $LVS_VM_CACHE, or DefaultCacheDir.
func CacheDir() string {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir
	}
	return DefaultCacheDir
}

// LoadCache reads dir/lab.env, written by setup.sh as its last step, and
// checks that the files it names exist.
func LoadCache(dir string) (Cache, error) {
	path := filepath.Join(dir, "lab.env")
	f, err := os.Open(path)
	if err != nil {
		return Cache{}, fmt.Errorf("load VM lab cache: %w (run internal/lab/vm/setup.sh)", err)
	}
	defer f.Close()

	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if key, value, ok := strings.Cut(sc.Text(), "="); ok {
			values[key] = value
		}
	}
	if err := sc.Err(); err != nil {
		return Cache{}, fmt.Errorf("load VM lab cache: read %s: %w", path, err)
	}

	c := Cache{
		Dir:           dir,
		KernelVersion: values["KERNEL_VERSION"],
		KernelBzImage: values["KERNEL_BZIMAGE"],
		KernelELF:     values["KERNEL_ELF"],
		Initrd:        values["INITRD"],
	}
	var errs []error
	for key, file := range map[string]string{"KERNEL_BZIMAGE": c.KernelBzImage, "KERNEL_ELF": c.KernelELF, "INITRD": c.Initrd} {
		if file == "" {
			errs = append(errs, fmt.Errorf("%s names no %s", path, key))
		} else if _, err := os.Stat(file); err != nil {
			errs = append(errs, fmt.Errorf("%s of %s: %w", key, path, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Cache{}, fmt.Errorf("load VM lab cache: %w (rerun internal/lab/vm/setup.sh)", err)
	}
	return c, nil
}
