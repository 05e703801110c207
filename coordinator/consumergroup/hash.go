package consumergroup

import "unicode/utf16"

// JavaHashCode is Java's String.hashCode of s: over UTF-16 code units,
// h = 31*h + c, wrapping in 32 bits.
func JavaHashCode(s string) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(c)
	}
	return h
}

// PartitionFor is the __consumer_offsets partition of group among n:
// Kafka's Utils.abs(groupId.hashCode) % n, so that Skiff and Kafka tools
// agree on where a group lives.
func PartitionFor(group string, n int32) int32 {
	if n <= 0 {
		return 0
	}
	h := JavaHashCode(group)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % n
}
