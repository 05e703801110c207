//go:build !unix

package bench

func fdHeadroom() (int64, bool) { return 0, false }
