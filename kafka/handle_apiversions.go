package kafka

// ApiVersions: v0-4
//
// Behavior:
//   - Lists exactly the registered APIs and version ranges (dispatch.go), so
//     clients only use what this server implements, with Kafka 4's one
//     exception: Produce is listed from v0 though served from v3
//     (KAFKA-18659, for librdkafka's compression check). The data APIs
//     (Produce, Fetch, ...) are listed only when the server has a
//     RecordService.
//   - A version above ours is answered at v0 with UNSUPPORTED_VERSION and the
//     full list; the client then retries with a version we support (KIP-511).
//     The request body is not decoded in that case (conn.go).
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: flexible; ClientSoftwareName/Version (ignored)
//   - v4: no changes (KIP-896 marks v0-2 deprecated)
//   - v5: not offered; it is meant for broker-to-controller requests.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ApiVersions, 0, 4, (*Server).handleApiVersions) }

func (s *Server) handleApiVersions(_ context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version > lookupAPI(kmsg.ApiVersions.Int16(), 0).maxV {
		resp.Version = 0
		resp.ErrorCode = s.countCode(kmsg.ApiVersions, kerr.UnsupportedVersion.Code)
	}
	resp.ApiKeys = registeredAPIs(s.features())
	return resp, nil
}
