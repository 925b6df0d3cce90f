// Level 14: net/http, a large slice of the standard library (net, crypto/tls,
// context, mime, ...) with many func types and interfaces.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

type api struct {
	hits int
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.hits++
	fmt.Fprintf(w, "hello %s #%d", r.URL.Path, a.hits)
}

func withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func main() {
	mux := http.NewServeMux()
	mux.Handle("/", withTimeout(&api{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("no loopback:", err)
		return
	}
	srv := &http.Server{Handler: mux, ReadTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/x")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
}
