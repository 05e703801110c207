package kafka

import (
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func TestKafkaDescribeConfigs(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.fake.put("c", false, 1)
	_, adm := ts.clients(t)
	ctx := testCtx(t)

	rcs, err := adm.DescribeTopicConfigs(ctx, "c", "ghost")
	if err != nil {
		t.Fatal(err)
	}
	c, err := rcs.On("c", nil)
	if err != nil || c.Err != nil || len(c.Configs) != len(fakeTopicDefaults) {
		t.Fatalf("topic c: %+v, %v", c, err)
	}
	for _, cfg := range c.Configs {
		switch cfg.Key {
		case "retention.ms":
			if cfg.Value == nil || *cfg.Value != "604800000" || cfg.Source != kmsg.ConfigSourceDefaultConfig {
				t.Errorf("retention.ms: %+v", cfg)
			}
		case "sasl.secret":
			if !cfg.Sensitive || cfg.Value != nil {
				t.Errorf("sensitive: %+v", cfg)
			}
		}
	}
	if g, _ := rcs.On("ghost", nil); !errors.Is(g.Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("ghost: %v", g.Err)
	}

	brs, err := adm.DescribeBrokerConfigs(ctx, testNode)
	if err != nil {
		t.Fatal(err)
	}
	if len(brs) != 1 || brs[0].Err != nil || len(brs[0].Configs) != 2 {
		t.Fatalf("broker configs: %+v", brs)
	}

	// Key filter, synonyms, documentation, and a broker that is not us.
	rc := dialRaw(t, ts.addr)
	resp := rc.roundTrip(&kmsg.DescribeConfigsRequest{Version: 4, IncludeSynonyms: true, IncludeDocumentation: true,
		Resources: []kmsg.DescribeConfigsRequestResource{
			{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "c", ConfigNames: []string{"cleanup.policy", "no.such.key"}},
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "7"},
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: ""},
			{ResourceType: kmsg.ConfigResourceTypeBrokerLogger, ResourceName: "1"},
		}}).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 4 {
		t.Fatalf("%d resources", len(resp.Resources))
	}
	topic := resp.Resources[0]
	if topic.ErrorCode != 0 || len(topic.Configs) != 1 {
		t.Fatalf("filtered topic: %+v", topic)
	}
	cp := topic.Configs[0]
	if cp.Name != "cleanup.policy" || cp.Documentation == nil || *cp.Documentation != "The retention policy." ||
		cp.ConfigType != kmsg.ConfigTypeList || len(cp.ConfigSynonyms) != 1 || cp.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("cleanup.policy: %+v", cp)
	}
	if r := resp.Resources[1]; r.ErrorCode != kerr.InvalidRequest.Code || r.ErrorMessage == nil {
		t.Errorf("other broker: %+v", r)
	}
	if r := resp.Resources[2]; r.ErrorCode != 0 || len(r.Configs) != 2 || !r.Configs[0].ReadOnly {
		t.Errorf("default broker resource: %+v", r)
	}
	if r := resp.Resources[3]; r.ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("broker logger: %+v", r)
	}
}

func TestKafkaIncrementalAlterConfigs(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.fake.put("c", false, 1)
	_, adm := ts.clients(t)
	ctx := testCtx(t)

	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("1000")},
		{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("compact")},
	}, "c", "ghost")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resps {
		switch {
		case r.Name == "c" && r.Err != nil:
			t.Errorf("alter c: %v", r.Err)
		case r.Name == "ghost" && !errors.Is(r.Err, kerr.UnknownTopicOrPartition):
			t.Errorf("alter ghost: %v", r.Err)
		}
	}
	var last []topics.AlterSpec
	ts.fake.with(func() { last = ts.fake.lastAlter })
	if len(last) != 2 || last[0].Replace || len(last[0].Ops) != 2 || last[0].Ops[0].Op != topics.OpSet {
		t.Fatalf("specs %+v", last)
	}
	if got := ts.fake.get("c").Configs; !slices.Equal(got, []topics.ConfigEntry{{Key: "cleanup.policy", Value: "compact"}, {Key: "retention.ms", Value: "1000"}}) {
		t.Errorf("configs after set: %v", got)
	}

	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "retention.ms"}}, "c"); err != nil {
		t.Fatal(err)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range rcs[0].Configs {
		if cfg.Key == "retention.ms" && cfg.Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("retention.ms after delete: %+v", cfg)
		}
		if cfg.Key == "cleanup.policy" && (cfg.Source != kmsg.ConfigSourceDynamicTopicConfig || *cfg.Value != "compact") {
			t.Errorf("cleanup.policy after delete: %+v", cfg)
		}
	}

	// Broker configs are read-only; an unknown op passes through to the
	// service, which refuses it (topics' tests).
	br, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "num.partitions", Value: kmsg.StringPtr("3")}}, testNode)
	if err != nil {
		t.Fatal(err)
	}
	if len(br) != 1 || !errors.Is(br[0].Err, kerr.InvalidRequest) || br[0].ErrMessage != "broker configs are read-only" {
		t.Errorf("alter broker: %+v", br)
	}
	rc := dialRaw(t, ts.addr)
	resp := rc.roundTrip(&kmsg.IncrementalAlterConfigsRequest{Version: 1, Resources: []kmsg.IncrementalAlterConfigsRequestResource{
		{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "c", Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "x", Op: 9}}},
	}}).(*kmsg.IncrementalAlterConfigsResponse)
	if len(resp.Resources) != 1 || resp.Resources[0].ResourceName != "c" {
		t.Errorf("bad op: %+v", resp.Resources)
	}
	var sent []topics.AlterSpec
	ts.fake.with(func() { sent = ts.fake.lastAlter })
	if len(sent) != 1 || sent[0].Name != "c" || len(sent[0].Ops) != 1 || sent[0].Ops[0].Op != 9 || sent[0].Ops[0].Key != "x" {
		t.Errorf("bad op did not reach the service as sent: %+v", sent)
	}
}

func TestKafkaAlterConfigs(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.fake.put("c", false, 1)
	_, adm := ts.clients(t)
	ctx := testCtx(t)

	resps, err := adm.ValidateAlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kmsg.StringPtr("5")}}, "c")
	if err != nil || resps[0].Err != nil {
		t.Fatalf("validate: %+v %v", resps, err)
	}
	var (
		last         []topics.AlterSpec
		validateOnly bool
	)
	ts.fake.with(func() { last, validateOnly = ts.fake.lastAlter, ts.fake.lastAlterV })
	if !validateOnly || len(last) != 1 || !last[0].Replace || len(ts.fake.get("c").Configs) != 0 {
		t.Fatalf("validate-only alter: %+v validate=%v", last, validateOnly)
	}
	if _, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kmsg.StringPtr("5")}}, "c"); err != nil {
		t.Fatal(err)
	}
	if got := ts.fake.get("c").Configs; len(got) != 1 || got[0].Value != "5" {
		t.Errorf("configs %v", got)
	}
	br, err := adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "num.partitions", Value: kmsg.StringPtr("3")}}, testNode)
	if err != nil {
		t.Fatal(err)
	}
	if len(br) != 1 || !errors.Is(br[0].Err, kerr.InvalidRequest) {
		t.Errorf("alter broker: %+v", br)
	}
}

func TestKafkaDescribeCluster(t *testing.T) {
	ts := newTestServer(t, nil)
	cl, _ := ts.clients(t)
	req := kmsg.NewPtrDescribeClusterRequest()
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 || resp.ClusterID != "skiff-test" || resp.ControllerID != testNode || len(resp.Brokers) != 1 {
		t.Fatalf("describe cluster: %+v", resp)
	}
	req.IncludeFencedBrokers = true
	resp, err = req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 2 || resp.Brokers[0].IsFenced || !resp.Brokers[1].IsFenced {
		t.Errorf("with fenced: %+v", resp.Brokers)
	}
	req.EndpointType = 2
	resp, err = req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedEndpointType.Code {
		t.Errorf("controllers endpoint: %s", kerr.ErrorForCode(resp.ErrorCode))
	}
}
