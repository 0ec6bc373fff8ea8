package host

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// startProgress draws the progress of total items of pool work on stderr
// under a label, when progress was asked for, by the pool (requested:
// mp.Pool{progress = true}) or by Options.Progress (mphost run --progress),
// and stderr is a terminal; nil otherwise. Whoever runs the pool, the host
// draws it, as it sees every task finish.
func (h *Host) startProgress(label string, total int, requested bool) *barProgress {
	if !(requested || h.progress) || total <= 0 || !isTerminal(h.out.stderr) {
		return nil
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
	return &barProgress{bar}
}

// barProgress is the bar of one batch of a pool's tasks.
type barProgress struct{ bar *progressbar.ProgressBar }

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
