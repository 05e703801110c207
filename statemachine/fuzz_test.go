package statemachine

import (
	"reflect"
	"testing"
)

// FuzzSMDecode: Decode never panics, and whatever decodes re-encodes to
// bytes that decode to an equal command.
func FuzzSMDecode(f *testing.F) {
	for _, tc := range sampleCommands() {
		f.Add(Encode(tc.cmd))
	}
	f.Add([]byte{})
	f.Add([]byte{FormatVersion, byte(OpBatch), 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{FormatVersion, byte(OpBatch), 1, 2, FormatVersion, byte(OpBatch)})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeResult(b)
		c, err := Decode(b)
		if err != nil {
			if c != nil {
				t.Fatalf("command %#v with error %v", c, err)
			}
			return
		}
		b2 := Encode(c)
		c2, err := Decode(b2)
		if err != nil {
			t.Fatalf("re-encoded %#v does not decode: %v", c, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-decoded command differs:\n%#v\n%#v", c, c2)
		}
	})
}
