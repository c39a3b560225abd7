package provider

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestModuleTerraformTest runs `terraform test` in each reusable module
// under examples/modules, against this provider built from the tree (the
// tests use a mock provider, which still takes the schema from the real
// binary): the modules' input validation and shape, without hosts. The
// module is copied to a scratch directory first, so nothing (.terraform,
// lock files) lands in examples/.
func TestModuleTerraformTest(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("terraform is not installed (internal/lab/deps.sh installs it): %v", err)
		}
		t.Skip("SKIPPED LOUDLY: no terraform on PATH; run internal/lab/deps.sh")
	}
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		tf = p
	}
	modules, err := filepath.Glob(filepath.Join("..", "examples", "modules", "*", "tests"))
	if err != nil || len(modules) == 0 {
		t.Fatalf("no module with tests under examples/modules (%v)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, "terraform-provider-lvs"), "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(bin, "terraform.rc")
	conf := `provider_installation {
  dev_overrides {
    "lvsops/lvs" = "` + bin + `"
  }
  direct {}
}
`
	if err := os.WriteFile(rc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tests := range modules {
		src := filepath.Dir(tests)
		t.Run(filepath.Base(src), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), filepath.Base(src))
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, tf, "test", "-no-color")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
			out, err := cmd.CombinedOutput()
			t.Logf("terraform test in %s:\n%s", src, out)
			if err != nil {
				t.Fatalf("terraform test failed: %v", err)
			}
			if !strings.Contains(string(out), " 0 failed") {
				t.Fatalf("terraform test reports failures")
			}
		})
	}
}
