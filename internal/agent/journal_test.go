package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func testObject(id string, prio int) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindDirector, ID: id}, Director: &model.Director{Interface: "eth0",
		Instances: []model.VRRPInstance{{Name: "VI_1", VirtualRouterID: 51, Priority: prio}}}}
}

// The journal of an apply is the change from the stored set to the new
// one: applied to the stored set it gives the new set, whatever was
// already saved when the apply stopped.
func TestJournalDiffApply(t *testing.T) {
	a, b, c := testObject("a", 100), testObject("b", 100), testObject("c", 100)
	b2 := testObject("b", 101)
	old := map[wire.Key]wire.Object{a.Key: a, b.Key: b}
	objs := map[wire.Key]wire.Object{b.Key: b2, c.Key: c}
	j := diff(old, objs)
	if len(j.Put) != 2 || len(j.Delete) != 1 || j.Delete[0] != a.Key {
		t.Fatalf("diff = put %v, delete %v; want b and c put, a deleted", j.Put, j.Delete)
	}
	for name, start := range map[string]map[wire.Key]wire.Object{
		"nothing saved":    old,
		"partly saved":     {a.Key: a, b.Key: b2, c.Key: c},
		"everything saved": objs,
	} {
		got := j.apply(start)
		if len(got) != len(objs) || !sameObject(got[b.Key], b2) || !sameObject(got[c.Key], c) {
			t.Errorf("%s: journal applied gives %v, want %v", name, got, objs)
		}
	}
	if j := diff(objs, objs); len(j.Put)+len(j.Delete) != 0 {
		t.Errorf("diff of a set with itself = %+v, want empty", j)
	}
}

func TestJournalBeginPendingRevert(t *testing.T) {
	st := newStore(t.TempDir())
	if j, err := st.pending(); j != nil || err != nil {
		t.Fatalf("pending on a new host = %v, %v", j, err)
	}
	started := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	first := &journal{Format: journalFormat, Put: []wire.Object{testObject("a", 100)}}
	if err := st.begin(first, started); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.journal)
	if err != nil || fi.Mode().Perm() != secretFileMode {
		t.Fatalf("journal file %v, %v: want mode %o (it holds VRRP passwords)", fi, err, secretFileMode)
	}
	if err := st.begin(&journal{Format: journalFormat, Delete: []wire.Key{{Kind: wire.KindDirector, ID: "a"}}}, started.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A refused apply puts back the journal it found.
	if err := st.revert(first); err != nil {
		t.Fatal(err)
	}
	j, err := st.pending()
	if err != nil || j == nil || len(j.Put) != 1 || !j.Started.Equal(started) {
		t.Fatalf("pending after revert = %+v, %v; want the first journal", j, err)
	}
	if err := st.revert(nil); err != nil {
		t.Fatal(err)
	}
	if j, err := st.pending(); j != nil || err != nil {
		t.Fatalf("pending after a revert to none = %v, %v", j, err)
	}
	// A journal this agent cannot read is an error, never "no journal".
	if err := os.WriteFile(st.journal, []byte(`{"format":99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.pending(); err == nil {
		t.Error("a journal of an unknown format was taken as none")
	}
}

// A host whose store an older provider wrote (format 1) is read, and the
// next save rewrites each document in the current format, even unchanged.
func TestStoreUpgradesFormat1(t *testing.T) {
	root := t.TempDir()
	st := newStore(root)
	fixtures, _ := filepath.Glob("../wire/testdata/store-v1/*/*.json")
	if len(fixtures) == 0 {
		t.Fatal("no format 1 fixtures")
	}
	for _, f := range fixtures {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(st.dir, filepath.Base(filepath.Dir(f)), filepath.Base(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := st.load()
	if err != nil || len(objs) != len(fixtures) {
		t.Fatalf("load of a format 1 store: %d objects, %v", len(objs), err)
	}
	if err := st.save(objs, objs); err != nil {
		t.Fatal(err)
	}
	for k := range objs {
		data, err := os.ReadFile(st.path(k))
		if err != nil {
			t.Fatal(err)
		}
		if _, format, err := wire.UnmarshalStored(data); err != nil || format != wire.StoredFormat {
			t.Errorf("%s after save: format %d, %v; want it rewritten in format %d", k, format, err, wire.StoredFormat)
		}
	}
	again, err := newStore(root).load()
	if err != nil || len(again) != len(objs) {
		t.Fatalf("reload: %d objects, %v", len(again), err)
	}
	for k, o := range objs {
		if !sameObject(o, again[k]) {
			t.Errorf("%s changed in the upgrade", k)
		}
	}
}
