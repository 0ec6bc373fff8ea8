package child

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stdout, stderr := NewFrameWriters(w)
	big := strings.Repeat("x", maxFrame+10) // split in two frames
	go func() {
		io.WriteString(stdout, "one\n")
		io.WriteString(stderr, "err\n")
		io.WriteString(stdout, big)
		WriteEnd(w, -9)
		w.Close()
	}()
	br := bufio.NewReader(r)
	var got [3]bytes.Buffer
	code := 0
	for {
		stream, data, err := ReadFrame(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if stream == End {
			if code, err = EndCode(data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got[stream].Write(data)
	}
	if got[Stdout].String() != "one\n"+big || got[Stderr].String() != "err\n" || code != -9 {
		t.Errorf("stdout %d bytes, stderr %q, end code %d", got[Stdout].Len(), got[Stderr].String(), code)
	}
}

func TestReadFrameRejectsGarbage(t *testing.T) {
	cases := map[string][]byte{
		"unknown stream":  {7, 1, 'x'},
		"oversized frame": {Stdout, 0xff, 0xff, 0xff, 0x7f},
	}
	for name, b := range cases {
		if _, _, err := ReadFrame(bufio.NewReader(bytes.NewReader(b))); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	stream, data, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{Stdout, 5, 'a', 'b'})))
	if stream != Stdout || string(data) != "ab" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut frame: %d %q %v", stream, data, err)
	}
	if _, err := EndCode([]byte{0x80}); err == nil {
		t.Error("malformed end code accepted")
	}
}
