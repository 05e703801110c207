package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KafkaVersion is the Apache Kafka release that --compare kafka runs.
const KafkaVersion = "4.1.1"

// kafkaHeap is each Kafka JVM's heap, kafka-server-start.sh's default.
const kafkaHeap = "1G"

// kafkaJVMFlags are kafka-run-class.sh's default performance flags.
var kafkaJVMFlags = []string{
	"-Xms" + kafkaHeap, "-Xmx" + kafkaHeap,
	"-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
	"-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
}

// kafkaPOM lists the jars of a Kafka broker: kafka_2.13 and its runtime
// dependencies, plus a log4j2 binding for slf4j so that the brokers' errors
// reach their logs (log4j2's default configuration: ERROR to the console).
const kafkaPOM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.skiff.bench</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>` + KafkaVersion + `</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
`

// kafkaJars returns the directory that holds Apache Kafka's jars, fetching
// them once through Maven (mvn dependency:copy-dependencies) into
// $SKIFF_KAFKA_JARS, default <user cache dir>/skiff/kafka-<version>/libs.
func kafkaJars(ctx context.Context) (string, error) {
	dir := os.Getenv("SKIFF_KAFKA_JARS")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for Kafka's jars (set SKIFF_KAFKA_JARS): %w", err)
		}
		dir = filepath.Join(cache, "skiff", "kafka-"+KafkaVersion, "libs")
	}
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("--compare kafka fetches Apache Kafka's jars with Maven once, and mvn is not on PATH: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), "fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, "pom.xml"), []byte(kafkaPOM), 0o644); err != nil {
		return "", err
	}
	libs := filepath.Join(work, "libs")
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-ntp", "dependency:copy-dependencies",
		"-DincludeScope=runtime", "-DoutputDirectory="+libs)
	cmd.Dir = work
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("fetching Kafka %s's jars with mvn: %w\n%s", KafkaVersion, err, out.String())
	}
	if err := os.WriteFile(filepath.Join(libs, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dir) // a partial earlier fetch
	if err := os.Rename(libs, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// javaBin is $JAVA_HOME/bin/java, or java on PATH.
func javaBin() (string, error) {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		if p := filepath.Join(h, "bin", "java"); fileExists(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("--compare kafka runs Apache Kafka, which needs java 17+ on PATH: %w", err)
	}
	return p, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// kafkaNode is one combined broker+controller process.
type kafkaNode struct {
	id         int
	kafkaAddr  string
	ctrlAddr   string
	dir        string
	cmd        *exec.Cmd
	done       chan struct{}
	waitErr    error
	logPath    string
	properties string
}

// kafkaCluster is an Apache Kafka cluster in KRaft mode: n combined
// broker+controller JVMs on loopback in a temporary directory.
type kafkaCluster struct {
	root  string
	nodes []*kafkaNode
}

// kafkaProperties are the server.properties of node id; fsync makes every
// append reach the disk before it counts as written (flush.messages=1 on
// every topic, through log.flush.interval.messages).
func kafkaProperties(id int, kafkaAddr, ctrlAddr, voters, logDir string, fsync bool) string {
	var b strings.Builder
	p := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, v) }
	p("process.roles", "broker,controller")
	p("node.id", fmt.Sprint(id))
	p("controller.quorum.voters", voters)
	p("listeners", "PLAINTEXT://"+kafkaAddr+",CONTROLLER://"+ctrlAddr)
	p("advertised.listeners", "PLAINTEXT://"+kafkaAddr)
	p("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT")
	p("controller.listener.names", "CONTROLLER")
	p("inter.broker.listener.name", "PLAINTEXT")
	p("log.dirs", logDir)
	// The same defaults as a Skiff cluster: one partition and three
	// replicas for a new topic, three replicas for __consumer_offsets,
	// and a write needs a majority (acks=all still waits for every
	// in-sync replica in Kafka).
	p("num.partitions", "1")
	p("default.replication.factor", "3")
	p("min.insync.replicas", "2")
	p("offsets.topic.replication.factor", "3")
	p("transaction.state.log.replication.factor", "3")
	p("transaction.state.log.min.isr", "2")
	p("auto.create.topics.enable", "true")
	if fsync {
		p("log.flush.interval.messages", "1")
	}
	return b.String()
}

// startKafka formats and starts an n-node Kafka cluster and waits until
// every broker lists all n brokers in its Metadata.
func startKafka(ctx context.Context, n int, fsync bool) (_ *kafkaCluster, err error) {
	java, err := javaBin()
	if err != nil {
		return nil, err
	}
	jars, err := kafkaJars(ctx)
	if err != nil {
		return nil, err
	}
	cp := filepath.Join(jars, "*")
	root, err := os.MkdirTemp("", "skiff-bench-kafka-")
	if err != nil {
		return nil, err
	}
	c := &kafkaCluster{root: root}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w%s", err, c.logTails())
			c.close()
		}
	}()
	var voters []string
	for i := range n {
		k := &kafkaNode{id: i + 1, dir: filepath.Join(root, fmt.Sprintf("node%d", i+1))}
		if k.kafkaAddr, err = freeLoopbackAddr(); err != nil {
			return c, err
		}
		if k.ctrlAddr, err = freeLoopbackAddr(); err != nil {
			return c, err
		}
		k.logPath = filepath.Join(k.dir, "kafka.log")
		voters = append(voters, fmt.Sprintf("%d@%s", k.id, k.ctrlAddr))
		c.nodes = append(c.nodes, k)
	}
	var idb [16]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return c, err
	}
	clusterID := base64.RawURLEncoding.EncodeToString(idb[:])
	for _, k := range c.nodes {
		if err := os.MkdirAll(k.dir, 0o755); err != nil {
			return c, err
		}
		k.properties = filepath.Join(k.dir, "server.properties")
		props := kafkaProperties(k.id, k.kafkaAddr, k.ctrlAddr, strings.Join(voters, ","), filepath.Join(k.dir, "data"), fsync)
		if err := os.WriteFile(k.properties, []byte(props), 0o644); err != nil {
			return c, err
		}
	}
	// kafka-storage.sh format, every node at once.
	errs := make(chan error, n)
	for _, k := range c.nodes {
		go func() {
			cmd := exec.CommandContext(ctx, java, "-cp", cp, "kafka.tools.StorageTool",
				"format", "-t", clusterID, "-c", k.properties)
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("formatting Kafka node %d: %w\n%s", k.id, err, out)
			}
			errs <- err
		}()
	}
	for range n {
		if e := <-errs; e != nil {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		return c, err
	}
	for _, k := range c.nodes {
		log, err := os.Create(k.logPath)
		if err != nil {
			return c, err
		}
		args := append(append([]string{}, kafkaJVMFlags...), "-cp", cp, "kafka.Kafka", k.properties)
		k.cmd = exec.Command(java, args...)
		k.cmd.Dir = k.dir
		k.cmd.Stdout, k.cmd.Stderr = log, log
		if err := k.cmd.Start(); err != nil {
			log.Close()
			return c, err
		}
		log.Close() // the child holds its own descriptor
		k.done = make(chan struct{})
		go func() {
			k.waitErr = k.cmd.Wait()
			close(k.done)
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, k := range c.nodes {
		if err := c.waitBrokers(ctx, k, n, deadline); err != nil {
			return c, err
		}
	}
	return c, nil
}

// waitBrokers waits until node k's Metadata lists n brokers.
func (c *kafkaCluster) waitBrokers(ctx context.Context, k *kafkaNode, n int, deadline time.Time) error {
	var last error
	for {
		select {
		case <-k.done:
			return fmt.Errorf("Kafka node %d exited: %v", k.id, k.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Kafka node %d at %s not ready (listing %d brokers) within 2m: %v", k.id, k.kafkaAddr, n, last)
		}
		last = func() error {
			p, err := newPinned(k.kafkaAddr)
			if err != nil {
				return err
			}
			defer p.close()
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			req := kmsg.NewPtrMetadataRequest()
			req.Topics = []kmsg.MetadataRequestTopic{}
			kresp, err := p.request(rctx, req)
			if err != nil {
				return err
			}
			if got := len(kresp.(*kmsg.MetadataResponse).Brokers); got < n {
				return fmt.Errorf("%d brokers", got)
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *kafkaCluster) addrs() []string {
	out := make([]string, len(c.nodes))
	for i, k := range c.nodes {
		out[i] = k.kafkaAddr
	}
	return out
}

// close stops every node (SIGTERM, then SIGKILL after 30 s) and removes the
// cluster's directory.
func (c *kafkaCluster) close() {
	for _, k := range c.nodes {
		if k.cmd != nil && k.done != nil {
			_ = k.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, k := range c.nodes {
		if k.cmd == nil || k.done == nil {
			continue
		}
		select {
		case <-k.done:
		case <-time.After(30 * time.Second):
			_ = k.cmd.Process.Kill()
			<-k.done
		}
	}
	os.RemoveAll(c.root)
}

// logTails returns the last lines of each node's log, for an error.
func (c *kafkaCluster) logTails() string {
	var b strings.Builder
	for _, k := range c.nodes {
		data, err := os.ReadFile(k.logPath)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		lines = lines[max(0, len(lines)-15):]
		fmt.Fprintf(&b, "\n--- Kafka node %d log (last lines) ---\n%s", k.id, strings.Join(lines, "\n"))
	}
	return b.String()
}

// freeLoopbackAddr returns a free loopback address whose port is below the
// ephemeral range, so that no outgoing connection takes it in the seconds
// between this check and the Kafka node's bind (the format step runs in
// between).
func freeLoopbackAddr() (string, error) {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 12000 {
				lo = v
			}
		}
	}
	for range 1000 {
		port := 10000 + mrand.IntN(lo-10000-1)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr, nil
	}
	return "", errors.New("no free loopback port below the ephemeral range")
}

// kafkaWarmUpRecords is how many 1 KiB records the JVM warm-up of a Kafka
// target produces and reads back before any measured run.
const kafkaWarmUpRecords = 30000

// kafkaWarmUp runs Kafka's hot paths before the clock of any bench starts,
// so that the JVMs' JIT compilers have compiled them (Skiff is compiled
// ahead of time): it creates and deletes 30 topics of 3 partitions,
// produces kafkaWarmUpRecords records of 1 KiB with acks=all and reads them
// back, and deletes that topic.
func kafkaWarmUp(ctx context.Context, brokers []string) error {
	prefix := "bench-jvm-warmup-" + randHex(4)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(prefix),
		kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var small []string
	for i := range 30 {
		small = append(small, fmt.Sprintf("%s-%d", prefix, i))
	}
	for _, name := range small {
		if _, err := adm.CreateTopic(ctx, 3, 3, nil, name); err != nil {
			return fmt.Errorf("warm-up create: %w", err)
		}
	}
	if _, err := adm.DeleteTopics(ctx, small...); err != nil {
		return fmt.Errorf("warm-up delete: %w", err)
	}
	if err := createAndWait(ctx, brokers, prefix, 6, 3); err != nil {
		return fmt.Errorf("warm-up topic: %w", err)
	}
	val := payloads(1024)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for i := range kafkaWarmUpRecords {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: val[i%len(val)]}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("warm-up produce: %w", *e)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(prefix),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cons.Close()
	for got := 0; got < kafkaWarmUpRecords+6; { // plus createAndWait's record per partition
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return fmt.Errorf("warm-up consume: %w", errs[0].Err)
		}
		got += fs.NumRecords()
	}
	if _, err := adm.DeleteTopics(ctx, prefix); err != nil {
		return fmt.Errorf("warm-up delete: %w", err)
	}
	return nil
}
