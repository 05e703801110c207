// Package batchtest builds Kafka record-batch payloads for the state
// machines' tests. Only test files import it.
package batchtest

import "encoding/binary"

// Records encodes n uncompressed v2 records (null keys, no headers) with
// valueSize-byte values derived from seed: the records section of a
// RecordBatch.
func Records(n, valueSize int, seed int64) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, int64(i)) // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // null key
		body = binary.AppendVarint(body, int64(valueSize))
		for j := 0; j < valueSize; j++ {
			body = append(body, byte(seed+int64(i*7+j)))
		}
		body = binary.AppendVarint(body, 0) // headers
		out = binary.AppendVarint(out, int64(len(body)))
		out = append(out, body...)
	}
	return out
}
