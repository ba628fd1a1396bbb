// One-line logs: `2026-11-28T14:00:00.000Z INFO  [shard-1] message`. Errors and warnings go to stderr.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof LEVELS;

let threshold: number = LEVELS.info;

export function setLogLevel(level: Level): void {
  threshold = LEVELS[level];
}

export function logger(scope: string) {
  const write = (level: Level, message: string) => {
    if (LEVELS[level] < threshold) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}\n`;
    (LEVELS[level] >= LEVELS.warn ? process.stderr : process.stdout).write(line);
  };
  return {
    debug: (m: string) => write('debug', m),
    info: (m: string) => write('info', m),
    warn: (m: string) => write('warn', m),
    error: (m: string) => write('error', m),
  };
}
