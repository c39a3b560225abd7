package wire

import (
	"fmt"
	"net/netip"
	"reflect"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// fillExcept sets every field reachable from v (a pointer) to a value
// derived from its path, so that a document written from it carries every
// field, and a decoder that drops or misnames one leaves a zero behind
// (see zeroFieldsExcept). Slices get two elements and maps one entry, so
// that list order is exercised too. The fields of skip (by struct type,
// Go field names) stay zero and take no value, as a format that predates
// them wrote the documents: the other fields get the values they had then.
func fillExcept(v any, skip fieldSet) {
	n := 0
	fillValue(reflect.ValueOf(v).Elem(), "", &n, skip)
}

// fieldSet names fields by their struct type and Go name.
type fieldSet map[reflect.Type][]string

func (s fieldSet) has(t reflect.Type, name string) bool {
	for _, f := range s[t] {
		if f == name {
			return true
		}
	}
	return false
}

// sinceFormat1 are the fields added after format 1 stopped being written,
// and kindsSinceFormat1 the kinds: documents of format 1 never hold them.
var (
	sinceFormat1 = fieldSet{
		reflect.TypeFor[model.HAProxyServer]():   {"CheckPort", "CheckAddr", "SendProxy", "SendProxyV2", "Slowstart", "Maxqueue"},
		reflect.TypeFor[model.HAProxyDefaults](): {"Balance", "BalanceArg"},
		reflect.TypeFor[model.HAProxyGlobal]():   {"UID", "GID"},
	}
	kindsSinceFormat1 = []Kind{KindHAProxyBackend}
)

var (
	addrType   = reflect.TypeFor[netip.Addr]()
	prefixType = reflect.TypeFor[netip.Prefix]()
)

func fillValue(v reflect.Value, path string, n *int, skip fieldSet) {
	*n++
	switch v.Type() {
	case addrType:
		v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{10, byte(*n >> 8), byte(*n), 1})))
		return
	case prefixType:
		v.Set(reflect.ValueOf(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(*n >> 8), byte(*n), 1}), 24)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-%s", *n, path))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n%100 + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n%100 + 1))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), path, n, skip)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillValue(s.Index(i), fmt.Sprintf("%s[%d]", path, i), n, skip)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fillValue(k, path+".key", n, skip)
		e := reflect.New(v.Type().Elem()).Elem()
		fillValue(e, path+".value", n, skip)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || skip.has(v.Type(), f.Name) {
				continue
			}
			fillValue(v.Field(i), path+"."+f.Name, n, skip)
		}
	default:
		panic(fmt.Sprintf("fill: %s has kind %s", path, v.Kind()))
	}
}

// zeroFieldsExcept lists the paths of exported fields of v, but those of
// skip, that hold their zero value: after decoding a filled document, each
// is a field the decoder lost.
func zeroFieldsExcept(v any, skip fieldSet) []string {
	var out []string
	zeroValue(reflect.ValueOf(v), "", &out, skip)
	return out
}

func zeroValue(v reflect.Value, path string, out *[]string, skip fieldSet) {
	if v.IsZero() {
		*out = append(*out, path)
		return
	}
	if v.Type() == addrType || v.Type() == prefixType {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		zeroValue(v.Elem(), path, out, skip)
	case reflect.Slice:
		for i := range v.Len() {
			zeroValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out, skip)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			zeroValue(v.MapIndex(k), path+"."+fmt.Sprint(k), out, skip)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && !skip.has(v.Type(), f.Name) {
				zeroValue(v.Field(i), path+"."+f.Name, out, skip)
			}
		}
	}
}

// filledObjects is one object of every kind with every field set; a
// virtual server carries its group.
func filledObjects() []Object { return filledObjectsExcept(nil) }

// filledObjectsExcept is filledObjects with the fields of skip left zero.
func filledObjectsExcept(skip fieldSet) []Object {
	fill := func(v any) { fillExcept(v, skip) }
	var out []Object
	for _, k := range []Kind{KindDirector, KindVirtualServer, KindRealServer, KindRealServerHost, KindHAProxySettings, KindHAProxyFrontend, KindHAProxyBackend} {
		o := Object{Key: Key{Kind: k, ID: "filled-" + string(k)}}
		switch k {
		case KindDirector:
			fill(&o.Director)
		case KindVirtualServer:
			fill(&o.VirtualServer)
			fill(&o.VirtualServerGroup)
			o.VirtualServerGroup.Name = o.VirtualServer.Group
		case KindRealServer:
			fill(&o.RealServer)
		case KindRealServerHost:
			fill(&o.RealServerHost)
		case KindHAProxySettings:
			fill(&o.HAProxySettings)
		case KindHAProxyFrontend:
			fill(&o.HAProxyFrontend)
		case KindHAProxyBackend:
			fill(&o.HAProxyBackend)
		}
		out = append(out, o)
	}
	return out
}
