package provider

import (
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
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
