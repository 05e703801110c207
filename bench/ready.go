package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// pinned is a client whose requests all go to one broker address.
type pinned struct {
	addr string
	cl   *kgo.Client
}

func newPinned(addr string) (*pinned, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(3))
	if err != nil {
		return nil, err
	}
	return &pinned{addr: addr, cl: cl}, nil
}

func (p *pinned) request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	return p.cl.SeedBrokers()[0].Request(ctx, req)
}

func (p *pinned) close() { p.cl.Close() }

// metadataBatch is how many topics one readiness Metadata request names.
const metadataBatch = 2000

// notLed asks the broker at p for names and returns those that are not
// yet listed with partitions partitions, each with a leader.
func notLed(ctx context.Context, p *pinned, names []string, partitions int32) ([]string, error) {
	var out []string
	for len(names) > 0 {
		chunk := names[:min(len(names), metadataBatch)]
		names = names[len(chunk):]
		req := kmsg.NewPtrMetadataRequest()
		req.Topics = make([]kmsg.MetadataRequestTopic, len(chunk))
		for i, n := range chunk {
			req.Topics[i] = kmsg.NewMetadataRequestTopic()
			req.Topics[i].Topic = kmsg.StringPtr(n)
		}
		kresp, err := p.request(ctx, req)
		if err != nil {
			return nil, err
		}
		resp := kresp.(*kmsg.MetadataResponse)
		led := make(map[string]bool, len(resp.Topics))
		for _, t := range resp.Topics {
			if t.Topic == nil || t.ErrorCode != 0 || int32(len(t.Partitions)) != partitions {
				continue
			}
			ok := true
			for _, pt := range t.Partitions {
				if (pt.ErrorCode != 0 && pt.ErrorCode != kerr.ReplicaNotAvailable.Code) || pt.Leader < 0 {
					ok = false
					break
				}
			}
			led[*t.Topic] = ok
		}
		for _, n := range chunk {
			if !led[n] {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// readyTimes is how long each readiness step took.
type readyTimes struct {
	metadata time.Duration // until every broker listed every topic with leaders
	produce  time.Duration // one record to each partition, acks=all
}

// waitReady returns once every broker's Metadata lists every topic of names
// with partitions partitions, each with a leader, and one record produced
// to each partition (acks=all) was acknowledged.
func waitReady(ctx context.Context, brokers []string, names []string, partitions int32, status func(string)) (readyTimes, error) {
	var rt readyTimes
	if len(names) == 0 {
		return rt, nil
	}
	start := time.Now()
	for i, addr := range brokers {
		p, err := newPinned(addr)
		if err != nil {
			return rt, err
		}
		left := names
		for len(left) > 0 {
			status(fmt.Sprintf("metadata: broker %d/%d, %d of %d topics not ready", i+1, len(brokers), len(left), len(names)))
			left, err = notLed(ctx, p, left, partitions)
			if err != nil {
				p.close()
				return rt, fmt.Errorf("metadata from %s: %w", addr, err)
			}
			if len(left) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				p.close()
				return rt, fmt.Errorf("metadata from %s: %d topics still without leaders (first %q): %w", addr, len(left), left[0], ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
		p.close()
	}
	rt.metadata = time.Since(start)

	start = time.Now()
	status(fmt.Sprintf("producing one record to each of %d partitions", int64(len(names))*int64(partitions)))
	if err := produceEach(ctx, brokers, names, partitions); err != nil {
		return rt, err
	}
	rt.produce = time.Since(start)
	return rt, nil
}

// readyProducers is how many clients the readiness check produces with,
// each to its share of the topics. One idempotent franz-go client keeps
// one Produce request in flight per broker, so a single client leaves
// each broker's Raft pipeline idle while a request's consensus rounds
// run; several keep it busy (the requests' metadata reads and proposals
// overlap).
const readyProducers = 4

// produceEach produces one record to each partition of every topic of
// names (acks=all) and returns the first failure.
func produceEach(ctx context.Context, brokers []string, names []string, partitions int32) error {
	n := min(readyProducers, len(names))
	errs := make([]error, n)
	var wg sync.WaitGroup
	value := []byte("ready")
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
				kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.RequiredAcks(kgo.AllISRAcks()),
				kgo.ProducerLinger(0),
				kgo.MaxBufferedRecords(1<<16),
			)
			if err != nil {
				errs[i] = err
				return
			}
			defer cl.Close()
			var recs []*kgo.Record
			for j := i; j < len(names); j += n {
				for p := range partitions {
					recs = append(recs, &kgo.Record{Topic: names[j], Partition: p, Value: value})
				}
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				errs[i] = fmt.Errorf("produce to each partition: %w", err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitPreferred waits, at most timeout, until every partition of topic
// is led by its preferred replica (the first one) as the broker at addr
// reports it. A new Skiff cluster hands each new data group's leadership
// to its preferred leader a second or so after the group's first
// election; a client that saw the earlier leader gets
// NOT_LEADER_OR_FOLLOWER and, with franz-go's default MetadataMinAge,
// stalls for up to 5 s. Warm-ups wait for this so that it stays out of the
// measured runs. It reports whether the leaders settled.
func waitPreferred(ctx context.Context, addr, topic string, timeout time.Duration) (bool, error) {
	p, err := newPinned(addr)
	if err != nil {
		return false, err
	}
	defer p.close()
	deadline := time.Now().Add(timeout)
	for {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		kresp, err := p.request(ctx, req)
		if err != nil {
			return false, err
		}
		settled := true
		for _, t := range kresp.(*kmsg.MetadataResponse).Topics {
			if t.ErrorCode != 0 || len(t.Partitions) == 0 {
				settled = false
			}
			for _, pt := range t.Partitions {
				if len(pt.Replicas) == 0 || pt.Leader != pt.Replicas[0] {
					settled = false
				}
			}
		}
		if settled {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// discoverBrokers asks the first reachable seed for the cluster's brokers
// and returns their advertised addresses, so that readiness is checked on
// every broker even when --brokers names only some.
func discoverBrokers(ctx context.Context, seeds []string) ([]string, error) {
	var last error
	for _, s := range seeds {
		p, err := newPinned(s)
		if err != nil {
			return nil, err
		}
		req := kmsg.NewPtrMetadataRequest()
		req.Topics = []kmsg.MetadataRequestTopic{} // none
		kresp, err := p.request(ctx, req)
		p.close()
		if err != nil {
			last = err
			continue
		}
		var out []string
		for _, b := range kresp.(*kmsg.MetadataResponse).Brokers {
			out = append(out, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("no broker of %v answered Metadata: %v", seeds, last)
}
