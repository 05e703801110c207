package topics

import (
	"context"
	"slices"
	"strings"

	"github.com/skiff-broker/skiff/statemachine"
)

// AlterConfigs changes topic configs (AlterConfigs with Replace,
// IncrementalAlterConfigs without). One read of the named topics gives the
// current values (APPEND and SUBTRACT are computed from them); one proposal
// carries an AlterConfigs command per valid topic. The commands set values
// (not deltas), so an unknown outcome is proposed again until ctx ends. With
// validateOnly nothing is written. Results carry the topic's full config
// after the change.
func (s *Service) AlterConfigs(ctx context.Context, specs []AlterSpec, validateOnly bool) ([]TopicResult, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = sp.Name
	}
	view, err := s.read(ctx, "alter configs", statemachine.QueryTopics{Names: names})
	if err != nil {
		return nil, err
	}
	p := planAlter(specs, view)
	if validateOnly || len(p.batch.Cmds) == 0 {
		return p.results, nil
	}
	res, err := s.propose(ctx, "alter_configs", p.batch, true)
	if err != nil {
		return nil, err
	}
	for i, at := range p.at {
		if at < 0 {
			continue
		}
		r := &p.results[i]
		switch code := res.Codes[at]; code {
		case statemachine.CodeOK:
		case statemachine.CodeUnknownTopic:
			*r = failed(r.Name, errorf(ErrUnknownTopic, "Topic '%s' does not exist.", r.Name))
		default:
			*r = failed(r.Name, errorf(ErrInvalidRequest, "Altering configs of topic '%s' failed in the metadata shard (code %d).", r.Name, code))
		}
	}
	return p.results, nil
}

// planAlter validates specs against view and builds one batch of
// AlterConfigs commands. An incremental spec without ops is a success
// without a command.
func planAlter(specs []AlterSpec, view *View) batchPlan {
	p := newBatchPlan(len(specs))
	dup := duplicateNames(specs, func(sp AlterSpec) string { return sp.Name })
	byName := make(map[string]*Topic, len(view.Topics))
	for _, t := range view.Topics {
		byName[t.Name] = t
	}
	for i, sp := range specs {
		p.at[i] = -1
		t := byName[sp.Name]
		if dup[i] {
			p.results[i] = failed(sp.Name, errorf(ErrDuplicateTopic, "Topic '%s' appears more than once in the request.", sp.Name))
			continue
		}
		if err := checkOps(sp.Ops); err != nil {
			p.results[i] = failed(sp.Name, err)
			continue
		}
		if t == nil {
			p.results[i] = failed(sp.Name, errorf(ErrUnknownTopic, "Topic '%s' does not exist.", sp.Name))
			continue
		}
		cmd, after, err := alterCmd(sp, t)
		if err != nil {
			p.results[i] = failed(sp.Name, err)
			continue
		}
		if sp.Replace || len(sp.Ops) > 0 {
			p.at[i] = len(p.batch.Cmds)
			p.batch.Cmds = append(p.batch.Cmds, cmd)
		}
		rf := int16(0)
		if len(t.Partitions) > 0 {
			rf = int16(len(t.Partitions[0].Replicas))
		}
		p.results[i] = TopicResult{
			Name:              t.Name,
			ID:                t.ID,
			NumPartitions:     int32(len(t.Partitions)),
			ReplicationFactor: rf,
			Configs:           resolveTopicConfigs(after),
		}
	}
	return p
}

// checkOps refuses an operation other than set, delete, append and
// subtract (INVALID_REQUEST, before the topic is looked up), with the text
// Skiff has always answered.
func checkOps(ops []ConfigOp) error {
	for _, op := range ops {
		switch op.Op {
		case OpSet, OpDelete, OpAppend, OpSubtract:
		default:
			return errorf(ErrInvalidRequest, "Unknown operation %d for config %s", op.Op, op.Key)
		}
	}
	return nil
}

// alterCmd validates one spec against topic t (its ops are known: see
// checkOps) and returns its command and
// the topic's explicit configs after it.
func alterCmd(sp AlterSpec, t *Topic) (statemachine.AlterConfigs, []ConfigEntry, error) {
	cmd := statemachine.AlterConfigs{Topic: t.ID, Replace: sp.Replace}
	keys := make([]string, len(sp.Ops))
	for i, op := range sp.Ops {
		keys[i] = op.Key
	}
	if slices.Contains(duplicates(keys), true) {
		return cmd, nil, errorf(ErrInvalidRequest, "Error due to duplicate config keys.")
	}
	current := make(map[string]string, len(t.Configs))
	for _, e := range t.Configs {
		current[e.Key] = e.Value
	}
	for _, op := range sp.Ops {
		d, ok := configByName[op.Key]
		if !ok {
			return cmd, nil, errorf(ErrInvalidConfig, "Unknown topic config name: %s", op.Key)
		}
		if sp.Replace && op.Op != OpSet {
			return cmd, nil, errorf(ErrInvalidRequest, "AlterConfigs only sets configs; operation %d is not allowed for config key: %s", op.Op, op.Key)
		}
		if op.Op != OpDelete && op.Value == nil {
			return cmd, nil, errorf(ErrInvalidRequest, "Null value not supported for : %s", op.Key)
		}
		switch op.Op {
		case OpSet:
			v, err := normalizeConfig(op.Key, *op.Value)
			if err != nil {
				return cmd, nil, err
			}
			cmd.Set = append(cmd.Set, ConfigEntry{Key: op.Key, Value: v})
		case OpDelete:
			cmd.Delete = append(cmd.Delete, op.Key)
		case OpAppend, OpSubtract:
			verb := map[ConfigOpType]string{OpAppend: "append", OpSubtract: "subtract"}[op.Op]
			if d.Type != TypeList {
				return cmd, nil, errorf(ErrInvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Key)
			}
			cur, ok := current[op.Key]
			if !ok {
				cur = d.Default
			}
			v, err := normalizeConfig(op.Key, applyListOp(cur, *op.Value, op.Op))
			if err != nil {
				return cmd, nil, err
			}
			cmd.Set = append(cmd.Set, ConfigEntry{Key: op.Key, Value: v})
		}
	}
	sortEntries(cmd.Set)
	slices.Sort(cmd.Delete)

	if sp.Replace {
		return cmd, cmd.Set, nil
	}
	for _, k := range cmd.Delete {
		delete(current, k)
	}
	for _, e := range cmd.Set {
		current[e.Key] = e.Value
	}
	after := make([]ConfigEntry, 0, len(current))
	for k, v := range current {
		after = append(after, ConfigEntry{Key: k, Value: v})
	}
	sortEntries(after)
	return cmd, after, nil
}

// applyListOp appends the elements of arg missing from cur, or removes the
// elements of arg from cur.
func applyListOp(cur, arg string, op ConfigOpType) string {
	elems := splitList(cur)
	for _, a := range splitList(arg) {
		i := slices.Index(elems, a)
		switch {
		case op == OpAppend && i < 0:
			elems = append(elems, a)
		case op == OpSubtract && i >= 0:
			elems = slices.Delete(elems, i, i+1)
		}
	}
	return strings.Join(elems, ",")
}
