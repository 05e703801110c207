package statemachine

// Encode returns the envelope bytes of cmd: [FormatVersion][op][payload].
func Encode(cmd Command) []byte { panic("TODO: implemented by the statemachine helper") }

// Decode parses an envelope. It never panics: malformed, truncated or
// unknown input returns an error wrapping ErrMalformed or ErrUnknownOp.
func Decode(b []byte) (Command, error) { panic("TODO") }

// EncodeResult and DecodeResult carry Result in sm.Result.Data.
func EncodeResult(r Result) []byte { panic("TODO") }

// DecodeResult parses the bytes EncodeResult produced.
func DecodeResult(b []byte) (Result, error) { panic("TODO") }
