package render

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentRenders renders every keepalived and haproxy golden case
// from several goroutines at once, many times over, and compares each
// result with its golden file. The templates are parsed once per process
// and shared (see templates in render.go): a rendering that mutated them
// would differ from the golden file from its second run on (pongo2's
// TrimBlocks eats one more newline per Execute), and one that wrote to
// them concurrently is a data race that `go test -race` reports.
func TestConcurrentRenders(t *testing.T) {
	type job struct {
		golden string
		render func() (string, error)
	}
	var jobs []job
	for _, tc := range keepalivedCases {
		jobs = append(jobs, job{filepath.Join("testdata", "keepalived", tc.name+".conf"),
			func() (string, error) { return Keepalived(tc.cfg()) }})
	}
	for _, tc := range haproxyCases {
		jobs = append(jobs, job{filepath.Join("testdata", "haproxy", tc.name+".cfg"),
			func() (string, error) { return HAProxy(tc.cfg()) }})
	}
	want := make([]string, len(jobs))
	for i, j := range jobs {
		b, err := os.ReadFile(j.golden)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = string(b)
	}
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*len(jobs))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for k := range jobs {
					i := (k + w) % len(jobs) // each worker starts elsewhere
					got, err := jobs[i].render()
					switch {
					case err != nil:
						errs <- jobs[i].golden + ": " + err.Error()
					case got != want[i]:
						errs <- jobs[i].golden + ": rendering differs from the golden file (round " + string(rune('0'+r)) + "):\n" + firstDiff(want[i], got)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 5 {
			t.Error(e)
		}
	}
	if n > 5 {
		t.Errorf("... and %d more", n-5)
	}
}

// TestTidy: trailing blanks go, at most one empty line in a row, none at
// the start or the end, exactly one newline at the end.
func TestTidy(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "\n",
		"\n\n \t\n":                "\n",
		"a":                        "a\n",
		"a\n":                      "a\n",
		"\n\na  \nb\t\n":           "a\nb\n",
		"a\n\n\n  \nb\n\n":         "a\n\nb\n",
		"  x\n\n\t\n  y \n\nz\n\n": "  x\n\n  y\n\nz\n",
	} {
		if got := tidy([]byte(in)); got != want {
			t.Errorf("tidy(%q) = %q, want %q", in, got, want)
		}
	}
}
