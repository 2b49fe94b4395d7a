/**
 * State machines as tables of legal transitions, checked on every change (issue 21): a partition
 * task's, and the lifecycle every consumer loop shares.
 */
import Kafka from 'node-rdkafka';
import { describe, expect, it } from 'vitest';
import { ConsumerLoop } from '../../src/kafka/consumer-loop.js';
import { type TaskState, TRANSITIONS } from '../../src/pipeline/partition-task.js';
import { LOOP_TRANSITIONS, StateMachine } from '../../src/runtime/state-machine.js';

/** A real consumer that never connects: what `stop` disconnects when nothing was started. */
const idleConsumer = () =>
  new Kafka.KafkaConsumer({ 'group.id': 'state-machine-test', 'bootstrap.servers': '127.0.0.1:1' }, {});

describe('a state machine', () => {
  it('moves only along its table, and names the illegal move', () => {
    const task = new StateMachine<TaskState>('partition 3', 'restoring', TRANSITIONS);
    task.to('running');
    expect(() => task.to('restoring')).toThrow('partition 3: illegal transition running → restoring');
    task.to('draining');
    task.to('closed');
    for (const next of ['restoring', 'running', 'draining', 'failed'] as const)
      expect(task.allows(next)).toBe(false);
  });

  it("every task state reaches 'closed', and 'closed' is the end", () => {
    for (const state of Object.keys(TRANSITIONS) as TaskState[]) {
      const seen = new Set<TaskState>([state]);
      for (const s of seen) for (const next of TRANSITIONS[s]) seen.add(next);
      expect(seen.has('closed'), state).toBe(true);
    }
    expect(TRANSITIONS.closed).toEqual([]);
    expect(LOOP_TRANSITIONS.stopped).toEqual([]);
  });
});

describe('a consumer loop', () => {
  it('runs until a stop, which waits for the loop to finish its batch', async () => {
    const loop = new ConsumerLoop('test loop');
    let turns = 0;
    let finished = false;
    loop.run(idleConsumer(), async () => {
      while (loop.running) {
        turns++;
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 20));
      finished = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    await loop.stop();
    expect(finished).toBe(true);
    expect(turns).toBeGreaterThan(0);
    expect(loop.state).toBe('stopped');
    await loop.stop();
    expect(() => loop.run(idleConsumer(), async () => {})).toThrow(
      'test loop: illegal transition stopped → running',
    );
  });

  it('stopped before it started, it is stopped and cannot start', async () => {
    const loop = new ConsumerLoop('never started');
    await loop.stop();
    expect(loop.state).toBe('stopped');
    expect(() => loop.run(idleConsumer(), async () => {})).toThrow(/illegal transition stopped → running/);
  });
});
