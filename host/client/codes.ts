// The command codes of iggy-client-wire.md §3.3 by the names of the client's methods.
export const Code = {
  ping: 1, getStats: 10, getSnapshotFile: 11, getClusterMetadata: 12, describeOptions: 13, getMe: 20, getClient: 21,
  getClients: 22, getUser: 31, getUsers: 32, createUser: 33, deleteUser: 34, updateUser: 35, updatePermissions: 36,
  changePassword: 37, loginUser: 38, logout: 39, loginRegister: 40, getTokens: 41, createToken: 42, deleteToken: 43,
  loginWithTokenLegacy: 44, loginRegisterWithToken: 45, pollMessages: 100, sendMessages: 101, flushUnsavedBuffer: 102,
  getOffset: 120, storeOffset: 121, deleteOffset: 122, getStream: 200, getStreams: 201, createStream: 202,
  deleteStream: 203, updateStream: 204, purgeStream: 205, getTopic: 300, getTopics: 301, createTopic: 302,
  deleteTopic: 303, updateTopic: 304, purgeTopic: 305, createPartitions: 402, deletePartitions: 403, deleteSegments: 503,
  getGroup: 600, getGroups: 601, createGroup: 602, deleteGroup: 603, joinGroup: 604, leaveGroup: 605, syncGroup: 606,
} as const;
