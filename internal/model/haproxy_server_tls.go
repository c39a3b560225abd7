package model

// HAProxyServerVerify are the ways haproxy checks a server's certificate
// (verify); unset is haproxy's default, required.
var HAProxyServerVerify = []string{"none", "required"}

// checkServerTLS checks the TLS settings of a server: they need TLS to
// the server (ssl or check_ssl); a verified certificate needs a CA file
// (haproxy -c refuses "ssl" without one: "verify is enabled by default but
// no CA file specified"); the CA file is read from where certificates are
// (HAProxyCertDirs); a name to verify needs verification.
func checkServerTLS(errs *Errors, sp loc, s *HAProxyServer) {
	checkEnum(errs, sp.At("verify"), s.Verify, HAProxyServerVerify)
	checkPathBelow(errs, sp.At("ca_file"), s.CAFile, "CA files", HAProxyCertDirs)
	if s.SNI != "" {
		checkWord(errs, sp.At("sni"), s.SNI)
	}
	if s.VerifyHost != "" && !IsRFC1123Hostname(s.VerifyHost) {
		errs.add(sp.At("verifyhost"), "%s is not an RFC 1123 host name", quote(s.VerifyHost))
	}
	if s.CheckSSL && !s.Check {
		errs.add(sp.At("check_ssl"), "runs the health check over TLS; set check = true")
	}
	if !s.SSL && !s.CheckSSL {
		for _, f := range []struct {
			attr string
			set  bool
		}{{"verify", s.Verify != ""}, {"ca_file", s.CAFile != ""}, {"sni", s.SNI != ""}, {"verifyhost", s.VerifyHost != ""}} {
			if f.set {
				errs.add(sp.At(f.attr), "applies to TLS connections to the server; set ssl = true (or check_ssl = true for the health check only)")
			}
		}
		return
	}
	if s.Verify != "none" && s.CAFile == "" {
		errs.add(sp.At("ca_file"), "must be set: with ssl or check_ssl haproxy verifies the server's certificate (verify = %q) against a CA file; "+
			"give ca_file, a path below %s, or set verify = \"none\" to skip the verification", orDefault(s.Verify, "required"), DirList(HAProxyCertDirs))
	}
	if s.Verify == "none" && s.VerifyHost != "" {
		errs.add(sp.At("verifyhost"), "names the host the server's certificate must be for, but verify = \"none\" checks no certificate; set verify = \"required\" and ca_file, or remove verifyhost")
	}
}
