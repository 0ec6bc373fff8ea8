// Package cluster serves the NATS JetStream server that an mphost cluster runs on, for users
// and embedders who have none: the server of `mphost cluster serve`.
//
// A cluster runs the tasks of a Pool on workers on many machines; it runs code that anyone who
// can publish to it sends, so the server it serves is closed by a token that its URL carries
// (nats://TOKEN@HOST:PORT), and a client without the token is refused at once.
//
//	srv, err := cluster.Serve(cluster.ServerConfig{StoreDir: dir})
//	if err != nil {
//		return err
//	}
//	defer srv.Shutdown()
//	fmt.Println(srv.URL()) // give it to the workers and the runs
package cluster

import (
	"crypto/tls"

	icluster "github.com/mphost/mphost/internal/cluster"
)

// DefaultListen is the address Serve listens on unless told.
const DefaultListen = icluster.DefaultListen

// ServerConfig is what Serve starts a server with.
type ServerConfig struct {
	// Listen is HOST:PORT, DefaultListen when empty; port 0 picks a free one.
	Listen string
	// StoreDir is the directory of JetStream's file storage (the runs' heartbeats; tasks and
	// results wait in memory); it must be given, and is made if need be.
	StoreDir string
	// Token is the credential clients must give; Serve makes a random one when empty.
	Token string
	// TLS, when set, makes the server speak TLS only; its URL is then tls://TOKEN@HOST:PORT.
	TLS *tls.Config
}

// Server is a NATS server with JetStream running in this process, made by Serve.
type Server struct {
	srv *icluster.Server
}

// Serve starts a NATS server with JetStream in this process, closed by a token, and returns
// once it takes connections. Stop it with Shutdown.
func Serve(cfg ServerConfig) (*Server, error) {
	srv, err := icluster.Serve(icluster.ServerConfig{Listen: cfg.Listen, StoreDir: cfg.StoreDir, Token: cfg.Token, TLS: cfg.TLS})
	if err != nil {
		return nil, err
	}
	return &Server{srv: srv}, nil
}

// URL is the server's address with its token, scheme://TOKEN@HOST:PORT: what workers and runs
// connect with. For a server listening on all addresses (0.0.0.0, ::), HOST is where other
// machines reach this one: the address its packets leave from.
func (s *Server) URL() string { return s.srv.URL() }

// Shutdown closes every connection and stops the server; it returns once the server has
// stopped. Calling it twice is harmless.
func (s *Server) Shutdown() { s.srv.Shutdown() }
