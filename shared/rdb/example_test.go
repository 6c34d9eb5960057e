package rdb_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc64"
	"io"

	"github.com/cacheport/cacheport/shared/rdb"
)

// file is a tiny RDB: one key "k" holding "v" in database 0.
func file() []byte {
	b := []byte("REDIS0010\xfe\x00\x00\x01k\x01v\xff")
	crc := ^crc64.Update(^uint64(0), crc64.MakeTable(0x95AC9329AC4BC9B5), b)
	return binary.LittleEndian.AppendUint64(b, crc)
}

func ExampleReader() {
	r := rdb.NewReader(bytes.NewReader(file()))
	defer r.Close()
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("invalid:", err)
			return
		}
		fmt.Printf("db %d key %s type %s\n", e.DB, e.Key, e.Type)
	}
	fmt.Println("checksum", r.Checksum())
	// Output:
	// db 0 key k type string
	// checksum ok
}

func ExampleVerify() {
	rep, err := rdb.Verify(bytes.NewReader(file()))
	if err != nil {
		fmt.Println("read error:", err)
		return
	}
	fmt.Println(rep.Valid, rep.Dialect, rep.RDBVersion, rep.Keys, rep.Checksum)
	// Output: true redis 10 1 ok
}
