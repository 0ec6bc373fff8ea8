package host

import (
	"fmt"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mphost/mphost/internal/vm"
)

// StartProgress implements vm.Runtime: a progress bar on stderr for
// pool work, drawn only when stderr is a terminal and progress was asked
// for, by the pool or by Options.Progress (mphost run --progress).
func (h mainRuntime) StartProgress(label string, total int, requested bool) vm.Progress {
	if !(requested || h.progress) || total <= 0 || !isTerminal(h.out.stderr) {
		return vm.NoProgress
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(lockedWriter{h.out, h.out.stderr}),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("items"),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000), // redraw at most every 0.1 s
	)
	return barProgress{bar}
}

type barProgress struct{ bar *progressbar.ProgressBar }

func (b barProgress) Add(n int) { b.bar.Add(n) }
func (b barProgress) Done()     { b.bar.Finish() }

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// childProgress is the bar of a child's pool work, drawn by the host: the
// child makes it with NewObject("Progress"), advances it (op "advance",
// posted) and ends it (op "done"), which removes it.
type childProgress struct{ vm.Progress }

func (p *childProgress) call(h *Host, call vm.ObjectCall) (vm.ObjectReply, error) {
	switch call.Op {
	case "advance":
		p.Add(int(call.N))
	case "done":
		p.Done()
		h.objects.Remove(call.ID)
	default:
		return vm.ObjectReply{}, fmt.Errorf("a progress bar has no operation %q", call.Op)
	}
	return vm.ObjectReply{}, nil
}
