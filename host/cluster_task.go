package host

import (
	"fmt"
	"strings"

	"github.com/mphost/mphost/internal/vm"
)

// refuseHandles is the error of what (the function, the arguments...) of a Pool's task on a
// cluster when data carries the handle of a host object, but the pool's own: cluster workers
// run on other machines, where the host's objects are not.
func refuseHandles(what string, data []byte, pool uint64) error {
	if named := handleNames(data, pool); named != "" {
		return fmt.Errorf("%s carry %s: cluster workers cannot reach the objects of this run", what, named)
	}
	return nil
}

// handleNames names the objects whose handles data carries, but the pool's own: "a Queue and
// an Event"; empty when there are none.
func handleNames(data []byte, pool uint64) string {
	kinds, ids, _ := vm.HandleKinds(data)
	var named []string
	for i, kind := range kinds {
		if kind == "Pool" && ids[i] == pool {
			continue
		}
		article := "a "
		if strings.ContainsAny(kind[:min(1, len(kind))], "AEIOU") {
			article = "an "
		}
		named = append(named, article+kind)
	}
	return strings.Join(named, " and ")
}
