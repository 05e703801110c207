package dev.skiff.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Kafka's Admin client against Skiff. */
@ExtendWith(SkiffCluster.class)
class AdminTest {
    private static Admin admin; // seeded with every node

    @BeforeAll
    static void open() {
        admin = Clients.admin(SkiffCluster.bootstrap());
    }

    @AfterAll
    static void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(10));
        }
    }

    private static Throwable cause(ExecutionException e) {
        return e.getCause();
    }

    /**
     * CreateTopics sent to node 1, then DescribeTopics through each node,
     * each client seeded with that node alone, right after the answer: every
     * node gives the same topic ID, partitions and replicas, and a leader for
     * each partition.
     */
    @Test
    void createThenDescribeThroughEachNode() throws Exception {
        String topic = Clients.topic("admin-create");
        Uuid id;
        try (Admin a1 = Clients.admin(SkiffCluster.kafkaAddr(0))) {
            CreateTopicsResult r = a1.createTopics(List.of(new NewTopic(topic, 6, (short) 3)));
            r.all().get();
            id = r.topicId(topic).get();
            assertEquals(6, r.numPartitions(topic).get());
            assertEquals(3, r.replicationFactor(topic).get());
            Config cfg = r.config(topic).get();
            assertNotNull(cfg, "CreateTopics v5+ returns the topic's configs");
        }
        assertNotNull(id);
        assertFalse(Uuid.ZERO_UUID.equals(id), "CreateTopics returns a topic ID");

        TopicDescription first = null;
        for (int i = 0; i < 3; i++) {
            try (Admin a = Clients.admin(SkiffCluster.kafkaAddr(i))) {
                TopicDescription d = a.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                String who = "node " + (i + 1);
                assertEquals(id, d.topicId(), who + ": topic ID");
                assertEquals(6, d.partitions().size(), who + ": partitions");
                for (TopicPartitionInfo p : d.partitions()) {
                    assertEquals(3, p.replicas().size(), who + ": replicas of " + p);
                    assertNotNull(p.leader(), who + ": leader of partition " + p.partition());
                    assertFalse(p.leader().isEmpty(), who + ": leader of partition " + p.partition());
                    assertTrue(p.replicas().contains(p.leader()), who + ": leader is a replica: " + p);
                }
                if (first == null) {
                    first = d;
                } else {
                    assertEquals(replicas(first), replicas(d), who + ": same replica assignment as node 1");
                }
            }
        }
    }

    private static Map<Integer, List<Integer>> replicas(TopicDescription d) {
        return d.partitions().stream().collect(Collectors.toMap(TopicPartitionInfo::partition,
                p -> p.replicas().stream().map(Node::id).toList()));
    }

    @Test
    void validateOnlyCreatesNothing() throws Exception {
        String topic = Clients.topic("admin-validate");
        CreateTopicsResult r = admin.createTopics(List.of(new NewTopic(topic, 3, (short) 3)),
                new CreateTopicsOptions().validateOnly(true));
        r.all().get();
        assertEquals(3, r.numPartitions(topic).get());
        assertFalse(admin.listTopics().names().get().contains(topic), "validateOnly created the topic");
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.describeTopics(List.of(topic)).allTopicNames().get());
        assertInstanceOf(UnknownTopicOrPartitionException.class, cause(e));
    }

    @Test
    void createErrors() throws Exception {
        String topic = Clients.topic("admin-errors");
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();

        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get());
        assertInstanceOf(TopicExistsException.class, cause(e), "existing topic");

        e = assertThrows(ExecutionException.class,
                () -> admin.createTopics(List.of(new NewTopic(Clients.topic("admin-bad-parts"), 0, (short) 1))).all().get());
        assertInstanceOf(InvalidPartitionsException.class, cause(e), "0 partitions");

        e = assertThrows(ExecutionException.class,
                () -> admin.createTopics(List.of(new NewTopic(Clients.topic("admin-bad-rf"), 1, (short) 4))).all().get());
        assertInstanceOf(InvalidReplicationFactorException.class, cause(e), "replication factor 4 on 3 brokers");

        e = assertThrows(ExecutionException.class,
                () -> admin.createTopics(List.of(new NewTopic(Clients.topic("admin-bad-rf0"), 1, (short) 0))).all().get());
        assertInstanceOf(InvalidReplicationFactorException.class, cause(e), "replication factor 0");
    }

    @Test
    void createPartitionsAndDelete() throws Exception {
        String topic = Clients.topic("admin-parts");
        admin.createTopics(List.of(new NewTopic(topic, 2, (short) 3))).all().get();
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get();
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        assertEquals(5, d.partitions().size());
        for (TopicPartitionInfo p : d.partitions()) {
            assertEquals(3, p.replicas().size(), "replicas of new partition " + p.partition());
        }

        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all().get());
        assertInstanceOf(InvalidPartitionsException.class, cause(e), "decrease partitions");

        admin.deleteTopics(List.of(topic)).all().get();
        assertFalse(admin.listTopics().names().get().contains(topic), "listed after delete");
        e = assertThrows(ExecutionException.class,
                () -> admin.deleteTopics(List.of(topic)).all().get());
        assertInstanceOf(UnknownTopicOrPartitionException.class, cause(e), "delete a deleted topic");
    }

    @Test
    void configs() throws Exception {
        String topic = Clients.topic("admin-configs");
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 3)
                .configs(Map.of("cleanup.policy", "delete")))).all().get();
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);

        Config before = admin.describeConfigs(List.of(res)).all().get().get(res);
        assertNotNull(before.get("retention.ms"), "retention.ms described");
        assertNotNull(before.get("cleanup.policy"), "cleanup.policy described");

        admin.incrementalAlterConfigs(Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)))).all().get();
        Config after = admin.describeConfigs(List.of(res)).all().get().get(res);
        assertEquals("3600000", after.get("retention.ms").value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, after.get("retention.ms").source());

        admin.incrementalAlterConfigs(Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all().get();
        Config reset = admin.describeConfigs(List.of(res)).all().get().get(res);
        assertFalse(reset.get("retention.ms").source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                "retention.ms still a topic override after DELETE");

        ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "1");
        Config bc = admin.describeConfigs(List.of(broker)).all().get().get(broker);
        assertFalse(bc.entries().isEmpty(), "broker 1 has configs");
    }

    /**
     * describeTopics and deleteTopics by topic ID (Metadata v12+ by ID; the
     * Java client leaves the topic name "" rather than null).
     */
    @Test
    void describeAndDeleteByTopicId() throws Exception {
        String topic = Clients.topic("admin-by-id");
        Uuid id = admin.createTopics(List.of(new NewTopic(topic, 2, (short) 3))).topicId(topic).get();
        TopicDescription d = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get().get(id);
        assertEquals(topic, d.name());
        assertEquals(2, d.partitions().size());

        admin.deleteTopics(TopicCollection.ofTopicIds(List.of(id))).all().get();
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get());
        assertInstanceOf(UnknownTopicIdException.class, cause(e), "describe a deleted topic ID");
    }

    /** listOffsets, deleteRecords, and a group's offsets through Admin (alter, list, delete). */
    @Test
    void offsetsAndRecords() throws Exception {
        String topic = Clients.topic("admin-offsets");
        String group = Clients.topic("admin-offsets-g");
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 3))).all().get();
        TopicPartition tp = new TopicPartition(topic, 0);
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SkiffCluster.bootstrap());
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, "v" + i)).get();
            }
        }
        assertEquals(10, admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset());
        assertEquals(0, admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset());
        assertEquals(4, admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get().lowWatermark());
        assertEquals(4, admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset());

        admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(7, "meta"))).all().get();
        OffsetAndMetadata om = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(tp);
        assertEquals(7, om.offset());
        assertEquals("meta", om.metadata());
        admin.deleteConsumerGroupOffsets(group, Set.of(tp)).all().get();
        assertNull(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(tp), "offset after delete");
    }

    @Test
    void describeCluster() throws Exception {
        DescribeClusterResult r = admin.describeCluster();
        Collection<Node> nodes = r.nodes().get();
        Set<Integer> ids = new HashSet<>();
        for (Node n : nodes) {
            ids.add(n.id());
        }
        assertEquals(Set.of(1, 2, 3), ids);
        assertNotNull(r.clusterId().get(), "cluster ID");
        Node controller = r.controller().get();
        assertNotNull(controller, "controller");
        assertTrue(ids.contains(controller.id()), "controller is a broker: " + controller);
    }
}
