package render

import (
	"net/netip"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// benchKeepalived is the size the cost issue measured: 10k services with
// 10 real servers each (100k real servers), TCP-checked, one VRRP pair.
func benchKeepalived(services, reals int) *model.KeepalivedConfig {
	cfg := &model.KeepalivedConfig{Director: drDirector("lb1", "MASTER", 150)}
	base := netip.MustParseAddr("10.0.0.0")
	for i := 0; i < services; i++ {
		vs := model.VirtualServer{Address: base, Port: 80 + i%1000, Scheduler: "wlc", ForwardingMethod: "dr", DelayLoop: 6}
		base = base.Next()
		for j := 0; j < reals; j++ {
			a := netip.AddrFrom4([4]byte{172, byte(16 + i%16), byte(i % 256), byte(j + 1)})
			vs.RealServers = append(vs.RealServers, model.RealServer{Address: a, Weight: kaPtr(1),
				TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectTimeout: 3}}})
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// BenchmarkKeepalived10k renders keepalived.conf as the data source does,
// validation included.
func BenchmarkKeepalived10k(b *testing.B) {
	cfg := benchKeepalived(10000, 10)
	if _, err := Keepalived(cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Keepalived(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate10k is the model validation alone.
func BenchmarkValidate10k(b *testing.B) {
	cfg := benchKeepalived(10000, 10)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := cfg.Validate(nil); err != nil {
			b.Fatal(err)
		}
	}
}
