//go:build !linux

package ipvs

import (
	"fmt"
	"runtime"
)

// Open fails off Linux: IPVS is a Linux kernel feature. The error wraps
// ErrNoIPVS.
func Open() (Client, error) {
	return nil, fmt.Errorf("ipvs: %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrNoIPVS)
}
