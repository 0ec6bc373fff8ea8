package slots

import (
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Count is the number of slots: objects with a larger index keep their
// numbers in the host.
const Count = 1 << 20

// The parts of the memory: where each starts, and the bytes of the whole.
const (
	valuesSize = Count * 8
	locksStart = valuesSize
	locksSize  = Count * recordSize
	seatsStart = locksStart + locksSize
	seatsSize  = Seats * seatSize
	size       = seatsStart + seatsSize
)

// Other is what a slot holds when its Value does not hold a number: a NaN
// that no arithmetic makes (a signalling NaN with a payload). A number with
// these very bits is kept in the host, as a value of another kind.
const Other uint64 = 0x7ff4_6d70_686f_7374

// Slots is the mapped memory. Its methods may be called from any goroutine.
type Slots struct {
	mem       []byte
	file      *os.File
	closeFile sync.Once
	seats     seating // the host's book of seats
}

// seals are the memory's seals: its size is fixed for good, so that no
// process (a script that opens /proc/self/fd/5 for writing, say) can shrink
// it under the others' mappings, which would kill them with SIGBUS.
const seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// New makes the memory, for a host: the file to hand to children, and the
// mapping.
func New() (*Slots, error) {
	fd, err := unix.MemfdCreate("mphost-values", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("making the values' memory: %w", err)
	}
	f := os.NewFile(uintptr(fd), "mphost-values")
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("sizing the values' memory: %w", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the values' memory: %w", err)
	}
	s, err := mapFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// Open maps the memory that the host handed to this child as fd, and marks
// fd close-on-exec, if fd is that memory (a memfd of its size, with its
// seals); otherwise it leaves fd alone and returns an error, and the child
// keeps every number in the host.
func Open(fd int) (*Slots, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("the values' memory: %w", err)
	}
	got, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || got&seals != seals || st.Size != size || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("the values' memory: fd %d is not it", fd)
	}
	unix.CloseOnExec(fd)
	return mapFile(os.NewFile(uintptr(fd), "mphost-values"))
}

func mapFile(f *os.File) (*Slots, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the values' memory: %w", err)
	}
	return &Slots{mem: mem, file: f}, nil
}

// File is the memory's file, to hand to a child.
func (s *Slots) File() *os.File { return s.file }

// CloseFile closes the memory's file once no child will be started; the
// mapping stays.
func (s *Slots) CloseFile() { s.closeFile.Do(func() { s.file.Close() }) }

// Close unmaps the memory and closes its file. No slot may be used
// afterwards.
func (s *Slots) Close() {
	unix.Munmap(s.mem)
	s.CloseFile()
}

// Slot returns the slot of object id, or nil when id has none.
func (s *Slots) Slot(id uint64) *Slot {
	index := id & indexMask
	if s == nil || index == 0 || index >= Count {
		return nil
	}
	return (*Slot)(unsafe.Pointer(&s.mem[index*8]))
}

// indexMask keeps an object id's index, the bits that name its slot.
const indexMask = 1<<32 - 1

// Word returns the slot of object id as a plain word (see Slot.Word), or
// nil when id has none.
func (s *Slots) Word(id uint64) *atomic.Uint64 {
	if slot := s.Slot(id); slot != nil {
		return slot.Word()
	}
	return nil
}

// Slot is one Value's number, in the shared memory.
type Slot struct {
	bits atomic.Uint64
}

// Word is the slot as a plain word, for an object that is not a Value: a
// pipe end's gate (package pipesock).
func (s *Slot) Word() *atomic.Uint64 { return &s.bits }

// Holds reports whether n can be kept in a slot: every number but the one
// whose bits are Other.
func Holds(n float64) bool { return math.Float64bits(n) != Other }

// Load returns the number the slot holds; ok is false when it holds Other.
func (s *Slot) Load() (n float64, ok bool) {
	b := s.bits.Load()
	return math.Float64frombits(b), b != Other
}

// Store sets the slot to n, which Holds.
func (s *Slot) Store(n float64) { s.bits.Store(math.Float64bits(n)) }

// StoreOther marks the slot as holding something other than a number.
func (s *Slot) StoreOther() { s.bits.Store(Other) }

// Add adds n to the number the slot holds and returns the sum; ok is false,
// and nothing changes, when it holds Other or the sum would be Other.
func (s *Slot) Add(n float64) (sum float64, ok bool) {
	for {
		old := s.bits.Load()
		if old == Other {
			return 0, false
		}
		sum = math.Float64frombits(old) + n
		if !Holds(sum) {
			return 0, false
		}
		if s.bits.CompareAndSwap(old, math.Float64bits(sum)) {
			return sum, true
		}
	}
}
