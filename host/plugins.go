package host

import (
	"context"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/mphost/mphost/internal/pluginhost"
	pb "github.com/mphost/mphost/internal/proto"
)

// Each run has its plugins (pluginhost.Set): a plugin's process starts at
// the first require of its module anywhere in the run, serves the main
// script, children and pool workers alike, and ends with the run. A child
// asks the host for a plugin (Plugin), which starts it if needed, and
// calls it over a connection of its own.

// startPlugins makes the plugin set of a run, which endPlugins closes.
func (h *Host) startPlugins() *pluginhost.Set {
	set := pluginhost.New(pluginhost.Options{
		Dirs:      h.pluginDirs,
		SocketDir: h.children.socketDir,
		Stderr:    lockedWriter{h.out, h.out.stderr},
	})
	h.mu.Lock()
	h.plugins = set
	h.mu.Unlock()
	return set
}

// endPlugins ends the plugin processes of the run, if a run has some.
func (h *Host) endPlugins() {
	h.mu.Lock()
	set := h.plugins
	h.plugins = nil
	h.mu.Unlock()
	if set != nil {
		set.Close()
	}
}

// runPlugins is the plugin set of the run in progress, or nil.
func (h *Host) runPlugins() *pluginhost.Set {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.plugins
}

// errNoRun is the answer to a child that asks for a plugin between runs.
const errNoRun = "no run is in progress"

// Plugin starts the plugin a child asks for, if needed, and tells it how
// to reach it.
func (s *service) Plugin(_ context.Context, req *pb.PluginRequest) (*pb.PluginReply, error) {
	set := s.h.runPlugins()
	if set == nil {
		return &pb.PluginReply{Error: errNoRun}, nil
	}
	if err := set.Find(req.Name); err != nil {
		return &pb.PluginReply{Error: err.Error()}, nil
	}
	info, err := set.Info(req.Name)
	if err != nil {
		return &pb.PluginReply{Error: err.Error()}, nil
	}
	data, err := proto.Marshal(info)
	if err != nil {
		return nil, err
	}
	return &pb.PluginReply{Info: data}, nil
}

// PluginEnded tells a child how a plugin process it was calling ended.
func (s *service) PluginEnded(ctx context.Context, req *pb.PluginRequest) (*pb.PluginReply, error) {
	set := s.h.runPlugins()
	if set == nil {
		return &pb.PluginReply{Error: errNoRun}, nil
	}
	ending, err := set.PluginEnded(ctx, req.Name, req.Pid)
	if err != nil {
		return &pb.PluginReply{Error: err.Error()}, nil
	}
	return &pb.PluginReply{Ending: ending}, nil
}

// PluginInfo describes a plugin found along the search path, as mphost
// plugins lists it.
type PluginInfo struct {
	Name    string // the module's name, from mphost-plugin-NAME
	Version string // the module's own version; "" when it did not start
	Path    string // the executable
	// Problem says why this mphost cannot use the plugin (another protocol
	// version, a pin it does not match, a failed start); "" when it fits.
	Problem string
	// Stubs is the module's lua-language-server definitions, as its
	// author wrote them (plugins.Module.Stubs).
	Stubs string
}

// Plugins lists the plugins that a run with Options.PluginDirs dirs would
// find, in search order (dirs, $MPHOST_PLUGIN_PATH, then
// $XDG_CONFIG_HOME/mphost/plugins), each name once. It starts each plugin
// briefly to read its version and check its protocol, and ends them all
// before it returns.
func Plugins(dirs []string) []PluginInfo {
	path := pluginhost.SearchPath(dirs)
	names, paths := pluginhost.Names(path)
	set := pluginhost.New(pluginhost.Options{Dirs: dirs, Stderr: io.Discard})
	defer set.Close()
	list := make([]PluginInfo, len(names))
	for i, name := range names {
		list[i] = PluginInfo{Name: name, Path: paths[i]}
		info, err := set.Info(name)
		if err != nil {
			list[i].Problem = err.Error()
			continue
		}
		list[i].Version, list[i].Stubs = info.Version, info.Stubs
	}
	return list
}
