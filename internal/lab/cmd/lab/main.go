// Command lab brings the network-namespace lab up, down, or reports on it:
//
//	go run ./internal/lab/cmd/lab up [-name lvs] [-subnet 10.77.0.0/24] [-hosts dir1,dir2,rs1,rs2,client]
//	go run ./internal/lab/cmd/lab status [-name lvs]
//	go run ./internal/lab/cmd/lab down [-name lvs]
//
// The scratch directory is $LVS_LAB_DIR, else /var/tmp/lvs-lab. Once up,
// `ssh -F <dir>/<name>/ssh_config dir1` logs in to a host. Needs root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
)

const usage = `usage: lab up|down|status [flags]

  up      build the lab (an existing lab of the same name is rebuilt)
  down    tear it down: processes, namespaces, links, mounts, scratch files
  status  show each host: namespace, sshd, processes

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

// run parses the subcommand and its flags and does it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	name := fs.String("name", netns.DefaultName, "lab name: prefix of its namespaces and links")
	subnet := fs.String("subnet", netns.DefaultSubnet.String(), "bridge subnet (up)")
	hosts := fs.String("hosts", "dir1,dir2,rs1,rs2,client", "comma-separated host names (up)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if len(args) == 0 {
		fs.Usage()
		return errors.New("no subcommand")
	}
	cmd := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg := netns.Config{Name: *name}
	switch cmd {
	case "up":
		prefix, err := netip.ParsePrefix(*subnet)
		if err != nil {
			return fmt.Errorf("-subnet: %w", err)
		}
		cfg.Subnet, cfg.Hosts = prefix, strings.Split(*hosts, ",")
		return up(ctx, cfg, stdout)
	case "down":
		began := time.Now()
		if err := netns.Teardown(ctx, cfg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lab %s: down in %v\n", *name, time.Since(began).Round(time.Millisecond))
		return nil
	case "status":
		return status(ctx, cfg, stdout)
	default:
		fs.Usage()
		return fmt.Errorf("unknown subcommand %q", cmd)
	}
}

func up(ctx context.Context, cfg netns.Config, stdout io.Writer) error {
	began := time.Now()
	l, err := netns.Up(ctx, cfg)
	if err != nil {
		return err
	}
	l.Release() // the lab outlives this process
	fmt.Fprintf(stdout, "lab %s: %d hosts up in %v\n", l.Name, len(l.Order), time.Since(began).Round(time.Millisecond))
	return status(ctx, cfg, stdout)
}

func status(ctx context.Context, cfg netns.Config, stdout io.Writer) error {
	l, err := netns.Attach(cfg)
	if err != nil {
		return err
	}
	hosts, err := l.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tADDRESS\tNAMESPACE\tSSHD\tPROCESSES")
	for _, s := range hosts {
		procs := make([]string, len(s.Processes))
		for i, p := range s.Processes {
			procs[i] = fmt.Sprintf("%s[%d]", p.Command, p.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Host.Name, s.Host.Addr, s.Host.Namespace, upDown(s.SSH), strings.Join(procs, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nbridge %s %s/%d; log in with: ssh -F %s %s\n", l.Bridge, l.Gateway, l.Subnet.Bits(), l.SSHConfigPath, l.Order[0])
	return nil
}

func upDown(ok bool) string {
	if ok {
		return "up"
	}
	return "DOWN"
}
