package kafka

// DescribeCluster: v0-2
//
// Behavior:
//   - One Describe (brokers only). Lists the alive brokers, and with
//     IncludeFencedBrokers (v2+) also the others, marked IsFenced.
//   - ControllerID is the metadata Raft leader's broker ID, -1 if unknown.
//   - A failed read is reported in the top-level ErrorCode.
//   - Authorized operations are not computed (no ACLs).
//
// Version notes:
//   - v1: EndpointType; only brokers (1) are served, controllers (2) get
//     UNSUPPORTED_ENDPOINT_TYPE as on a Kafka broker
//   - v2: IncludeFencedBrokers, IsFenced

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.DescribeCluster, 0, 2, (*Server).handleDescribeCluster) }

// endpointTypeBrokers is DescribeCluster's EndpointType for brokers.
const endpointTypeBrokers int8 = 1

func (s *Server) handleDescribeCluster(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = req.EndpointType
	resp.ClusterID = s.cfg.ClusterID
	if req.Version >= 1 && req.EndpointType != endpointTypeBrokers {
		resp.ErrorCode = s.countCode(kmsg.DescribeCluster, kerr.UnsupportedEndpointType.Code)
		return resp, nil
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	view, err := s.cfg.Topics.Describe(ctx, topics.Query{})
	if err != nil {
		resp.ErrorCode = s.errCode(kmsg.DescribeCluster, err)
		resp.ErrorMessage = errorMessage(err)
		return resp, nil
	}
	resp.ControllerID = s.cfg.Cluster.ControllerID()
	for _, b := range view.Brokers {
		if !b.Alive && !req.IncludeFencedBrokers {
			continue
		}
		ep, ok := brokerEndpoint(b)
		if !ok {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = b.ID, ep.host, ep.port, ep.rack
		rb.IsFenced = !b.Alive
		resp.Brokers = append(resp.Brokers, rb)
	}
	return resp, nil
}
