package provider

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
)

// testAccProviders serves the provider in-process to the real terraform
// binary that terraform-plugin-testing runs (TF_ACC=1; terraform from PATH
// or TF_ACC_TERRAFORM_PATH).
var testAccProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"lvs": providerserver.NewProtocol6WithError(New("test")()),
}

// phrase matches text as Terraform prints it: diagnostics are wrapped to
// the terminal width, so any run of spaces may have become a line break.
func phrase(text string) *regexp.Regexp {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// containsAll checks that a string attribute contains every snippet, each
// a run of whole lines as the renderer lays them out.
func containsAll(snippets ...string) knownvalue.Check {
	return knownvalue.StringFunc(func(v string) error {
		for _, s := range snippets {
			if !strings.Contains(v, s) {
				return fmt.Errorf("missing\n%s\nin\n%s", s, v)
			}
		}
		return nil
	})
}
