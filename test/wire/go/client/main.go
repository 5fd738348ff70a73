// The grpc-go interop client: runs scripted scenarios against a server of messages.MessageService and
// the test service test.Test (the "x-mode" script of test/wire/go/server), and prints one JSON line per
// scenario: {"scenario":NAME,"code":"OK",...}. Before it cancels a call it prints
// {"scenario":"cancel","event":"cancelling"}, so that the other side can time how fast it learns.
//
// Usage: client TARGET SCENARIO... (scenarios: see the table in main).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"grpcmpsc/wire/messages"
	"grpcmpsc/wire/peer"
)

type result map[string]interface{}

// finish fills in how the call ended: its code, message and trailers.
func finish(r result, err error, trailer metadata.MD) result {
	st := status.Convert(err)
	if err == io.EOF {
		st = status.New(codes.OK, "")
	}
	r["code"] = st.Code().String()
	r["message"] = st.Message()
	r["trailers"] = peer.MetadataJSON(trailer)
	return r
}

func withMode(ctx context.Context, mode string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-mode", mode)
}

// echo sends msgs on a Chat call in `mode`, half-closes, and reads every response until the status.
func echo(ctx context.Context, cc *grpc.ClientConn, mode string, msgs []peer.Msg, opts ...grpc.CallOption) ([]peer.Msg, metadata.MD, error) {
	stream, err := cc.NewStream(withMode(ctx, mode), &peer.ChatDesc, peer.ChatMethod, opts...)
	if err != nil {
		return nil, nil, err
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := range msgs {
			if err := stream.SendMsg(&msgs[i]); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	var got []peer.Msg
	for {
		var m peer.Msg
		if err := stream.RecvMsg(&m); err != nil {
			<-sendErr
			return got, stream.Trailer(), err
		}
		got = append(got, m)
	}
}

func inOrder(got []peer.Msg, want []peer.Msg) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func numbered(n int, text func(i int) string) []peer.Msg {
	msgs := make([]peer.Msg, n)
	for i := range msgs {
		msgs[i] = peer.Msg{N: int64(i), Text: text(i)}
	}
	return msgs
}

var scenarios = map[string]func(ctx context.Context, cc *grpc.ClientConn) result{
	// Bidi: 100 messages echoed equal and in order, then OK with the server's trailers.
	"bidi-echo": func(ctx context.Context, cc *grpc.ClientConn) result {
		want := numbered(100, func(i int) string { return fmt.Sprintf("m%d ✓", i) })
		ctx = metadata.AppendToOutgoingContext(ctx, "x-token-bin", "\xff\x00\x01")
		got, tr, err := echo(ctx, cc, "echo", want)
		return finish(result{"values": len(got), "inOrder": inOrder(got, want)}, err, tr)
	},
	// Server streaming: Count {n: 50} gives 0..49.
	"server-stream": func(ctx context.Context, cc *grpc.ClientConn) result {
		stream, err := cc.NewStream(ctx, &peer.CountDesc, peer.CountMethod)
		if err != nil {
			return finish(result{}, err, nil)
		}
		if err := stream.SendMsg(&peer.Msg{N: 50}); err != nil {
			return finish(result{}, err, nil)
		}
		stream.CloseSend()
		got := []peer.Msg{}
		for {
			var m peer.Msg
			if err := stream.RecvMsg(&m); err != nil {
				return finish(result{"values": len(got), "inOrder": inOrder(got, numbered(50, func(int) string { return "" }))}, err, stream.Trailer())
			}
			got = append(got, m)
		}
	},
	// Client streaming: Sum of 1..100 is 5050.
	"client-stream": func(ctx context.Context, cc *grpc.ClientConn) result {
		stream, err := cc.NewStream(ctx, &peer.SumDesc, peer.SumMethod)
		if err != nil {
			return finish(result{}, err, nil)
		}
		for i := int64(1); i <= 100; i++ {
			if err := stream.SendMsg(&peer.Msg{N: i}); err != nil {
				break
			}
		}
		stream.CloseSend()
		var m peer.Msg
		err = stream.RecvMsg(&m)
		return finish(result{"sum": m.N, "text": m.Text}, err, stream.Trailer())
	},
	// The reference service with the generated client: each name answered in order.
	"messages": func(ctx context.Context, cc *grpc.ClientConn) result {
		stream, err := messages.NewMessageServiceClient(cc).StreamMessages(ctx)
		if err != nil {
			return finish(result{}, err, nil)
		}
		for _, name := range []string{"Go", "Gopher ✓"} {
			if err := stream.Send(&messages.MessageRequest{Name: name}); err != nil {
				break
			}
		}
		stream.CloseSend()
		got := []string{}
		for {
			res, err := stream.Recv()
			if err != nil {
				return finish(result{"responses": got}, err, stream.Trailer())
			}
			got = append(got, res.Message)
		}
	},
	// Cancel: a Chat call the server holds open; once its headers came, the client cancels (RST_STREAM).
	"cancel": func(ctx context.Context, cc *grpc.ClientConn) result {
		callCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := cc.NewStream(withMode(callCtx, "hold"), &peer.ChatDesc, peer.ChatMethod)
		if err != nil {
			return finish(result{}, err, nil)
		}
		header, err := stream.Header()
		if err != nil {
			return finish(result{}, err, nil)
		}
		peer.Emit(result{"scenario": "cancel", "event": "cancelling"})
		start := time.Now()
		cancel()
		var m peer.Msg
		err = stream.RecvMsg(&m)
		return finish(result{"headers": peer.MetadataJSON(header), "elapsedMs": time.Since(start).Milliseconds()}, err, nil)
	},
	// Cancel of a server stream: Count {n: 2, text: "hold"} sends 2 and waits; after reading both,
	// the client cancels.
	"server-stream-cancel": func(ctx context.Context, cc *grpc.ClientConn) result {
		callCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := cc.NewStream(callCtx, &peer.CountDesc, peer.CountMethod)
		if err != nil {
			return finish(result{}, err, nil)
		}
		if err := stream.SendMsg(&peer.Msg{N: 2, Text: "hold"}); err != nil {
			return finish(result{}, err, nil)
		}
		stream.CloseSend()
		got := 0
		for ; got < 2; got++ {
			var m peer.Msg
			if err := stream.RecvMsg(&m); err != nil {
				return finish(result{"values": got}, err, stream.Trailer())
			}
		}
		peer.Emit(result{"scenario": "server-stream-cancel", "event": "cancelling"})
		cancel()
		var m peer.Msg
		err = stream.RecvMsg(&m)
		return finish(result{"values": got}, err, nil)
	},
	// Deadline: a Chat call the server holds open, with a 300 ms timeout.
	"deadline": func(ctx context.Context, cc *grpc.ClientConn) result {
		callCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		stream, err := cc.NewStream(withMode(callCtx, "hold"), &peer.ChatDesc, peer.ChatMethod)
		if err != nil {
			return finish(result{}, err, nil)
		}
		var m peer.Msg
		err = stream.RecvMsg(&m)
		return finish(result{"elapsedMs": time.Since(start).Milliseconds()}, err, stream.Trailer())
	},
	// Error status: the server reads one message and fails the call with trailers.
	"error": func(ctx context.Context, cc *grpc.ClientConn) result {
		got, tr, err := echo(ctx, cc, "fail", []peer.Msg{{N: 7}})
		return finish(result{"values": len(got)}, err, tr)
	},
	// A half-close ends only the client's direction: the server answers after it.
	"after-half-close": func(ctx context.Context, cc *grpc.ClientConn) result {
		got, tr, err := echo(ctx, cc, "after-half-close", []peer.Msg{{N: 1}, {N: 2}})
		texts := []string{}
		for _, m := range got {
			texts = append(texts, fmt.Sprintf("%d %s", m.N, m.Text))
		}
		return finish(result{"values": texts}, err, tr)
	},
	// gzip both ways: 20 compressible messages of 10 KiB sent with gzip, echoed.
	"gzip": func(ctx context.Context, cc *grpc.ClientConn) result {
		c0, d0 := atomic.LoadInt64(&peer.Compressed), atomic.LoadInt64(&peer.Decompressed)
		want := numbered(20, func(i int) string { return strings.Repeat(fmt.Sprintf("gzip %d ", i), 1500) })
		got, tr, err := echo(ctx, cc, "echo", want, grpc.UseCompressor("gzip"))
		return finish(result{
			"values": len(got), "inOrder": inOrder(got, want),
			"compressed":   atomic.LoadInt64(&peer.Compressed) - c0,
			"decompressed": atomic.LoadInt64(&peer.Decompressed) - d0,
		}, err, tr)
	},
	// 1 MiB each way.
	"large": func(ctx context.Context, cc *grpc.ClientConn) result {
		want := []peer.Msg{{N: 1, Text: strings.Repeat("L", 1<<20)}}
		got, tr, err := echo(ctx, cc, "echo", want)
		return finish(result{"values": len(got), "inOrder": inOrder(got, want)}, err, tr)
	},
	// A 5 MiB request: over the server's 4 MiB receive limit.
	"too-large-send": func(ctx context.Context, cc *grpc.ClientConn) result {
		got, tr, err := echo(ctx, cc, "echo", []peer.Msg{{N: 1, Text: strings.Repeat("L", 5<<20)}})
		return finish(result{"values": len(got)}, err, tr)
	},
	// A small request whose answer is 5 MiB: over this client's 4 MiB receive limit.
	"too-large-recv": func(ctx context.Context, cc *grpc.ClientConn) result {
		got, tr, err := echo(ctx, cc, "size", []peer.Msg{{N: 5 << 20}})
		return finish(result{"values": len(got)}, err, tr)
	},
	// 200 concurrent Chat calls on one connection, 5 messages each, every one echoed.
	"concurrent": func(ctx context.Context, cc *grpc.ClientConn) result {
		const streams = 200
		var wg sync.WaitGroup
		var ok int64
		codesSeen := sync.Map{}
		start := time.Now()
		for s := 0; s < streams; s++ {
			wg.Add(1)
			go func(s int) {
				defer wg.Done()
				want := numbered(5, func(i int) string { return fmt.Sprintf("s%d m%d", s, i) })
				got, _, err := echo(ctx, cc, "echo", want)
				code := status.Convert(err).Code()
				if err == io.EOF {
					code = codes.OK
				}
				codesSeen.Store(code.String(), true)
				if code == codes.OK && inOrder(got, want) {
					atomic.AddInt64(&ok, 1)
				}
			}(s)
		}
		wg.Wait()
		seen := []string{}
		codesSeen.Range(func(k, _ interface{}) bool { seen = append(seen, k.(string)); return true })
		return result{"streams": streams, "ok": ok, "codes": seen, "elapsedMs": time.Since(start).Milliseconds()}
	},
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: client TARGET SCENARIO...")
		os.Exit(2)
	}
	for _, name := range os.Args[2:] {
		if _, ok := scenarios[name]; !ok {
			fmt.Fprintf(os.Stderr, "unknown scenario %q\n", name)
			os.Exit(2)
		}
	}
	dialCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	cc, err := grpc.DialContext(dialCtx, os.Args[1], grpc.WithInsecure(), grpc.WithBlock())
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	defer cc.Close()
	for _, name := range os.Args[2:] {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		r := scenarios[name](ctx, cc)
		cancel()
		r["scenario"] = name
		peer.Emit(r)
	}
}
