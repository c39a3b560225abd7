package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Where the agent keeps its state, relative to the root.
const (
	StateDir   = "/var/lib/lvs-agent"
	objectsDir = StateDir + "/objects"
	lockFile   = StateDir + "/lock"
	// journalFile holds the change an apply is making, written before its
	// first step touches the host and removed after the store is saved.
	journalFile = StateDir + "/journal.json"
)

// Object documents hold VRRP passwords: only root reads them.
const (
	secretFileMode = 0o600
	secretDirMode  = 0o700
)

// store keeps one desired-state document per object under
// <root>/var/lib/lvs-agent/objects/<kind>/<escaped id>.json.
type store struct {
	dir     string
	journal string
	// current holds the keys load read in the current format.
	current map[wire.Key]bool
}

func newStore(root string) *store {
	return &store{dir: filepath.Join(root, objectsDir), journal: filepath.Join(root, journalFile)}
}

// journalFormat is the version of the journal document.
const journalFormat = 1

// journal is the change an apply set out to make: the objects it puts and
// the keys it deletes, relative to the stored set. An apply writes it
// (durably) before its first step changes the host and removes it after
// the store is saved, so a journal found at the start of a run means the
// last apply stopped part-way (killed, SSH cut, host rebooted): some of its
// steps may have run, its objects were not (all) stored. The next apply
// rolls it forward: it applies the stored set with the journal's change
// and then its own request, so a single apply converges, and a step that
// had already run is idempotent (every step rebuilds from all objects).
type journal struct {
	Format  int           `json:"format"`
	Started time.Time     `json:"started"`
	Put     []wire.Object `json:"put,omitempty"`
	Delete  []wire.Key    `json:"delete,omitempty"`
}

// pending returns the journal of an apply that did not finish, or nil.
func (s *store) pending() (*journal, error) {
	data, err := os.ReadFile(s.journal)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("journal %s: %w", s.journal, err)
	}
	if j.Format != journalFormat {
		return nil, fmt.Errorf("journal %s: format %d, this agent reads format %d", s.journal, j.Format, journalFormat)
	}
	return &j, nil
}

// apply returns objs with the journal's change made (objs is not modified).
func (j *journal) apply(objs map[wire.Key]wire.Object) map[wire.Key]wire.Object {
	out := make(map[wire.Key]wire.Object, len(objs)+len(j.Put))
	for k, o := range objs {
		out[k] = o
	}
	for _, k := range j.Delete {
		delete(out, k)
	}
	for _, o := range j.Put {
		out[o.Key] = o
	}
	return out
}

// diff is the journal that turns old into objs.
func diff(old, objs map[wire.Key]wire.Object) *journal {
	return diffKeys(old, objs, nil)
}

// diffKeys is diff comparing only the keys in touched (nil: every key):
// an apply knows which keys its request and a rolled-forward journal
// touched, and every other object is the stored one, so it compares (and
// marshals) only those, not every object on the host.
func diffKeys(old, objs map[wire.Key]wire.Object, touched map[wire.Key]bool) *journal {
	j := &journal{Format: journalFormat}
	for _, o := range sortedObjects(objs) {
		if touched != nil && !touched[o.Key] {
			continue
		}
		if prev, ok := old[o.Key]; !ok || !sameObject(prev, o) {
			j.Put = append(j.Put, o)
		}
	}
	for _, o := range sortedObjects(old) {
		if touched != nil && !touched[o.Key] {
			continue
		}
		if _, keep := objs[o.Key]; !keep {
			j.Delete = append(j.Delete, o.Key)
		}
	}
	return j
}

// begin records j durably before the apply touches the host.
func (s *store) begin(j *journal, now time.Time) error {
	j.Started = now.UTC()
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.journal), secretDirMode); err != nil {
		return err
	}
	return writeAtomic(s.journal, data, secretFileMode)
}

// revert puts back the journal found at the start of a failed apply (nil:
// none), so that only a change that was once asked for and not refused is
// rolled forward.
func (s *store) revert(pend *journal) error {
	if pend == nil {
		return s.finish()
	}
	return s.begin(pend, pend.Started)
}

// finish removes the journal once the store holds its change.
func (s *store) finish() error { return removeDurably(s.journal) }

// fileName escapes an object ID into one safe path component: every byte
// but letters, digits, '-', '_' and '.' is %XX-escaped, and a leading dot
// is escaped too, so "tcp/10.0.0.10:80" and ".." stay inside the kind's
// directory.
func fileName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0)
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String() + ".json"
}

func (s *store) path(k wire.Key) string {
	return filepath.Join(s.dir, string(k.Kind), fileName(k.ID))
}

// load reads every stored object, keyed, whatever format stored it.
func (s *store) load() (map[wire.Key]wire.Object, error) {
	out := map[wire.Key]wire.Object{}
	s.current = map[wire.Key]bool{}
	kinds, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, kd := range kinds {
		if !kd.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, kd.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name := f.Name()
			if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
				continue
			}
			o, format, err := s.read(filepath.Join(s.dir, kd.Name(), name))
			if err != nil {
				return nil, err
			}
			s.current[o.Key] = format == wire.StoredFormat
			if want, _ := url.PathUnescape(strings.TrimSuffix(name, ".json")); o.Kind != wire.Kind(kd.Name()) || want != o.ID {
				return nil, fmt.Errorf("stored object %s/%s holds %s", kd.Name(), name, o.Key)
			}
			out[o.Key] = o
		}
	}
	return out, nil
}

func (s *store) read(path string) (wire.Object, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return wire.Object{}, 0, err
	}
	o, format, err := wire.UnmarshalStored(data)
	if err != nil {
		return o, format, fmt.Errorf("stored object %s: %w", path, err)
	}
	return o, format, nil
}

// save makes the stored set equal to objs: writes what changed, removes
// what is gone. Each write is atomic.
func (s *store) save(old, objs map[wire.Key]wire.Object) error {
	for k, o := range objs {
		data, err := wire.MarshalStored(o)
		if err != nil {
			return fmt.Errorf("object %s: %w", k, err)
		}
		// An unchanged object is left as it is on disk, unless an older
		// format wrote it: an apply upgrades what it finds.
		if prev, ok := old[k]; ok {
			if pd, _ := wire.MarshalStored(prev); string(pd) == string(data) && s.current[k] {
				continue
			}
		}
		dir := filepath.Dir(s.path(k))
		if err := os.MkdirAll(dir, secretDirMode); err != nil {
			return err
		}
		if err := writeAtomic(s.path(k), data, secretFileMode); err != nil {
			return fmt.Errorf("object %s: %w", k, err)
		}
	}
	for k := range old {
		if _, keep := objs[k]; !keep {
			if err := removeDurably(s.path(k)); err != nil {
				return fmt.Errorf("object %s: %w", k, err)
			}
		}
	}
	return nil
}

// saveChange makes the stored set equal to objs, old plus the change j
// (diffKeys(old, objs, ...)): it writes j's objects and removes j's
// deletions, and rewrites an object an older format stored (an apply
// upgrades what it finds). Every other object is on disk as it is. Each
// write is atomic.
func (s *store) saveChange(objs map[wire.Key]wire.Object, j *journal) error {
	write := func(o wire.Object) error {
		data, err := wire.MarshalStored(o)
		if err != nil {
			return fmt.Errorf("object %s: %w", o.Key, err)
		}
		if err := os.MkdirAll(filepath.Dir(s.path(o.Key)), secretDirMode); err != nil {
			return err
		}
		if err := writeAtomic(s.path(o.Key), data, secretFileMode); err != nil {
			return fmt.Errorf("object %s: %w", o.Key, err)
		}
		return nil
	}
	put := map[wire.Key]bool{}
	for _, o := range j.Put {
		put[o.Key] = true
		if err := write(o); err != nil {
			return err
		}
	}
	for k, o := range objs {
		if !put[k] && !s.current[k] {
			if err := write(o); err != nil {
				return err
			}
		}
	}
	for _, k := range j.Delete {
		if err := removeDurably(s.path(k)); err != nil {
			return fmt.Errorf("object %s: %w", k, err)
		}
	}
	return nil
}

// sortedObjects lists objs in kind, then ID order.
func sortedObjects(objs map[wire.Key]wire.Object) []wire.Object {
	out := make([]wire.Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}
