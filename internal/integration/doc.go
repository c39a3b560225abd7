// Package integration holds the end-to-end tests of the provider's hands:
// internal/transport (a real SSH connection per host), internal/agentbin
// (the agent uploaded once per host and version, then called with a
// wire.Request) and the real lvs-agent on real hosts driving the real
// keepalived, haproxy and kernel, exactly as the provider does. The
// netns_*_test.go tests run on network-namespace lab hosts
// (internal/lab/netns, each test its own lab, in parallel); the vm_*_test.go
// tests on the VM lab (internal/lab/vm) for everything that needs IPVS.
//
// The tests are Linux-only (_linux_test.go files): elsewhere this package
// is this file alone. They need root and the labs' tools (sshd, keepalived,
// haproxy, python3 for the namespace tests' HTTP backends, qemu and the VM
// cache for the VM tests); without them they skip loudly, and fail when
// $CI is set. `go test -run TestNetns` selects the namespace tests.
//
// The namespace tests run the agent embedded by `make agent` when
// internal/agentbin/bin holds it, else one built here from the source (go
// build), so they also run in a fresh clone. Set LVS_AGENT_FROM_SOURCE=1 to
// build from the source even when an embedded agent exists (it may be
// older than the source).
package integration
