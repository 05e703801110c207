package topics

import "github.com/skiff-broker/skiff/statemachine"

// batchPlan is a planned admin request (CreateTopics, CreatePartitions,
// DeleteTopics, AlterConfigs): a result per spec and the one batch proposed
// for all of them.
type batchPlan struct {
	results []TopicResult // final for failed specs; the would-be outcome for the others
	batch   statemachine.Batch
	at      []int // index in batch.Cmds of spec i's topic-level command, -1 if none
}

func newBatchPlan(specs int) batchPlan {
	return batchPlan{results: make([]TopicResult, specs), at: make([]int, specs)}
}

// duplicateNames reports, per spec, whether another spec names the same
// topic (Kafka answers INVALID_REQUEST to every copy).
func duplicateNames[S any](specs []S, name func(S) string) []bool {
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = name(sp)
	}
	return duplicates(names)
}
