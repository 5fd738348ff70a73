// The grpc-go interop server: messages.MessageService (generated code; each name is answered
// "echo: <name>") and the test service test.Test (Chat, Count, Sum; the "x-mode" request header picks
// the behaviour, the same script as the grpc-mpsc server in test/wire/go-client.test.ts).
//
// Listens on 127.0.0.1 (an ephemeral port), prints {"event":"listening","port":N}, and prints one JSON
// line per call that ended by the client going away ({"event":"ended",...}). Runs until stdin closes.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"grpcmpsc/wire/messages"
	"grpcmpsc/wire/peer"
)

type messageService struct {
	messages.UnimplementedMessageServiceServer
}

func (messageService) StreamMessages(stream messages.MessageService_StreamMessagesServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&messages.MessageResponse{Message: "echo: " + req.Name}); err != nil {
			return err
		}
	}
}

// ended reports how a call that waited for its end saw it end, and how much of its deadline was left
// when it began (-1: none).
func ended(method, mode string, ctx context.Context, deadlineMs int64) {
	code := status.FromContextError(ctx.Err()).Code()
	peer.Emit(map[string]interface{}{
		"event": "ended", "method": method, "mode": mode, "code": code.String(), "deadlineMs": deadlineMs,
	})
}

func deadlineMs(ctx context.Context) int64 {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d).Milliseconds()
	}
	return -1
}

func incoming(ctx context.Context) metadata.MD {
	md, _ := metadata.FromIncomingContext(ctx)
	return md
}

func chat(_ interface{}, stream grpc.ServerStream) error {
	ctx := stream.Context()
	md := incoming(ctx)
	mode := peer.Mode(md)
	left := deadlineMs(ctx)
	switch mode {
	case "hold":
		if err := stream.SendHeader(metadata.Pairs("x-held", "yes")); err != nil {
			return err
		}
		<-ctx.Done()
		ended("Chat", mode, ctx, left)
		return status.FromContextError(ctx.Err()).Err()
	case "fail":
		var m peer.Msg
		if err := stream.RecvMsg(&m); err != nil {
			return err
		}
		stream.SetTrailer(metadata.Pairs("retry-after-ms", "250", "reason-bin", "\x00\x01\x02"))
		return status.Errorf(codes.InvalidArgument, "rejected n=%d", m.N)
	}
	read := int64(0)
	for {
		var m peer.Msg
		err := stream.RecvMsg(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		read++
		reply := m
		if mode == "size" {
			reply = peer.Msg{N: m.N, Text: strings.Repeat("x", int(m.N))}
		}
		if mode != "after-half-close" {
			if err := stream.SendMsg(&reply); err != nil {
				return err
			}
		}
	}
	if mode == "after-half-close" {
		for i := int64(0); i < 3; i++ {
			if err := stream.SendMsg(&peer.Msg{N: read + i, Text: "after half-close"}); err != nil {
				return err
			}
		}
	}
	// A binary request header comes back as a trailer: -bin metadata crosses both ways.
	if token := md.Get("x-token-bin"); len(token) > 0 {
		stream.SetTrailer(metadata.Pairs("x-token-bin", token[0]))
	}
	stream.SetTrailer(metadata.Pairs(
		"x-echoed", strconv.FormatInt(read, 10),
		"x-gzip-decompressed", strconv.FormatInt(atomic.LoadInt64(&peer.Decompressed), 10),
		"x-gzip-compressed", strconv.FormatInt(atomic.LoadInt64(&peer.Compressed), 10),
	))
	return nil
}

func count(_ interface{}, stream grpc.ServerStream) error {
	ctx := stream.Context()
	left := deadlineMs(ctx)
	var req peer.Msg
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	for i := int64(0); i < req.N; i++ {
		if err := stream.SendMsg(&peer.Msg{N: i}); err != nil {
			return err
		}
	}
	if req.Text == "hold" {
		<-ctx.Done()
		ended("Count", "hold", ctx, left)
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}

func sum(_ interface{}, stream grpc.ServerStream) error {
	total, n := int64(0), 0
	for {
		var m peer.Msg
		err := stream.RecvMsg(&m)
		if err == io.EOF {
			return stream.SendMsg(&peer.Msg{N: total, Text: fmt.Sprintf("count=%d", n)})
		}
		if err != nil {
			return err
		}
		total += m.N
		n++
	}
}

var testService = grpc.ServiceDesc{
	ServiceName: "test.Test",
	HandlerType: (*interface{})(nil),
	Streams: []grpc.StreamDesc{
		{StreamName: "Chat", Handler: chat, ServerStreams: true, ClientStreams: true},
		{StreamName: "Count", Handler: count, ServerStreams: true},
		{StreamName: "Sum", Handler: sum, ClientStreams: true},
	},
}

func main() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	messages.RegisterMessageServiceServer(server, messageService{})
	server.RegisterService(&testService, struct{}{})
	go func() {
		if err := server.Serve(lis); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
	}()
	peer.Emit(map[string]interface{}{"event": "listening", "port": lis.Addr().(*net.TCPAddr).Port})
	io.Copy(io.Discard, os.Stdin) // the test closes stdin (or kills us) to stop
	server.Stop()
}
