// Package peer is what the grpc-go interop programs share: the test service of
// test/support/grpc.ts (test.Test with Chat, Count and Sum, JSON messages on the wire), a codec that
// speaks both JSON (for it) and protobuf (for the generated messages.MessageService), a gzip
// compressor that counts what it compresses and decompresses, and JSON-line output.
//
// Built offline against Debian's grpc-go (golang-google-grpc-dev) in GOPATH mode: see
// test/support/go.ts and docs/wire-go.md.
package peer

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang/protobuf/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
)

// Msg is a message of the test service, {"n": 1, "text": "..."} as JSON.
type Msg struct {
	N    int64  `json:"n"`
	Text string `json:"text,omitempty"`
}

// codec replaces grpc-go's "proto" codec (the one named by content-type application/grpc): protobuf
// for generated messages, JSON for the test service's Msg, so both services share one server.
type codec struct{}

func (codec) Marshal(v interface{}) ([]byte, error) {
	if m, ok := v.(proto.Message); ok {
		return proto.Marshal(m)
	}
	return json.Marshal(v)
}

func (codec) Unmarshal(data []byte, v interface{}) error {
	if m, ok := v.(proto.Message); ok {
		return proto.Unmarshal(data, m)
	}
	return json.Unmarshal(data, v)
}

func (codec) Name() string { return "proto" }

// Gzip counts, process-wide: how many messages this process compressed and decompressed.
var Compressed, Decompressed int64

// countingGzip is grpc-go's "gzip" compressor, counting.
type countingGzip struct{}

type countingWriter struct{ *gzip.Writer }

func (w countingWriter) Close() error {
	atomic.AddInt64(&Compressed, 1)
	return w.Writer.Close()
}

func (countingGzip) Compress(w io.Writer) (io.WriteCloser, error) {
	return countingWriter{gzip.NewWriter(w)}, nil
}

func (countingGzip) Decompress(r io.Reader) (io.Reader, error) {
	atomic.AddInt64(&Decompressed, 1)
	return gzip.NewReader(r)
}

func (countingGzip) Name() string { return "gzip" }

func init() {
	// grpc's own codec and compressors registered in their packages' init, which ran before this one
	// (this package imports grpc): these replace them.
	encoding.RegisterCodec(codec{})
	encoding.RegisterCompressor(countingGzip{})
}

// Chat, Count and Sum of the test service, as stream descriptions (server handlers left nil).
var (
	ChatDesc  = grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}
	CountDesc = grpc.StreamDesc{StreamName: "Count", ServerStreams: true}
	SumDesc   = grpc.StreamDesc{StreamName: "Sum", ClientStreams: true}
)

// Method paths.
const (
	ChatMethod     = "/test.Test/Chat"
	CountMethod    = "/test.Test/Count"
	SumMethod      = "/test.Test/Sum"
	MessagesMethod = "/messages.MessageService/StreamMessages"
)

var outMu sync.Mutex

// Emit prints v as one JSON line on stdout (safe from any goroutine).
func Emit(v interface{}) {
	line, err := json.Marshal(v)
	if err != nil {
		line, _ = json.Marshal(map[string]string{"event": "emit-error", "error": err.Error()})
	}
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(line, '\n'))
}

// MetadataJSON flattens metadata to key -> values joined by ","; "-bin" values are base64 (padded),
// as grpc-js prints them.
func MetadataJSON(md metadata.MD) map[string]string {
	out := map[string]string{}
	for k, vs := range md {
		parts := make([]string, len(vs))
		for i, v := range vs {
			if strings.HasSuffix(k, "-bin") {
				parts[i] = base64.StdEncoding.EncodeToString([]byte(v))
			} else {
				parts[i] = v
			}
		}
		out[k] = strings.Join(parts, ",")
	}
	return out
}

// Mode is the "x-mode" request header: how the peer's Chat, Count or Sum handler behaves.
func Mode(md metadata.MD) string {
	if vs := md.Get("x-mode"); len(vs) > 0 {
		return vs[0]
	}
	return "echo"
}
