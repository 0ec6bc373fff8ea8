package cluster

import (
	"reflect"
	"testing"
	"time"
)

// A pool task and its result come back as they went; every cut of them is refused, and every
// byte changed to 0xff is refused or read without a panic.
func TestPoolTaskLayout(t *testing.T) {
	task := PoolTask{Pool: 7, Init: []byte("init"), MaxTasks: 3, Timeout: 1500 * time.Millisecond,
		Func: []byte("f"), Items: [][]byte{[]byte("a1"), {}, []byte("a3")}}
	data := task.Append(nil)
	got, err := DecodePoolTask(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, task) {
		t.Errorf("decoded %+v, want %+v", got, task)
	}
	res := PoolResult{Elapsed: time.Millisecond, Items: []ItemResult{{Data: []byte("r1")}, {Err: "boom", Data: []byte("tb")}, {Died: true, Err: "killed", Data: []byte{}}}}
	rdata := res.Append(nil)
	gotRes, err := DecodePoolResult(rdata)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotRes, res) {
		t.Errorf("decoded %+v, want %+v", gotRes, res)
	}
	for _, c := range []struct {
		what   string
		data   []byte
		decode func([]byte) error
	}{
		{"task", data, func(b []byte) error { _, err := DecodePoolTask(b); return err }},
		{"result", rdata, func(b []byte) error { _, err := DecodePoolResult(b); return err }},
	} {
		for i := range c.data {
			if c.decode(c.data[:i]) == nil {
				t.Errorf("the %s cut at %d of %d bytes was read", c.what, i, len(c.data))
			}
			bad := append([]byte(nil), c.data...)
			bad[i] = 0xff
			_ = c.decode(bad)
		}
		if c.decode(append(c.data, 0)) == nil {
			t.Errorf("a %s with a byte too many was read", c.what)
		}
	}
	if _, err := DecodePoolResult(PoolResult{}.Append(nil)); err == nil {
		t.Error("a result of no items was read")
	}
	task.Items = nil
	if _, err := DecodePoolTask(task.Append(nil)); err == nil {
		t.Error("a task of no items was read")
	}
}
