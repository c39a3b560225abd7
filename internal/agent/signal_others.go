//go:build !unix

package agent

import "syscall"

// sigUSR2 is Linux's SIGUSR2. The agent runs on Linux only; this keeps the
// module building everywhere (the provider itself never imports the agent).
const sigUSR2 = syscall.Signal(0xc)
