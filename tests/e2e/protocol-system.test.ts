// System commands over a real server (iggy-client-wire.md §7.1, §7.3, §11): stats, cluster metadata with the
// configured ports, option descriptions, the snapshot file, raw commands.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { encodeRequest } from '../../host/shared/wire/header.js';
import { after, before, describe, it } from 'node:test';
import { IggyError } from '../../host/client/errors.js';
import { OptionScope, SnapshotCompression, SnapshotType } from '../../host/client/requests.js';
import type { IggyClient } from '../../host/client/client.js';
import { eventually, servingMetric, startProtocolServer, unique, type ProtocolServer } from './helpers/protocol.js';

describe('protocol: system', () => {
  let s: ProtocolServer;
  let c: IggyClient;
  before(async () => {
    s = await startProtocolServer();
    c = await s.connect();
  });
  after(async () => {
    await c?.close();
    await s?.stop();
  });

  it('GetStats parses through the disk fields and counts what exists', async () => {
    const name = unique('stats');
    const before = await c.getStats();
    await c.createStream(name);
    const stats = await c.getStats();
    assert.equal(stats.processId, s.server.child.pid);
    assert.equal(stats.streamsCount, before.streamsCount + 1);
    assert.ok(stats.clientsCount >= 1);
    assert.ok(stats.startTime > 0n && stats.startTime <= BigInt(Date.now()) * 1000n, 'start time in µs');
    assert.ok(stats.iggyServerVersion.length > 0);
    await c.deleteStream(name);
  });

  it('GetClusterMetadata: one healthy leader on the configured ports', async () => {
    const meta = await c.getClusterMetadata();
    assert.equal(meta.name, 'single-node');
    assert.equal(meta.nodes.length, 1);
    const [node] = meta.nodes;
    assert.deepEqual({ name: node.name, ip: node.ip, tcp: node.tcpPort, http: node.httpPort, role: node.role, status: node.status },
      { name: 'iggy-node', ip: '127.0.0.1', tcp: s.tcpPort, http: s.httpPort, role: 0, status: 0 });
    assert.deepEqual(c.cluster, meta, 'the same answer the client got right after login');
  });

  it('DescribeOptions: topic keys are described, streams and users have none, a bad scope is refused', async () => {
    const keys = (await c.describeOptions(OptionScope.topic)).map((o) => o.key);
    for (const key of ['compression_algorithm', 'message_expiry', 'max_topic_size']) assert.ok(keys.includes(key), `${key} in ${keys}`);
    assert.deepEqual(await c.describeOptions(OptionScope.stream), []);
    assert.deepEqual(await c.describeOptions(OptionScope.user), []);
    await assert.rejects(c.describeOptions(9), IggyError);
  });

  it('GetSnapshotFile returns a ZIP archive; an unknown snapshot type is refused', async () => {
    const zip = await c.getSnapshotFile([SnapshotType.test], SnapshotCompression.deflated);
    assert.deepEqual([...zip.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04], 'local file header signature');
    await assert.rejects(c.getSnapshotFile([77]), IggyError);
  });

  it('raw: ping returns an empty body, stats a non-empty one', async () => {
    assert.equal((await c.rawCommand(1)).length, 0);
    assert.ok((await c.rawCommand(10)).length > 108);
  });

  it('raw: an unknown vendor code (60001) is status 3 and the connection keeps working', async () => {
    await assert.rejects(c.rawCommand(60001), (e: IggyError) => e instanceof IggyError && e.code === 3);
    const name = unique('after-vendor');
    const stream = await c.createStream(name);
    await c.deleteStream(stream.id);
    assert.equal(await c.getStream(name), null);
  });

  it('/metrics counts client connections, requests, errors and evictions of the serving shards', async () => {
    const metric = (name: string) => servingMetric(s, name);
    const before = { requests: await metric('client_requests_total'), errors: await metric('client_request_errors_total'), evictions: await metric('client_evictions_total') };
    const extra = await s.connect(null);
    try {
      // The server counts a connection when its shard accepts it, a moment after the client's connect returns.
      await eventually('this suite\'s client and the extra one counted as open', async () => (await metric('client_connections')) >= 2);
      await extra.ping();
      await assert.rejects(extra.rawCommand(10), IggyError); // a read before login: status 40
      await assert.rejects(extra.raw(encodeRequest({ client: 5n, request: 1n, operation: 128, session: 3n, body: new Uint8Array([1, 0x61]) })).then((f) => {
        if (f.kind === 'eviction') throw new IggyError(f.reason);
      }), IggyError); // a replicated op without a session: eviction 1
    } finally {
      await extra.close();
    }
    assert.ok(await metric('client_requests_total') >= before.requests + 3);
    assert.ok(await metric('client_request_errors_total') >= before.errors + 1);
    assert.ok(await metric('client_evictions_total') >= before.evictions + 1);
  });
});
