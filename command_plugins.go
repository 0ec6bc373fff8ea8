package main

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/mphost/mphost/host"
)

// addPluginDir adds the --plugin-dir flag to fs.
func addPluginDir(fs *pflag.FlagSet) {
	fs.StringArray("plugin-dir", nil, "look for plugins (mphost-plugin-NAME) in `DIR` first, before $MPHOST_PLUGIN_PATH and ~/.config/mphost/plugins; may be repeated")
}

func pluginFlags() *pflag.FlagSet {
	fs := noFlags()
	addPluginDir(fs)
	return fs
}

// pluginsCommand lists the plugins found, starting each briefly: a plugin
// that does not fit shows why instead of "ok".
func pluginsCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "mphost plugins: takes no arguments (usage: mphost plugins [--plugin-dir DIR]...)")
		return exitUsage
	}
	dirs, _ := fs.GetStringArray("plugin-dir")
	list := host.Plugins(dirs)
	if len(list) == 0 {
		fmt.Fprintln(stderr, "mphost plugins: no plugins found")
		return 0
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tVERSION\tPATH\tFITS")
	for _, p := range list {
		fits := "ok"
		if p.Problem != "" {
			fits = "no: " + p.Problem
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, cmp.Or(p.Version, "-"), p.Path, fits)
	}
	w.Flush()
	return 0
}

// stubsCommand writes the editor definitions into its one argument, a
// folder, and says what it wrote.
func stubsCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "mphost stubs: takes one folder (usage: mphost stubs [--plugin-dir DIR]... DIR)")
		return exitUsage
	}
	dir := fs.Arg(0)
	dirs, _ := fs.GetStringArray("plugin-dir")
	written, err := host.WriteStubs(dir, dirs)
	if err != nil {
		fmt.Fprintf(stderr, "mphost stubs: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", filepath.Join(dir, "mp.lua"))
	for _, p := range written {
		fmt.Fprintf(stdout, "%s\n", filepath.Join(dir, p.Name+".lua"))
	}
	return 0
}
