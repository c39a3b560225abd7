package wire

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"reflect"
)

// fill sets every field reachable from v (a pointer) to a value derived
// from its path, so that a document written from it carries every field,
// and a decoder that drops or misnames one leaves a zero behind. Slices get two elements and maps one entry, so that list
// order is exercised too. A value depends on its own path only: a field
// added to the model adds lines to the goldens and changes no other.
func fill(v any) {
	fillValue(reflect.ValueOf(v).Elem(), "")
}

// pathNumber is a number in 1..999 derived from a path.
func pathNumber(path string) int {
	h := fnv.New32a()
	h.Write([]byte(path))
	return int(h.Sum32()%999) + 1
}

var (
	addrType     = reflect.TypeFor[netip.Addr]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
	addrPortType = reflect.TypeFor[netip.AddrPort]()
)

func fillValue(v reflect.Value, path string) {
	n := pathNumber(path)
	switch v.Type() {
	case addrType:
		v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 1})))
		return
	case prefixType:
		v.Set(reflect.ValueOf(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 1}), 24)))
		return
	case addrPortType:
		v.Set(reflect.ValueOf(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 1}), uint16(n))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s-" + path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n%100 + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n%100 + 1))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), path)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillValue(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fillValue(k, path+".key")
		e := reflect.New(v.Type().Elem()).Elem()
		fillValue(e, path+".value")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fillValue(v.Field(i), path+"."+f.Name)
			}
		}
	default:
		panic(fmt.Sprintf("fill: %s has kind %s", path, v.Kind()))
	}
}

// filledObjects is one object of every kind with every field set; a
// virtual server carries its group.
func filledObjects() []Object {
	var out []Object
	for _, k := range []Kind{KindDirector, KindVirtualServer, KindRealServer, KindRealServerHost, KindHAProxySettings, KindHAProxyFrontend} {
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
		}
		out = append(out, o)
	}
	return out
}

// filledSinceFormat1 are objects of the kinds added after format 1 (no
// format 1 fixture can exist for them), every field set.
func filledSinceFormat1() []Object {
	o := Object{Key: Key{Kind: KindHAProxyCertificate, ID: "filled-" + string(KindHAProxyCertificate)}}
	fill(&o.HAProxyCertificate)
	return []Object{o}
}
