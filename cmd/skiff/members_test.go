package main

import (
	"strings"
	"testing"
)

func TestCmdParseMembers(t *testing.T) {
	cases := []struct {
		in      string
		want    map[uint64]string
		wantErr string
	}{
		{"", nil, ""},
		{"1=127.0.0.1:7946", map[uint64]string{1: "127.0.0.1:7946"}, ""},
		{"1=a:1, 2=b:2 ,3=c:3", map[uint64]string{1: "a:1", 2: "b:2", 3: "c:3"}, ""},
		{"1=a:1,1=b:2", nil, "appears twice"},
		{"0=a:1", nil, "positive"},
		{"x=a:1", nil, "positive"},
		{"1a:1", nil, "ID=HOST:PORT"},
		{"1=a", nil, "bad address"},
		{"1=:80", nil, "bad address"},
		{"1=a:1,", nil, "ID=HOST:PORT"},
	}
	for _, tc := range cases {
		got, err := parseMembers(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}
