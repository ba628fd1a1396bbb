// The SDK's Producer and Consumer in one runnable file. With a server running (npm start) and the package built
// (npm run build):   node examples/producer-consumer.mjs [host:port]
// Produces 30 orders keyed by customer (one customer's orders stay on one partition, in order), then reads them
// back as the consumer group "billing", committing its position every second and when it closes.
import { Consumer, IggyClient, Producer } from 'shardlog/client';

const address = process.argv[2] ?? process.env.SHARDLOG_TCP_ADDRESS ?? '127.0.0.1:8090';
const client = await IggyClient.connect({ address, username: 'iggy', password: 'iggy', reconnect: true });
const stream = `example-${process.pid}`;
await client.createStream(stream);
await client.createTopic({ stream, name: 'orders', partitionsCount: 3 });

const producer = await Producer.create(client, { stream, topic: 'orders', partitioning: { kind: 'key' }, lingerMs: 10 });
for (let i = 0; i < 30; i++) await producer.send({ key: `customer-${i % 5}`, payload: JSON.stringify({ order: i, customer: i % 5 }) });
await producer.close(); // flushes what is still buffered

const consumer = new Consumer(client, { stream, topic: 'orders', group: 'billing', autoCommit: { kind: 'interval', ms: 1000 } });
let received = 0;
for await (const message of consumer) {
  console.log(`partition ${message.partitionId} offset ${message.offset}: ${new TextDecoder().decode(message.payload)}`);
  if (++received === 30) break;
}
await consumer.close(); // commits, leaves the group

await client.deleteStream(stream);
await client.close();
