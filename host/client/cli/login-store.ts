// Where `shardlog login` keeps its personal access token: $XDG_CONFIG_HOME/shardlog/login.json (~/.config when
// unset), the directory 0700 and the file 0600 (it is a credential), written to a temporary name and renamed so a
// reader never sees half a file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface StoredLogin {
  address: string;
  username: string;
  tokenName: string; // to delete it on logout
  token: string;
  tlsCa?: string;
  transport?: 'tcp' | 'http'; // absent in logins stored before HTTP: tcp
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'shardlog');
}

export function loginFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'login.json');
}

export function readLogin(env: NodeJS.ProcessEnv = process.env): StoredLogin | null {
  const file = loginFile(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const value = JSON.parse(text) as Partial<StoredLogin>;
  if (typeof value.token !== 'string' || typeof value.address !== 'string' || typeof value.tokenName !== 'string') {
    throw new Error(`${file} is not a shardlog login (remove it, or run \`shardlog logout\`)`);
  }
  return value as StoredLogin;
}

export function writeLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = loginFile(env);
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temp, 0o600); // the umask cannot widen it, but an existing temp file would keep its mode
  fs.renameSync(temp, file);
  return file;
}

export function removeLogin(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    fs.unlinkSync(loginFile(env));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
