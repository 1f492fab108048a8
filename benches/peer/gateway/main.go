// grpc-gateway's reverse proxy for benches/peer/users.proto, as its
// documentation sets one up: a runtime.ServeMux with the generated handlers
// registered against one upstream, served by net/http.
//
// Usage: grpc-gateway UPSTREAM_ADDR LISTEN_ADDR
package main

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/grpc-ecosystem/grpc-gateway/runtime"
	"google.golang.org/grpc"

	"peerpb"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatalf("usage: %s UPSTREAM_ADDR LISTEN_ADDR", os.Args[0])
	}
	upstream, listen := os.Args[1], os.Args[2]
	mux := runtime.NewServeMux()
	opts := []grpc.DialOption{grpc.WithInsecure()}
	if err := peerpb.RegisterUserServiceHandlerFromEndpoint(context.Background(), mux, upstream, opts); err != nil {
		log.Fatalf("registering the handlers: %v", err)
	}
	log.Fatal(http.ListenAndServe(listen, mux))
}
