package bench

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestBenchKafkaTargets(t *testing.T) {
	o := Options{Compare: []string{"kfake,kafka", "kafka-fsync", "kafka"}}
	o.defaults()
	got, err := o.targets(false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{TargetSkiff, TargetKfake, TargetKafka, TargetKafkaFsync}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("targets = %v, want %v", got, want)
	}
	o = Options{Compare: []string{"kafka-nosuch"}}
	o.defaults()
	if _, err := o.targets(false); err == nil || !strings.Contains(err.Error(), "kafka-fsync") {
		t.Errorf("unknown target: err = %v, want one that lists kafka-fsync", err)
	}
}

func TestBenchKafkaProperties(t *testing.T) {
	plain := kafkaProperties(2, "127.0.0.1:1", "127.0.0.1:2", "1@a:1,2@b:2,3@c:3", "/d", false)
	for _, want := range []string{
		"process.roles=broker,controller\n", "node.id=2\n", "controller.quorum.voters=1@a:1,2@b:2,3@c:3\n",
		"listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2\n", "advertised.listeners=PLAINTEXT://127.0.0.1:1\n",
		"log.dirs=/d\n", "default.replication.factor=3\n", "offsets.topic.replication.factor=3\n",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("properties lack %q:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "flush") {
		t.Errorf("Kafka's default run sets a flush policy:\n%s", plain)
	}
	fsync := kafkaProperties(2, "127.0.0.1:1", "127.0.0.1:2", "1@a:1", "/d", true)
	if !strings.Contains(fsync, "log.flush.interval.messages=1\n") {
		t.Errorf("kafka-fsync properties lack log.flush.interval.messages=1:\n%s", fsync)
	}
}

// TestBenchKafkaConsume runs bench consume against Skiff and a real Apache
// Kafka cluster (three JVMs). It needs java 17+ and mvn (the first run
// fetches Kafka's jars into the user cache); without them it is skipped.
func TestBenchKafkaConsume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Kafka JVMs")
	}
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("--compare kafka needs %s on PATH", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunConsume(ctx, RecordsConfig{
		Options:    Options{Compare: []string{"kafka-fsync"}},
		Partitions: 3,
		RecordSize: 100,
		Records:    2000,
		Acks:       "all",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Records) != 4 {
		t.Fatalf("got %d results, want produce and consume for skiff and kafka-fsync", len(rep.Records))
	}
	for _, r := range rep.Records {
		switch r.Phase {
		case "produce":
			if r.Records != 2000 || r.Errors != 0 || r.Latency == nil {
				t.Errorf("%s produce: %+v", r.Target, r)
			}
		case "consume":
			if r.Records != 2000+3+1 || r.Errors != 0 || r.RecordsPerSec <= 0 {
				t.Errorf("%s consume: %+v", r.Target, r)
			}
		}
	}
	if r := rep.Records[2]; r.Target != TargetKafkaFsync || !strings.Contains(r.Cluster, "Apache Kafka "+KafkaVersion) ||
		!strings.Contains(r.Cluster, "fsync per append") {
		t.Errorf("third result: %+v", r)
	}
	if len(rep.Ratios) == 0 || rep.Ratios[0].To != TargetKafkaFsync {
		t.Errorf("ratios: %+v", rep.Ratios)
	}
	roundTrip(t, rep)
}
