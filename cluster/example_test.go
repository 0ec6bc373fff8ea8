package cluster_test

import (
	"fmt"
	"log"
	"os"
	"regexp"

	"github.com/mphost/mphost/cluster"
)

// A server for a cluster, on a free port, with its JetStream files in a
// folder of its own: its URL carries the token workers and runs need.
func Example() {
	dir, err := os.MkdirTemp("", "cluster")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	fmt.Println(regexp.MustCompile(`^nats://[0-9a-f]+@127\.0\.0\.1:[0-9]+$`).MatchString(srv.URL()))
	// Output: true
}
