// The shardlog TypeScript client: IggyClient plus the types and helpers its methods take and return.
export { IggyClient, Code, type ConnectOptions } from './client.js';
export { Connection, parseAddress, DEFAULT_REQUEST_TIMEOUT_MS } from './connection.js';
export { ConnectionClosed, EvictionError, IggyError, RequestTimeout, errorName, evictionName } from './errors.js';
export { buildBatch, readBatch, readPollReply, type Message, type MessageInput, type PolledMessages } from './batch.js';
export { OptionScope, SnapshotCompression, SnapshotType, UserStatus, SINGLE_CONSUMER, type ConsumerInput, type Id, type OffsetTarget, type PollInput, type SendInput } from './requests.js';
export type * from './responses.js';
export { globalPermissions, type Permissions, type GlobalPermissions, type StreamPermissions, type TopicPermissions } from '../shared/wire/permissions.js';
export { TlvKind, type TlvEntry, type Partitioning, type PollingStrategy } from '../shared/wire/primitives.js';
export { ErrorCode, EvictionReason } from '../shared/wire/codes.js';
export { stringOption, u64Option, boolOption, stringHeader } from './options.js';
export { xxh3_64 } from './xxh3.js';
export { RequestOutcomeUnknown, ReconnectFailed } from './errors.js';
export { type TlsOptions } from './connection.js';
export { isRetrySafe, type ReconnectOptions } from './reconnect.js';
export { Producer, ProducerClosed, ProducerSendFailed, partitionForKey, type PartitionStrategy, type ProducerMessage, type ProducerOptions } from './producer.js';
export { Consumer, type AutoCommit, type ConsumedMessage, type ConsumerOptions } from './consumer.js';
export { HttpClient, HttpRefusal, type HttpConnectOptions } from './http-client.js';
export type { MessagingClient } from './messaging-client.js';
