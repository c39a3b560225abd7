package provider

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
)

// modelOnlyNames are attribute names the model's rules use for shapes no
// data source carries yet: the real-server host side (RealServerHost),
// which the lvs_real_server resource will hold; the fwmark_match blocks,
// which only lvs_virtual_server has (the agent programs them in nftables;
// keepalived.conf cannot carry them); and the certificate's
// (HAProxyCertificate), which only lvs_haproxy_certificate carries: a
// render-only configuration names certificates and never holds a key.
var modelOnlyNames = []string{"vips", "gateway", "fwmark_match", "destinations", "ports", "certificate_pem", "private_key_pem"}

// schemaNames collects every attribute and block name of a data source
// schema, at any depth.
func schemaNames(s dsschema.Schema) map[string]bool {
	names := map[string]bool{}
	var walk func(attrs map[string]dsschema.Attribute, blocks map[string]dsschema.Block)
	walk = func(attrs map[string]dsschema.Attribute, blocks map[string]dsschema.Block) {
		for n := range attrs {
			names[n] = true
		}
		for n, b := range blocks {
			names[n] = true
			switch b := b.(type) {
			case dsschema.ListNestedBlock:
				walk(b.NestedObject.Attributes, b.NestedObject.Blocks)
			case dsschema.SingleNestedBlock:
				walk(b.Attributes, b.Blocks)
			}
		}
	}
	walk(s.Attributes, s.Blocks)
	return names
}

// modelPathNames returns the string literals the model passes to Path.At,
// with the file and line of each: the attribute names its rules report at.
func modelPathNames(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../internal/model/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("finding the model's sources: %v (%d files)", err, len(files))
	}
	fset := token.NewFileSet()
	names := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "At" {
				return true
			}
			for _, arg := range call.Args {
				lit, ok := arg.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				name, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
				}
				names[name] = fset.Position(lit.Pos()).String()
			}
			return true
		})
	}
	return names
}

// Every attribute name the model reports errors at must exist in a schema,
// or the error would land nowhere the user can see.
func TestModelPathNamesExistInSchemas(t *testing.T) {
	known := map[string]bool{}
	for _, ds := range []datasource.DataSource{NewKeepalivedConfigDataSource(), NewHAProxyConfigDataSource()} {
		var resp datasource.SchemaResponse
		ds.Schema(context.Background(), datasource.SchemaRequest{}, &resp)
		for n := range schemaNames(resp.Schema) {
			known[n] = true
		}
	}
	names := modelPathNames(t)
	if len(names) < 50 {
		t.Fatalf("found only %d path names in the model; is the scan still right?", len(names))
	}
	for name, where := range names {
		if !known[name] && !slices.Contains(modelOnlyNames, name) {
			t.Errorf("%s: the model reports errors at %q, which no data source schema has", where, name)
		}
	}
	for _, name := range []string{"timeout_connect", "timeout_server_fin"} {
		if !known[name] {
			t.Errorf("the model's computed timeout name %q is missing from the schemas", name)
		}
	}
}

// Every attribute and block has a description, for the generated docs.
func TestSchemasAreDescribed(t *testing.T) {
	for _, ds := range []datasource.DataSource{NewKeepalivedConfigDataSource(), NewHAProxyConfigDataSource()} {
		var resp datasource.SchemaResponse
		ds.Schema(context.Background(), datasource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		if d := resp.Schema.ValidateImplementation(context.Background()); d.HasError() {
			t.Fatal(d)
		}
		if resp.Schema.MarkdownDescription == "" {
			t.Errorf("%T has no description", ds)
		}
		var walk func(prefix string, attrs map[string]dsschema.Attribute, blocks map[string]dsschema.Block)
		walk = func(prefix string, attrs map[string]dsschema.Attribute, blocks map[string]dsschema.Block) {
			for n, a := range attrs {
				if a.GetMarkdownDescription() == "" {
					t.Errorf("attribute %s%s has no description", prefix, n)
				}
			}
			for n, b := range blocks {
				if b.GetMarkdownDescription() == "" {
					t.Errorf("block %s%s has no description", prefix, n)
				}
				switch b := b.(type) {
				case dsschema.ListNestedBlock:
					walk(prefix+n+".", b.NestedObject.Attributes, b.NestedObject.Blocks)
				case dsschema.SingleNestedBlock:
					walk(prefix+n+".", b.Attributes, b.Blocks)
				}
			}
		}
		walk("", resp.Schema.Attributes, resp.Schema.Blocks)
	}
}
