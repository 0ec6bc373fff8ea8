package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"

	"github.com/mphost/mphost/plugins"
)

// child is one started worker process, ready to be given a process to run.
type child struct {
	client *plugin.Client
	worker *plugins.WorkerClient
	runner *childRunner
	pid    int
	output *os.File // the read end of the child's output pipe
}

// startTimeout bounds a child's start and handshake.
const startTimeout = 20 * time.Second

// killTimeout bounds go-plugin's Client.Kill, which can block on a stopped
// child; after it the child gets SIGKILL.
const killTimeout = 3 * time.Second

// startChild starts a worker and completes the go-plugin handshake.
func (h *Host) startChild() (*child, error) {
	runDir, err := h.ensureRunDir()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer outW.Close() // the child has its own copy once started
	c := &child{output: outR}
	c.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		Plugins:          plugins.Plugins,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     startTimeout,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: runDir},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			cmd.Path = h.worker[0]
			cmd.Args = h.worker
			cmd.ExtraFiles = []*os.File{outW}
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			r, err := newChildRunner(cmd)
			c.runner = r
			return r, err
		},
	})
	rpc, err := c.client.Client()
	if err != nil {
		c.kill()
		outR.Close()
		return nil, fmt.Errorf("starting a child process: %w", err)
	}
	raw, err := rpc.Dispense(plugins.PluginName)
	if err != nil {
		c.kill()
		outR.Close()
		return nil, fmt.Errorf("starting a child process: %w", err)
	}
	c.worker = raw.(*plugins.WorkerClient)
	c.pid = c.runner.cmd.Process.Pid
	return c, nil
}

// connect serves the Host service to the child on its own brokered
// connection and has the child dial it.
func (c *child) connect(ctx context.Context, svc *service) error {
	id := c.worker.Broker.NextId()
	go c.worker.Broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		registerService(s, svc)
		return s
	})
	_, err := c.worker.Init(ctx, initRequest(id))
	return err
}

// kill ends the go-plugin client, with SIGKILL if Client.Kill hangs.
func (c *child) kill() {
	done := make(chan struct{})
	go func() {
		c.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killTimeout):
		if c.runner != nil && c.runner.cmd.Process != nil {
			c.runner.cmd.Process.Kill()
		}
		<-done
	}
}
