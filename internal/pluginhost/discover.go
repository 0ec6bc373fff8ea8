package pluginhost

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Prefix is the start of a plugin executable's name: mphost-plugin-NAME.
const Prefix = "mphost-plugin-"

// PinSuffix ends the name of the file beside a plugin that pins it: its
// first word is the hex SHA-256 of the executable (sha256sum's output).
const PinSuffix = ".sha256"

// Folder is one folder searched for plugins, and what put it there.
type Folder struct {
	Dir  string
	From string // "--plugin-dir", "$MPHOST_PLUGIN_PATH" or "the user's config"
}

// SearchPath is where plugins are looked for, in order: the dirs given (the
// --plugin-dir flags), then the folders of $MPHOST_PLUGIN_PATH
// (colon-separated), then $XDG_CONFIG_HOME/mphost/plugins (by default
// ~/.config/mphost/plugins).
func SearchPath(dirs []string) []Folder {
	var path []Folder
	for _, d := range dirs {
		path = append(path, Folder{d, "--plugin-dir"})
	}
	for _, d := range filepath.SplitList(os.Getenv("MPHOST_PLUGIN_PATH")) {
		if d != "" {
			path = append(path, Folder{d, "$MPHOST_PLUGIN_PATH"})
		}
	}
	config := os.Getenv("XDG_CONFIG_HOME")
	if config == "" {
		if home, err := os.UserHomeDir(); err == nil {
			config = filepath.Join(home, ".config")
		}
	}
	if config != "" {
		path = append(path, Folder{filepath.Join(config, "mphost", "plugins"), "the user's config"})
	}
	return path
}

// NotFoundError says that no folder of the search path holds a plugin.
type NotFoundError struct {
	Name   string
	Looked []Folder
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no plugin %q: looked for %s%s in", e.Name, Prefix, e.Name)
	if len(e.Looked) == 0 {
		b.WriteString(" no folder (no --plugin-dir, $MPHOST_PLUGIN_PATH or home folder)")
	}
	for i, f := range e.Looked {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (%s)", f.Dir, f.From)
	}
	return b.String()
}

// Find returns the path of the first executable named mphost-plugin-NAME
// along path, or a [*NotFoundError].
func Find(path []Folder, name string) (string, error) {
	for _, f := range path {
		p := filepath.Join(f.Dir, Prefix+name)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", &NotFoundError{Name: name, Looked: path}
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Names lists the plugins along path, each name once, where Find finds it.
func Names(path []Folder) (names, paths []string) {
	seen := make(map[string]bool)
	for _, f := range path {
		entries, err := os.ReadDir(f.Dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || name == "" || strings.HasSuffix(name, PinSuffix) || seen[name] {
				continue
			}
			if p := filepath.Join(f.Dir, e.Name()); isExecutable(p) {
				seen[name] = true
				names, paths = append(names, name), append(paths, p)
			}
		}
	}
	return names, paths
}

// PinError refuses a plugin whose executable does not match its pin.
type PinError struct {
	Path           string
	Pinned, Actual string // hex SHA-256
}

func (e *PinError) Error() string {
	return fmt.Sprintf("%s does not match its pin %s%s: pinned sha256 %s, the file's is %s",
		e.Path, e.Path, PinSuffix, e.Pinned, e.Actual)
}

// readPin reads the pin beside the plugin at path, the SHA-256 it must
// have: nil when there is none.
func readPin(path string) ([]byte, error) {
	f, err := os.Open(path + PinSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var word string
	if fields := strings.Fields(firstLine(f)); len(fields) > 0 {
		word = fields[0]
	}
	sum, err := hex.DecodeString(word)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%s%s: the first word is not a hex SHA-256", path, PinSuffix)
	}
	return sum, nil
}

func firstLine(r io.Reader) string {
	s := bufio.NewScanner(r)
	s.Scan()
	return s.Text()
}

// checkPin refuses the plugin at path when a pin beside it does not match.
func checkPin(path string) error {
	pinned, err := readPin(path)
	if err != nil || pinned == nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checking %s against its pin: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("checking %s against its pin: %w", path, err)
	}
	if actual := h.Sum(nil); !bytes.Equal(actual, pinned) {
		return &PinError{Path: path, Pinned: hex.EncodeToString(pinned), Actual: hex.EncodeToString(actual)}
	}
	return nil
}
