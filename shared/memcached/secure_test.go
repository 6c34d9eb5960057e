package memcached

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/mcdump"
)

// selfSigned writes a CA-signed-by-itself certificate for 127.0.0.1 and its key, returning
// their paths.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cacheport test memcached"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// roundTrip loads a few keys through cfg, dumps and restores them into the same node after a
// flush, and checks them.
func roundTrip(t *testing.T, addr string, cfg Config) {
	t.Helper()
	c := connect(t, addr, cfg)
	var items []item
	for i := 0; i < 200; i++ {
		items = append(items, item{key: "s" + strconv.Itoa(i), value: bytes.Repeat([]byte{byte(i)}, i*100), flags: uint32(i), ttl: int64(i % 2 * 300)})
	}
	c.load(items...)
	ctx := context.Background()
	var buf bytes.Buffer
	st, err := Dump(ctx, Node{Addr: addr}, newDump(t, &buf, "n"), Options{Config: cfg})
	if err != nil || st.Dumped != int64(len(items)) {
		t.Fatalf("dump %+v %v", st, err)
	}
	if rep := verify(t, buf.Bytes()); !rep.Valid {
		t.Fatalf("report %+v", rep)
	}
	c.del("s0", "s1", "s199")
	if _, err := Restore(ctx, Node{Addr: addr}, mcdump.NewReader(&buf), Options{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if v, f, _, ok := c.get(it.key); !ok || !bytes.Equal(v, it.value) || f != it.flags {
			t.Fatalf("%s after restore: %v", it.key, ok)
		}
	}
}

func TestTLS(t *testing.T) {
	cert, key := selfSigned(t)
	p := startMemcached(t, "-Z", "-o", "ssl_chain_cert="+cert+",ssl_key="+key)
	trusted, err := NewTLSConfig(cert, false)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, p.Addr, Config{TLS: trusted})

	insecure, _ := NewTLSConfig("", true)
	roundTrip(t, p.Addr, Config{TLS: insecure})

	strict, _ := NewTLSConfig("", false)
	var buf bytes.Buffer
	_, err = Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{Config: Config{TLS: strict}})
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "connect" {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if rep := verify(t, buf.Bytes()); rep.Valid || !rep.Incomplete {
		t.Fatalf("report %+v", rep)
	}
	if _, err := NewTLSConfig(key+".missing", false); err == nil {
		t.Error("missing CA file accepted")
	}
}

func TestASCIIAuth(t *testing.T) {
	file := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(file, []byte("alice:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startMemcached(t, "-Y", file)
	roundTrip(t, p.Addr, Config{Auth: &Auth{Username: "alice", Password: "s3cret"}})

	for _, cfg := range []Config{{}, {Auth: &Auth{Username: "alice", Password: "wrong"}}} {
		var buf bytes.Buffer
		_, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{Config: cfg})
		if err == nil {
			t.Fatalf("dump with %+v succeeded", cfg.Auth)
		}
		t.Logf("auth %+v: %v", cfg.Auth, err)
	}
}

func TestRateLimit(t *testing.T) {
	p := startMemcached(t)
	c := connect(t, p.Addr, Config{})
	var items []item
	for i := 0; i < 300; i++ {
		items = append(items, item{key: "r" + strconv.Itoa(i), value: make([]byte, 1000)})
	}
	c.load(items...)
	for _, o := range []Options{{KeysPerSecond: 1000, Batch: 10}, {BytesPerSecond: 1_000_000, Batch: 10}} {
		var buf bytes.Buffer
		st, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), o)
		if err != nil {
			t.Fatal(err)
		}
		// 300 keys or 300 kB at 1000/s or 1 MB/s: at least 0.3 s less one batch.
		if st.Duration < 250*time.Millisecond || st.Duration > 5*time.Second {
			t.Errorf("%+v took %v", o, st.Duration)
		}
	}
	// Cancellation while paced ends the dump with the context's error and an incomplete dump.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	if _, err := Dump(ctx, Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{KeysPerSecond: 100, Batch: 10}); err != context.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	if rep := verify(t, buf.Bytes()); !rep.Incomplete {
		t.Fatalf("report %+v", rep)
	}
}

// TestPacedDumpListsEverything paces a dump of many keys well below the crawler's speed. When
// Dump read keys while the hash crawl still streamed, the crawler waited on the paced reader
// while holding a bucket lock, and a meta get for a key in that bucket hung for good (memcached
// 1.6.18, nearly every run at this size); the spooled listing must make that impossible.
func TestPacedDumpListsEverything(t *testing.T) {
	p := startMemcached(t)
	c := connect(t, p.Addr, Config{})
	var items []item
	for i := 0; i < 200000; i++ {
		items = append(items, item{key: "paced:" + strconv.Itoa(i) + ":padding-to-make-the-listing-longer", value: []byte("v")})
	}
	c.load(items...)
	var buf bytes.Buffer
	st, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{KeysPerSecond: 150000, Config: Config{IOTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Listed != int64(len(items)) || st.Dumped != st.Listed || st.Duration < time.Second {
		t.Fatalf("stats %+v", st)
	}
}
