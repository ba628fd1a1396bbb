// `npm run bench` / `bench:compare` options: every bad input is a named error, and the plan turns options into
// actors the way the kinds promise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchOptionError, KINDS, parseOptions, parseSize, type BenchOptions } from '../../host/bench/suite/options.js';
import { parseCompareOptions } from '../../host/bench/suite/compare-options.js';
import { planOf } from '../../host/bench/suite/plan.js';

const parse = (...argv: string[]): BenchOptions => parseOptions(argv)!;
const refuses = (argv: string[], pattern: RegExp, type: typeof BenchOptionError = BenchOptionError): void => {
  assert.throws(() => parseOptions(argv), (e: Error) => e instanceof type && e.name === type.name && pattern.test(e.message), argv.join(' '));
};

describe('bench options', () => {
  it('reads every flag', () => {
    const o = parse('balanced-producer', '--producers', '3', '--consumers', '4', '--streams', '2', '--partitions', '5', '--message-size', '100',
      '--messages-per-batch', '10', '--total-data', '1.5GB', '--rate-limit', '50MB', '--transport', 'tcp', '--durability', 'relaxed',
      '--target', 'redis', '--shards', '1', '--polls-in-flight', '1', '--json', '--report', 'out.html');
    assert.deepEqual(o, {
      kind: 'balanced-producer', target: 'redis', transport: 'tcp', producers: 3, consumers: 4, streams: 2, partitions: 5, messageSize: 100,
      messagesPerBatch: 10, messageBatches: null, totalData: 1.5e9, rateLimit: 50e6, durability: 'relaxed', shards: 1, pollsInFlight: 1, json: true, report: 'out.html',
    });
    assert.equal(parse('pinned-consumer', '--polls-in-flight', '4').pollsInFlight, 4);
    assert.equal(parseOptions(['pinned-producer', '--help']), null);
    assert.equal(parseSize('--x', '2GiB'), 2 * 1024 ** 3);
    assert.equal(parseSize('--x', '1000'), 1000);
  });

  it('names each bad input', () => {
    refuses([], /first argument must be a kind/);
    refuses(['pinned-producers'], /kind must be one of/);
    refuses(['pinned-producer', '--producers', '0'], /--producers must be a positive integer/);
    refuses(['pinned-producer', '--producers', '2.5'], /positive integer/);
    refuses(['pinned-producer', '--producers'], /--producers needs a value/);
    refuses(['pinned-producer', '--frobnicate', '1'], /unknown option --frobnicate/);
    refuses(['pinned-producer', '--total-data', '5 parsecs'], /--total-data must be a size/);
    refuses(['pinned-producer', '--total-data', '0MB'], /at least 1 byte/);
    refuses(['pinned-producer', '--total-data', '1GB', '--message-batches', '3'], /either --message-batches or --total-data/);
    refuses(['pinned-producer', '--target', 'kafka'], /--target must be one of shardlog, nats, redis/);
    refuses(['pinned-producer', '--durability', 'maybe'], /--durability must be one of/);
    refuses(['pinned-producer', '--report', 'out.pdf'], /\.html/);
    refuses(['pinned-producer', '--transport', 'quic'], /--transport must be one of tcp, http/);
    refuses(['pinned-producer', '--target', 'nats', '--transport', 'http'], /--transport http: only the shardlog target/);
    refuses(['pinned-consumer', '--polls-in-flight', '0'], /--polls-in-flight must be a positive integer/);
    refuses(['pinned-consumer', '--target', 'redis', '--polls-in-flight', '4'], /--polls-in-flight 4: only the shardlog target over TCP/);
    refuses(['pinned-consumer', '--transport', 'http', '--polls-in-flight', '2'], /--polls-in-flight 2: only the shardlog target over TCP/);
  });

  it('plans pinned actors on their own streams and balanced ones over partitions', () => {
    const pinned = planOf(parse('pinned-producer', '--producers', '3', '--message-batches', '7'));
    assert.equal(pinned.streams, 3);
    assert.equal(pinned.partitions, 1);
    assert.deepEqual(pinned.actors.map((a) => a.destination), [0, 1, 2].map((stream) => ({ stream, partition: 0 })));
    assert.ok(pinned.actors.every((a) => a.batches === 7 && a.role === 'producer'));
    const balanced = planOf(parse('balanced-producer', '--producers', '2'));
    assert.deepEqual([balanced.streams, balanced.partitions], [1, 2]);
    assert.ok(balanced.actors.every((a) => a.destination.partition === 'balanced'));
    const group = planOf(parse('balanced-consumer-group', '--consumers', '3', '--message-batches', '4'));
    assert.equal(group.withGroup, true);
    assert.equal(group.prefillPerPartition * group.partitions, 12, 'the prefill holds every consumer\'s share');
    assert.equal(group.groupMessagesPerStream, 12 * 1000);
  });

  it('shares --total-data among the measured actors, rounding up to whole batches', () => {
    const o = parse('pinned-producer', '--producers', '2', '--total-data', '10MB', '--messages-per-batch', '1000', '--message-size', '1000');
    assert.equal(planOf(o).batchesPerActor, 5);
    assert.equal(planOf({ ...o, totalData: 10e6 + 1 }).batchesPerActor, 6);
    assert.equal(planOf(parse('pinned-consumer', '--consumers', '4', '--total-data', '8MB')).batchesPerActor, 2, 'consumer kinds share it among consumers');
  });

  it('refuses a plan its kind cannot run', () => {
    assert.throws(() => planOf(parse('pinned-producer-and-consumer', '--producers', '2', '--consumers', '3')), /differ/);
    assert.throws(() => planOf(parse('pinned-consumer', '--consumers', '3', '--streams', '1')), /need as many \(stream, partition\) pairs/);
    for (const kind of KINDS) assert.ok(planOf(parse(kind)).actors.length > 0, kind);
  });

  it('reads bench:compare options and names its bad inputs', () => {
    const o = parseCompareOptions(['--rounds', '2', '--kinds', 'pinned-producer,pinned-consumer', '--targets', 'shardlog,redis', '--total-data', '1GB', '--json'])!;
    assert.deepEqual([o.rounds, o.kinds, o.targets, o.totalData, o.json], [2, ['pinned-producer', 'pinned-consumer'], ['shardlog', 'redis'], 1e9, true]);
    assert.throws(() => parseCompareOptions(['--kinds', 'pinned-producer,nope']), (e: Error) => e instanceof BenchOptionError && /comma-separated/.test(e.message));
    assert.throws(() => parseCompareOptions(['--rounds', '0']), BenchOptionError);
    assert.throws(() => parseCompareOptions(['--wat', '1']), /unknown option --wat/);
    assert.equal(parseCompareOptions(['--polls-in-flight', '4'])!.pollsInFlight, 4);
    assert.equal(parseCompareOptions([])!.pollsInFlight, 1, 'one poll at a time unless asked, as iggy-bench');
    assert.throws(() => parseCompareOptions(['--polls-in-flight', '0']), /--polls-in-flight must be a positive integer/);
  });
});
