//go:build !linux

// Command vmlab runs the VM lab's VMs in the background; it needs Linux.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "vmlab: the VM lab needs Linux (qemu, tap devices)")
	os.Exit(1)
}
