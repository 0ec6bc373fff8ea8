package host

import (
	"reflect"
	"testing"
	"time"
)

// A message of tasks and its result come back as they went, and every cut of them, and every
// byte changed to 0xff, is refused or read without a panic.
func TestClusterTaskEncoding(t *testing.T) {
	task := clusterTask{pool: 7, init: []byte("init"), maxTasks: 3, timeout: 1500 * time.Millisecond,
		fns:   [][]byte{[]byte("f"), []byte("g")},
		items: []clusterItem{{fn: 0, args: []byte("a1")}, {fn: 1, args: nil}, {fn: 0, args: []byte("a3")}}}
	data := task.encode()
	got, err := decodeClusterTask(data)
	if err != nil {
		t.Fatal(err)
	}
	got.items[1].args = nil // decoded as an empty slice
	if !reflect.DeepEqual(got, task) {
		t.Errorf("decoded %+v, want %+v", got, task)
	}
	res := clusterResult{elapsed: time.Millisecond, items: []itemResult{{data: []byte("r1")}, {err: "boom", data: []byte("tb")}, {died: true, err: "killed"}}}
	rdata := res.encode()
	gotRes, err := decodeClusterResult(rdata)
	if err != nil {
		t.Fatal(err)
	}
	gotRes.items[2].data = nil
	if !reflect.DeepEqual(gotRes, res) {
		t.Errorf("decoded %+v, want %+v", gotRes, res)
	}
	for i := range data {
		if _, err := decodeClusterTask(data[:i]); err == nil {
			t.Errorf("the task cut at %d of %d bytes was read", i, len(data))
		}
		bad := append([]byte(nil), data...)
		bad[i] = 0xff
		_, _ = decodeClusterTask(bad)
	}
	for i := range rdata {
		if _, err := decodeClusterResult(rdata[:i]); err == nil {
			t.Errorf("the result cut at %d of %d bytes was read", i, len(rdata))
		}
		bad := append([]byte(nil), rdata...)
		bad[i] = 0xff
		_, _ = decodeClusterResult(bad)
	}
	if _, err := decodeClusterTask(append(data, 0)); err == nil {
		t.Error("a task with a byte too many was read")
	}
	if _, err := decodeClusterResult(clusterResult{}.encode()); err == nil {
		t.Error("a result of no items was read")
	}
	task.items[0].fn = 2
	if _, err := decodeClusterTask(task.encode()); err == nil {
		t.Error("a task whose item names a function it lacks was read")
	}
}
