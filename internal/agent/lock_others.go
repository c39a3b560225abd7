//go:build !unix

package agent

import (
	"context"
	"errors"
	"time"
)

var errLocked = errors.New("another lvs-agent holds the host lock")

// lockHost is unsupported off Unix: the agent runs on Linux hosts only.
func lockHost(context.Context, string, time.Duration) (func(), error) {
	return nil, errors.New("the host lock needs flock (Unix)")
}
