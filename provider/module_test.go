package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	rc := providerCLIConfig(t)

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

var providerBinary struct {
	once sync.Once
	dir  string
	rc   string
	err  error
}

// TestMain removes the provider binary providerCLIConfig built.
func TestMain(m *testing.M) {
	code := m.Run()
	if providerBinary.dir != "" {
		_ = os.RemoveAll(providerBinary.dir)
	}
	os.Exit(code)
}

// providerCLIConfig builds the provider from this tree once per test
// process (the agent embedded, when `make agent` built it) and returns a
// Terraform CLI configuration whose dev_overrides point lvsops/lvs at it,
// for tests that run the terraform CLI themselves as a user does.
func providerCLIConfig(t *testing.T) string {
	t.Helper()
	providerBinary.once.Do(func() {
		// One binary for every test of the process (t.TempDir would go
		// with the first test): TestMain removes it.
		dir, err := os.MkdirTemp("", "lvs-provider-bin-") //nolint:usetesting // shared across tests, removed in TestMain
		if err != nil {
			providerBinary.err = err
			return
		}
		providerBinary.dir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "terraform-provider-lvs"), "..")
		if out, err := build.CombinedOutput(); err != nil {
			providerBinary.err = fmt.Errorf("go build of the provider: %w\n%s", err, out)
			return
		}
		rc := filepath.Join(dir, "terraform.rc")
		conf := "provider_installation {\n  dev_overrides {\n    \"lvsops/lvs\" = \"" + dir + "\"\n  }\n  direct {}\n}\n"
		providerBinary.rc, providerBinary.err = rc, os.WriteFile(rc, []byte(conf), 0o644)
	})
	if providerBinary.err != nil {
		t.Fatal(providerBinary.err)
	}
	return providerBinary.rc
}
