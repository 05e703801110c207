package kafka

// InitProducerID: v0-5
//
// Behavior:
//   - One RecordService.InitProducerID call, bounded by readTimeout. An
//     idempotent producer (null TransactionalID) may ask any broker, as kgo
//     does; from v3 it may pass its current ProducerID/ProducerEpoch to have
//     the epoch bumped instead of getting a new ID.
//   - A non-null TransactionalID is refused by the service with
//     datapath.ErrTransactionsDisabled -> TRANSACTIONAL_ID_AUTHORIZATION_FAILED
//     (errors.go). TransactionTimeoutMillis is ignored.
//   - On error ProducerID and ProducerEpoch are -1 (Kafka).
//
// Version notes:
//   - v1: no changes; v2: flexible; v3: ProducerID/ProducerEpoch in the
//     request (KIP-360); v4: PRODUCER_FENCED may be returned; v5: no changes
//     (KIP-890 client signal)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerData(kmsg.InitProducerID, 0, 5, (*Server).handleInitProducerID) }

func (s *Server) handleInitProducerID(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.InitProducerIDRequest)
	ctx, cancel := readContext(ctx)
	defer cancel()

	id, epoch, err := s.cfg.Records.InitProducerID(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	if err != nil {
		resp.ErrorCode = s.errCode(kmsg.InitProducerID, err)
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, epoch
	return resp, nil
}
