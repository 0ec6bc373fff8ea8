package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultListen is where Serve listens unless told.
const DefaultListen = "127.0.0.1:4222"

// serverStartTimeout bounds how long Serve waits for the server to take connections.
const serverStartTimeout = 30 * time.Second

// ServerConfig is what Serve starts a server with.
type ServerConfig struct {
	// Listen is HOST:PORT, DefaultListen when empty; port -1 (or 0) picks a free one.
	Listen string
	// StoreDir is the directory of JetStream's file storage; it must be given.
	StoreDir string
	// Token is the credential clients must give; Serve makes a random one when empty.
	Token string
	// TLS, when set, makes the server speak TLS only; its URL is then tls://.
	TLS *tls.Config
}

// Server is an embedded NATS server with JetStream, made by Serve.
type Server struct {
	srv *server.Server
	url string
}

// Serve starts a NATS server with JetStream in this process, closed by a token, and returns
// once it takes connections. Shut it down with Shutdown.
func Serve(cfg ServerConfig) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("cluster: serve: no store directory")
	}
	listen := cfg.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: serve: listen address %q: want HOST:PORT", listen)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < -1 || port > 65535 {
		return nil, fmt.Errorf("cluster: serve: listen address %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	token := cfg.Token
	if token == "" {
		if token, err = randomHex(16); err != nil {
			return nil, fmt.Errorf("cluster: serve: %w", err)
		}
	}
	opts := &server.Options{
		Host:                   host,
		Port:                   port,
		JetStream:              true,
		StoreDir:               cfg.StoreDir,
		Authorization:          token,
		NoSigs:                 true,
		NoLog:                  true,
		DisableJetStreamBanner: true,
		MaxPayload:             maxPayload,
	}
	if cfg.TLS != nil {
		opts.TLSConfig, opts.TLS = cfg.TLS, true
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: serve: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(serverStartTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("cluster: serve: the server did not start listening on %s within %v", listen, serverStartTimeout)
	}
	scheme := "nats"
	if cfg.TLS != nil {
		scheme = "tls"
	}
	addr := srv.Addr().(*net.TCPAddr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = reachableHost()
	}
	url := fmt.Sprintf("%s://%s@%s", scheme, token, net.JoinHostPort(host, strconv.Itoa(addr.Port)))
	return &Server{srv: srv, url: url}, nil
}

// reachableHost is where other machines reach this one, for a server that listens on all
// its addresses: the address its packets leave from on the way out (a UDP socket's, which
// sends nothing), else that of the first network interface up that is not a loopback, else
// its host name when it resolves, else the loopback: a machine with no network.
func reachableHost() string {
	if conn, err := net.Dial("udp4", "192.0.2.1:9"); err == nil { // TEST-NET-1: never reached
		defer conn.Close()
		if ip := conn.LocalAddr().(*net.UDPAddr).IP; !ip.IsLoopback() && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	if ifaces, err := net.Interfaces(); err == nil {
		for _, iface := range ifaces {
			if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
				continue
			}
			addrs, _ := iface.Addrs()
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
					return n.IP.String()
				}
			}
		}
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		if _, err := net.LookupHost(name); err == nil {
			return name
		}
	}
	return "127.0.0.1"
}

// URL is the server's address with its token: scheme://TOKEN@HOST:PORT, where HOST is
// reachableHost's for a server listening on all addresses.
func (s *Server) URL() string { return s.url }

// Shutdown closes every connection and stops the server; it returns once it has stopped.
// Calling it twice is harmless.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// randomHex returns n random bytes in hex: a token, a run id.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}
