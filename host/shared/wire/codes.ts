// Operations, command codes, eviction reasons and error codes of Iggy's VSR-framed client protocol
// (shared/protocol/iggy-client-wire.md §3, §5).

export const Operation = {
  reserved: 0,
  register: 1,
  nonReplicated: 2,
  logout: 3,
  createStream: 128,
  updateStream: 129,
  deleteStream: 130,
  purgeStream: 131,
  createTopic: 132,
  updateTopic: 133,
  deleteTopic: 134,
  purgeTopic: 135,
  createPartitions: 136,
  deletePartitions: 137,
  deleteSegments: 138,
  createConsumerGroup: 139,
  deleteConsumerGroup: 140,
  createUser: 141,
  updateUser: 142,
  deleteUser: 143,
  changePassword: 144,
  updatePermissions: 145,
  createPersonalAccessToken: 146,
  deletePersonalAccessToken: 147,
  joinConsumerGroup: 148,
  leaveConsumerGroup: 149,
  sendMessages: 160,
  storeConsumerOffset: 161,
  deleteConsumerOffset: 162,
} as const;

const INTERNAL_OPERATIONS = [64, 65, 66, 67, 68];
const KNOWN_OPERATIONS = new Set<number>([...Object.values(Operation).filter((o) => o !== 0), ...INTERNAL_OPERATIONS]);

export function isKnownOperation(op: number): boolean {
  return KNOWN_OPERATIONS.has(op);
}

export function isMetadataOperation(op: number): boolean {
  return op >= 128 && op <= 149 && op !== Operation.deleteSegments;
}

export function isPartitionOperation(op: number): boolean {
  return op >= 160 && op <= 162;
}

// §3.2: whether a reply for `op` carries the result section before its payload.
export function isResultFramed(op: number, bodyLength: number): boolean {
  if (op === Operation.register) return bodyLength > 0;
  if (INTERNAL_OPERATIONS.includes(op)) return true;
  return isMetadataOperation(op) || op === Operation.storeConsumerOffset || op === Operation.deleteConsumerOffset;
}

// How a request number is chosen for a command (§4.3).
export type RequestRule = 'zero' | 'current' | 'next';

export interface CommandInfo {
  code: number;
  name: string;
  operation: number;
  rule: RequestRule;
}

const C = (code: number, name: string, operation: number, rule: RequestRule): CommandInfo => ({ code, name, operation, rule });
const NR = Operation.nonReplicated;

// §3.3. Legacy login codes 38 and 44 are listed with operation 2: sent raw they are answered with an eviction.
export const COMMANDS: readonly CommandInfo[] = [
  C(1, 'ping', NR, 'current'),
  C(10, 'stats', NR, 'current'),
  C(11, 'snapshot', NR, 'current'),
  C(12, 'cluster.metadata', NR, 'current'),
  C(13, 'options.describe', NR, 'current'),
  C(20, 'me', NR, 'current'),
  C(21, 'client.get', NR, 'current'),
  C(22, 'client.list', NR, 'current'),
  C(31, 'user.get', NR, 'current'),
  C(32, 'user.list', NR, 'current'),
  C(33, 'user.create', Operation.createUser, 'next'),
  C(34, 'user.delete', Operation.deleteUser, 'next'),
  C(35, 'user.update', Operation.updateUser, 'next'),
  C(36, 'user.permissions', Operation.updatePermissions, 'next'),
  C(37, 'user.password', Operation.changePassword, 'next'),
  C(38, 'user.login', NR, 'current'),
  C(39, 'user.logout', Operation.logout, 'next'),
  C(40, 'user.login_register', Operation.register, 'zero'),
  C(41, 'personal_access_token.list', NR, 'current'),
  C(42, 'personal_access_token.create', Operation.createPersonalAccessToken, 'next'),
  C(43, 'personal_access_token.delete', Operation.deletePersonalAccessToken, 'next'),
  C(44, 'personal_access_token.login', NR, 'current'),
  C(45, 'user.login_register_with_pat', Operation.register, 'zero'),
  C(100, 'message.poll', NR, 'current'),
  C(101, 'message.send', Operation.sendMessages, 'current'),
  C(102, 'message.flush_unsaved_buffer', NR, 'current'),
  C(120, 'consumer_offset.get', NR, 'current'),
  C(121, 'consumer_offset.store', Operation.storeConsumerOffset, 'current'),
  C(122, 'consumer_offset.delete', Operation.deleteConsumerOffset, 'current'),
  C(200, 'stream.get', NR, 'current'),
  C(201, 'stream.list', NR, 'current'),
  C(202, 'stream.create', Operation.createStream, 'next'),
  C(203, 'stream.delete', Operation.deleteStream, 'next'),
  C(204, 'stream.update', Operation.updateStream, 'next'),
  C(205, 'stream.purge', Operation.purgeStream, 'next'),
  C(300, 'topic.get', NR, 'current'),
  C(301, 'topic.list', NR, 'current'),
  C(302, 'topic.create', Operation.createTopic, 'next'),
  C(303, 'topic.delete', Operation.deleteTopic, 'next'),
  C(304, 'topic.update', Operation.updateTopic, 'next'),
  C(305, 'topic.purge', Operation.purgeTopic, 'next'),
  C(402, 'partition.create', Operation.createPartitions, 'next'),
  C(403, 'partition.delete', Operation.deletePartitions, 'next'),
  C(503, 'segment.delete', Operation.deleteSegments, 'next'),
  C(600, 'consumer_group.get', NR, 'current'),
  C(601, 'consumer_group.list', NR, 'current'),
  C(602, 'consumer_group.create', Operation.createConsumerGroup, 'next'),
  C(603, 'consumer_group.delete', Operation.deleteConsumerGroup, 'next'),
  C(604, 'consumer_group.join', Operation.joinConsumerGroup, 'next'),
  C(605, 'consumer_group.leave', Operation.leaveConsumerGroup, 'next'),
  C(606, 'consumer_group.sync', NR, 'current'),
];

const BY_CODE = new Map(COMMANDS.map((c) => [c.code, c]));
const BY_OPERATION = new Map(COMMANDS.filter((c) => c.operation !== NR && c.operation !== Operation.register).map((c) => [c.operation, c]));

export function commandByCode(code: number): CommandInfo | undefined {
  return BY_CODE.get(code);
}

// The command a replicated request stands for: its operation alone identifies it (no code is sent).
export function commandByOperation(op: number): CommandInfo | undefined {
  return BY_OPERATION.get(op);
}

// §5.3
export const EvictionReason = {
  reserved: 0,
  noSession: 1,
  clientReleaseTooLow: 2,
  clientReleaseTooHigh: 3,
  invalidRequestOperation: 4,
  invalidRequestBody: 5,
  invalidRequestBodySize: 6,
  sessionTooLow: 7,
  sessionReleaseMismatch: 8,
  invalidCredentials: 9,
  invalidToken: 10,
  userInactive: 11,
  sessionError: 12,
  staleClient: 13,
  incompatibleProtocol: 14,
  malformedLogin: 15,
} as const;

// What an SDK reports for an eviction (§5.3).
export function evictionErrorCode(reason: number, versionMin: number, versionMax: number): number {
  switch (reason) {
    case 0: case 2: case 3: case 4: case 5: case 6: return ErrorCode.invalidCommand;
    case 9: return ErrorCode.invalidCredentials;
    case 10: return ErrorCode.invalidPersonalAccessToken;
    case 13: return ErrorCode.staleClient;
    case 14: return versionMin >= 1 && versionMin <= versionMax ? ErrorCode.incompatibleProtocolVersion : ErrorCode.unauthenticated;
    case 15: return ErrorCode.invalidFormat;
    default: return ErrorCode.unauthenticated;
  }
}

// §5.4 (the codes this server uses).
export const ErrorCode = {
  error: 1,
  invalidCommand: 3,
  invalidFormat: 4,
  featureUnavailable: 5,
  invalidIdentifier: 6,
  resourceNotFound: 20,
  staleClient: 30,
  unauthenticated: 40,
  unauthorized: 41,
  invalidCredentials: 42,
  invalidUsername: 43,
  invalidPassword: 44,
  invalidUserStatus: 45,
  userAlreadyExists: 46,
  userInactive: 47,
  cannotDeleteUser: 48,
  cannotChangePermissions: 49,
  invalidPersonalAccessTokenName: 50,
  personalAccessTokenAlreadyExists: 51,
  invalidPersonalAccessToken: 53,
  invalidPersonalAccessTokenExpiry: 56,
  transientNotCommitted: 57,
  transientNotAccepted: 58,
  streamIdNotFound: 1009,
  streamNameAlreadyExists: 1012,
  invalidStreamName: 1013,
  tooManyStreams: 1020,
  topicIdNotFound: 2010,
  topicNameAlreadyExists: 2013,
  invalidTopicName: 2014,
  tooManyPartitions: 2015,
  invalidPartitionsCount: 2019,
  tooManyTopics: 2021,
  // A partition that exists but could not be opened (damaged consumer offsets, no core memory, an I/O error): every
  // request; or whose log is damaged (its intact prefix is served read-only): sends.
  cannotOpenPartitionLogFile: 3003,
  partitionNotFound: 3007,
  partitionIdSpaceExhausted: 3013,
  consumerOffsetNotFound: 3021,
  cannotSaveMessagesToSegment: 4006, // a send found the device full: nothing of it was kept, it may be sent again
  invalidMessagesCount: 4009,
  cannotReadMessage: 4011, // a poll reached a stored batch that no longer verifies, or the end of a damaged log's intact prefix
  emptyMessagePayload: 4024,
  invalidMessageChecksum: 4027,
  invalidBatchChecksum: 4039,
  unsupportedOptionKey: 4041,
  invalidOptionValue: 4042,
  optionsBlockTooLarge: 4043,
  consumerGroupIdNotFound: 5000,
  consumerGroupNameAlreadyExists: 5004,
  consumerGroupMemberNotFound: 5006,
  consumerGroupPartitionNotOwned: 5009,
  cannotWriteToFile: 10006, // a consumer offset change found the device full: rolled back, the previous offset stands
  incompatibleProtocolVersion: 14003,
} as const;
