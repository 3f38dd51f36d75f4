package dbtest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections to a PostgreSQL server, so tests can make
// the database appear late, wake slowly (Hold) or vanish (DropAll).
// It listens on loopback only and stops when the test ends.
type Proxy struct {
	Addr   string
	target string
	ln     net.Listener
	done   chan struct{}
	once   sync.Once

	mu     sync.Mutex
	hold   time.Duration
	wakeAt time.Time
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	held   atomic.Int32
}

// ReserveAddr returns a loopback address nothing listens on (yet).
func ReserveAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartProxy listens on addr ("127.0.0.1:0" for any port) and forwards to target.
func StartProxy(t testing.TB, addr, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("proxy listen %s: %v", addr, err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Hold makes new connections wait d before they reach the server, as a
// suspended Neon compute holds them while it wakes.
func (p *Proxy) Hold(d time.Duration) {
	p.mu.Lock()
	p.hold = d
	p.mu.Unlock()
}

// Suspend makes the endpoint behave like a suspended Neon compute that takes
// d to wake: connections arriving before then are held until it is awake,
// later ones pass at once.
func (p *Proxy) Suspend(d time.Duration) { p.WakeAt(time.Now().Add(d)) }

// WakeAt is Suspend with an absolute wake-up time, for several proxies in
// front of one compute (its pooled and direct endpoints).
func (p *Proxy) WakeAt(t time.Time) {
	p.mu.Lock()
	p.wakeAt = t
	p.mu.Unlock()
}

// Held is how many connections are waiting in a Hold or Suspend now, so a
// test can wait until a request is stuck on one.
func (p *Proxy) Held() int { return int(p.held.Load()) }

// DropAll closes every open connection in both directions.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Close stops listening and drops every connection.
func (p *Proxy) Close() {
	p.once.Do(func() { close(p.done) })
	p.ln.Close()
	p.DropAll()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	p.track(client)
	defer p.forget(client)
	p.mu.Lock()
	hold := max(p.hold, time.Until(p.wakeAt))
	p.mu.Unlock()
	p.held.Add(1)
	select {
	case <-time.After(hold):
		p.held.Add(-1)
	case <-p.done:
		p.held.Add(-1)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.track(server)
	defer p.forget(server)
	done := make(chan struct{}, 2)
	go func() { io.Copy(server, client); done <- struct{}{} }()
	go func() { io.Copy(client, server); done <- struct{}{} }()
	<-done
}
