package keepalivedconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/render"
)

// TestHandwrittenRenderingsPassKeepalived: what the hand-written configs
// read as renders to a file the real keepalived -t accepts.
func TestHandwrittenRenderingsPassKeepalived(t *testing.T) {
	tool, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but keepalived is not installed")
		}
		t.Skip("SKIPPED, NOT TESTED: keepalived is not installed (install it and rerun; CI fails here)")
	}
	for _, tc := range handwritten {
		f, err := os.Open(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := Parse(f, tc.file)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		text, err := render.Keepalived(cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(tool, "-t", "-f", path).CombinedOutput(); err != nil {
			t.Errorf("%s: keepalived -t refused the rendering (%v):\n%s\n--- rendering ---\n%s", tc.file, err, out, text)
		}
	}
}
