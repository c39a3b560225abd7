package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// StatsFile counts what the agent did on this host since the file was
// first written: how a run's cost per host is read off the host itself
// (DESIGN.md principle 5), by an operator or by a test that asserts it.
const StatsFile = StateDir + "/stats.json"

// Stats are the counters kept in StatsFile. They are written under the
// host lock by every observe and apply (restore included), so they never
// lose a count to a concurrent run.
type Stats struct {
	// Observes counts observe and status calls.
	Observes int `json:"observes"`
	// Applies counts apply and restore calls, failed ones included.
	Applies int `json:"applies"`
	// Reloads counts daemon starts, reloads and restarts, by daemon
	// (keepalived, haproxy), as the applies report them.
	Reloads map[string]int `json:"reloads,omitempty"`
	// Connections counts the SSH connections calls came on: a call whose
	// SSH_CONNECTION differs from the one before it counts a new one.
	// Calls without SSH (the boot hook, sudo without the variable) count
	// none.
	Connections    int    `json:"connections"`
	LastConnection string `json:"last_connection,omitempty"`
}

// ReadStats reads the counters below root; a host without the file has
// all zero.
func ReadStats(root string) (Stats, error) {
	var s Stats
	data, err := os.ReadFile(filepath.Join(root, StatsFile))
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(data, &s)
	return s, err
}

// count adds one call to the host's counters. The caller holds the host
// lock. The counters are best effort: a failure to write them never fails
// the call they count, and they are written without fsync (losing the
// last counts to a power cut is acceptable; the call's own state is
// durable).
func (a *Agent) count(apply bool, reloads map[string]int) {
	s, err := ReadStats(a.Root)
	if err != nil {
		s = Stats{} // an unreadable file starts over
	}
	if apply {
		s.Applies++
	} else {
		s.Observes++
	}
	for d, n := range reloads {
		if n == 0 {
			continue
		}
		if s.Reloads == nil {
			s.Reloads = map[string]int{}
		}
		s.Reloads[d] += n
	}
	if a.Conn != "" && a.Conn != s.LastConnection {
		s.Connections++
		s.LastConnection = a.Conn
	}
	data, err := json.Marshal(s)
	if err != nil {
		return
	}
	path := filepath.Join(a.Root, StatsFile)
	if err := os.MkdirAll(filepath.Dir(path), secretDirMode); err != nil {
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return
	}
	_ = os.Rename(tmp, path)
}
