//go:build unix

package agent

import "syscall"

// sigUSR2 reloads haproxy's master-worker.
const sigUSR2 = syscall.SIGUSR2
