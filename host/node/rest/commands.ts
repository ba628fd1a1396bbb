// The command codes the routes send, looked up by name in the wire's command table (no number is written here).
import { COMMANDS } from '../../shared/wire/codes.js';

const byName = new Map(COMMANDS.map((c) => [c.name, c.code]));

function code(name: string): number {
  const found = byName.get(name);
  if (found === undefined) throw new Error(`no command named ${name} in the wire's command table`);
  return found;
}

export const Code = {
  ping: code('ping'), getStats: code('stats'), getSnapshotFile: code('snapshot'), getClusterMetadata: code('cluster.metadata'),
  describeOptions: code('options.describe'), getMe: code('me'), getClient: code('client.get'), getClients: code('client.list'),
  getUser: code('user.get'), getUsers: code('user.list'), createUser: code('user.create'), deleteUser: code('user.delete'),
  updateUser: code('user.update'), updatePermissions: code('user.permissions'), changePassword: code('user.password'),
  logout: code('user.logout'), loginRegister: code('user.login_register'), loginRegisterWithToken: code('user.login_register_with_pat'),
  getTokens: code('personal_access_token.list'), createToken: code('personal_access_token.create'), deleteToken: code('personal_access_token.delete'),
  pollMessages: code('message.poll'), sendMessages: code('message.send'),
  getOffset: code('consumer_offset.get'), storeOffset: code('consumer_offset.store'), deleteOffset: code('consumer_offset.delete'),
  getStream: code('stream.get'), getStreams: code('stream.list'), createStream: code('stream.create'), deleteStream: code('stream.delete'),
  updateStream: code('stream.update'), purgeStream: code('stream.purge'),
  getTopic: code('topic.get'), getTopics: code('topic.list'), createTopic: code('topic.create'), deleteTopic: code('topic.delete'),
  updateTopic: code('topic.update'), purgeTopic: code('topic.purge'),
  createPartitions: code('partition.create'), deletePartitions: code('partition.delete'), deleteSegments: code('segment.delete'),
  getGroup: code('consumer_group.get'), getGroups: code('consumer_group.list'), createGroup: code('consumer_group.create'),
  deleteGroup: code('consumer_group.delete'), joinGroup: code('consumer_group.join'), leaveGroup: code('consumer_group.leave'),
  syncGroup: code('consumer_group.sync'),
} as const;
