package transport

import (
	"bytes"
	"io"
	"strconv"
	"sync"
)

// pidHeader goes ahead of every command line: the remote shell prints its
// PID, then becomes the command. sshd makes that shell a session and
// process-group leader, so the PID names the command's whole process group,
// which is what a cancelled command needs killed.
const pidHeader = "echo $$; exec "

// pidWriter takes the PID line off the front of a command's stdout and
// passes the rest on to dst. A first line that is not a PID (output from a
// noisy shell profile) is passed on too.
type pidWriter struct {
	dst io.Writer

	mu   sync.Mutex
	head []byte
	done bool
	pid  int
}

// maxPIDLine bounds the bytes held back while waiting for the first newline.
const maxPIDLine = 32

func (w *pidWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if !w.done {
		i := bytes.IndexByte(p, '\n')
		if i < 0 && len(w.head)+len(p) <= maxPIDLine {
			w.head = append(w.head, p...)
			return n, nil
		}
		w.done = true
		if i >= 0 {
			if pid, err := strconv.Atoi(string(append(w.head, p[:i]...))); err == nil && pid > 0 {
				w.pid, w.head, p = pid, nil, p[i+1:]
			}
		}
		if _, err := w.dst.Write(w.head); err != nil {
			return 0, err
		}
	}
	if _, err := w.dst.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// get returns the PID, or 0 while it is unknown.
func (w *pidWriter) get() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pid
}

// flush passes on a first line that never ended; call it once the command
// has finished.
func (w *pidWriter) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	_, err := w.dst.Write(w.head)
	return err
}
