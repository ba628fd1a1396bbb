// The visualiser in a real browser: builds the page with vite into a temp directory, serves it with `vite
// preview` (the COOP/COEP headers under test come from its config), and drives Debian's chromium through
// playwright-core (no browser download: CI installs the `chromium` package with apt, .ci/run).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort, waitFor } from './server.js';

const repo = fileURLToPath(new URL('../../../..', import.meta.url)); // from dist/tests/e2e/helpers
const vite = path.join(repo, 'node_modules', '.bin', 'vite');
const config = path.join(repo, 'host', 'viz', 'vite.config.ts');
export const CHROMIUM = '/usr/bin/chromium';
const BOOT_BOUND_MS = 15_000;

export interface VizServer {
  url: string; // http://127.0.0.1:PORT/
  outDir: string;
  child: ChildProcess;
  output: () => string;
}

// Type-checks the page (vite only strips types) and builds it, as `npm run viz:build` does; the two run at once.
export async function buildPage(): Promise<string> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-viz-'));
  const [tsc, build] = await Promise.all([
    run(path.join(repo, 'node_modules', '.bin', 'tsc'), ['-p', path.join(repo, 'host', 'viz', 'tsconfig.json')]),
    run(vite, ['build', '--config', config, '--outDir', outDir, '--logLevel', 'warn', '--bypass-lock']),
  ]);
  if (tsc.code !== 0) throw new Error(`host/viz does not type-check: ${tsc.output}`);
  if (build.code !== 0) throw new Error(`vite build failed (${build.code}): ${build.output}`);
  // A node:* module reached from the page builds, as an empty stub that fails at run time: refuse it here.
  const external = /Module "([^"]+)" has been externalized for browser compatibility, imported by "([^"]+)"/.exec(build.output);
  if (external) throw new Error(`the page imports ${external[1]} (from ${external[2]}): browser code must not reach node:* modules`);
  return outDir;
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

export async function previewPage(outDir: string): Promise<VizServer> {
  const port = await freePort();
  const child = spawn(vite, ['preview', '--config', config, '--outDir', outDir, '--port', String(port), '--strictPort', '--bypass-lock'], {
    cwd: repo, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => { text += d; });
  child.stderr!.on('data', (d) => { text += d; });
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(`vite preview on ${url} (output: ${text})`, BOOT_BOUND_MS, async () => {
    if (child.exitCode !== null) throw new Error(`vite preview exited ${child.exitCode}: ${text}`);
    const response = await fetch(url).catch(() => undefined);
    return response?.ok ? true : undefined;
  });
  return { url, outDir, child, output: () => text };
}

export async function stopPreview(server: VizServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(server.outDir, { recursive: true, force: true });
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install -y chromium (.ci/run installs it)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'shardlog-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1260, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Opens the page at `url` and waits for the core to load and the first run to start.
export async function openViz(browser: Browser, url: string): Promise<Page> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(url);
  await page.waitForFunction(() => 'viz' in globalThis, undefined, { timeout: BOOT_BOUND_MS });
  await page.evaluate(() => (globalThis as unknown as { viz: { ready: Promise<boolean> } }).viz.ready).catch((error) => {
    throw new Error(`page failed to start: ${error} ${errors.join('; ')}`);
  });
  return page;
}

export interface VizState {
  tick: number; hash: string; committed: number; view: number; viewChanges: number; violations: string[];
  primary: number; roles: string[]; query: string;
}

type VizApi = {
  state(): VizState; runTo(tick: number): VizState; pause(): void; play(speed: number | 'max'): void;
  rates(): { ticksPerSecond: number; framesPerSecond: number; framesDrawn: number; drawMs: number };
};

export function runTo(page: Page, tick: number): Promise<VizState> {
  return page.evaluate((t) => (globalThis as unknown as { viz: VizApi }).viz.runTo(t), tick);
}

export function vizState(page: Page): Promise<VizState> {
  return page.evaluate(() => (globalThis as unknown as { viz: VizApi }).viz.state());
}

export function play(page: Page, speed: number | 'max'): Promise<void> {
  return page.evaluate((s) => (globalThis as unknown as { viz: VizApi }).viz.play(s), speed);
}

export function rates(page: Page): Promise<{ ticksPerSecond: number; framesPerSecond: number; framesDrawn: number; drawMs: number }> {
  return page.evaluate(() => (globalThis as unknown as { viz: VizApi }).viz.rates());
}

// `npm run sim` for the same seed, as the CLI prints it: the link, and per N ticks the state hash line.
export interface SimLine { tick: number; hash: string; committed: number; view: number }

// `pass`: whether the run must PASS (exit 0) or FAIL (exit 1, a violation).
export function runSim(args: string[], pass = true): { link: string; lines: SimLine[]; ticksPerSecond: number; output: string } {
  const result = spawnSync(process.execPath, ['--no-liftoff', path.join(repo, 'dist', 'host', 'sim', 'main.js'), ...args], { encoding: 'utf8' });
  const output = result.stdout + result.stderr;
  if (result.status !== (pass ? 0 : 1)) throw new Error(`npm run sim -- ${args.join(' ')} failed (${result.status}): ${output}`);
  const link = /^link (\S+)$/m.exec(output)?.[1];
  if (!link) throw new Error(`no link in sim output: ${output}`);
  const lines = [...output.matchAll(/^tick (\d+) hash ([0-9a-f]{16}) committed (\d+) view (\d+)$/gm)]
    .map((m) => ({ tick: Number(m[1]), hash: m[2], committed: Number(m[3]), view: Number(m[4]) }));
  const ticksPerSecond = Number(/ (\d+) ticks\/s$/m.exec(output)?.[1] ?? NaN);
  return { link, lines, ticksPerSecond, output };
}
