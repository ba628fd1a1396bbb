// Colours of the views: one per VSR command (arrows), one per replica role (nodes).
import { Command, Status } from '../../shared/vsr-abi.js';

export const COMMAND_COLOURS: Record<number, string> = {
  [Command.Request]: '#8fa3b8',
  [Command.Prepare]: '#4e9af1',
  [Command.PrepareOk]: '#34c38f',
  [Command.Reply]: '#c9d1d9',
  [Command.Commit]: '#a371f7',
  [Command.StartViewChange]: '#f0883e',
  [Command.DoViewChange]: '#f778ba',
  [Command.StartView]: '#ffd33d',
  [Command.RequestStartView]: '#db6d28',
  [Command.RequestPrepares]: '#56d4dd',
  [Command.RepairPrepare]: '#2ea043',
};

export const COMMAND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Command).map(([name, value]) => [value, name]),
);

export type Role = 'primary' | 'backup' | 'view change' | 'recovering' | 'down';

export const ROLE_COLOURS: Record<Role, string> = {
  primary: '#e3b341',
  backup: '#388bfd',
  'view change': '#f0883e',
  recovering: '#a371f7',
  down: '#484f58',
};

export function roleOf(alive: boolean, status: number, primary: boolean): Role {
  if (!alive) return 'down';
  if (status === Status.ViewChange) return 'view change';
  if (status === Status.Recovering) return 'recovering';
  return primary ? 'primary' : 'backup';
}
