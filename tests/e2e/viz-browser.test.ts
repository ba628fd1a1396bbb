// The visualiser in headless chromium, against the Node simulator: the built page is cross-origin isolated,
// replays `npm run sim`'s seed to the same state hash, committed ops and view at the same tick, draws the view
// change that follows its crash-primary control with the checkers green, and its own URL (which recorded that
// control) replays the run exactly. A screenshot lands in test-artifacts/viz.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildPage, launchChromium, openViz, previewPage, runSim, runTo, stopPreview, vizState, type Browser, type VizServer,
} from './helpers/viz.js';

const SEED = 7;
const TICKS = 600;
const artifacts = fileURLToPath(new URL('../../../test-artifacts', import.meta.url));

let server: VizServer;
let browser: Browser;

before(async () => {
  // Both at once; whichever started is stopped by after() even when the other failed.
  const [served, launched] = await Promise.allSettled([buildPage().then(previewPage), launchChromium()]);
  if (served.status === 'fulfilled') server = served.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  if (served.status === 'rejected') throw served.reason;
  if (launched.status === 'rejected') throw launched.reason;
});

after(async () => {
  await browser?.close();
  if (server) await stopPreview(server);
});

test('vite preview sends COOP/COEP on the page and on core.wasm', async () => {
  const page = await fetch(server.url);
  assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const wasm = /assets\/core\.debug-[\w-]+\.wasm/.exec(fs.readdirSync(path.join(server.outDir, 'assets')).map((f) => `assets/${f}`).join(' '))?.[0];
  assert.ok(wasm, 'core.debug.wasm not in the build');
  const asset = await fetch(server.url + wasm);
  assert.equal(asset.headers.get('content-type'), 'application/wasm');
  assert.equal(asset.headers.get('cross-origin-embedder-policy'), 'require-corp');
});

test('the page replays an npm run sim seed exactly, draws a view change after crash-primary, and its URL replays that', async () => {
  const sim = runSim(['--seed', String(SEED), '--hash-every', String(TICKS / 3)]);
  const expected = sim.lines.find((l) => l.tick === TICKS);
  assert.ok(expected, `sim printed no hash at tick ${TICKS}: ${sim.output}`);
  assert.ok(sim.link.startsWith('http://127.0.0.1:4173/?seed=7&'), sim.link);
  const link = server.url + new URL(sim.link).search;

  const page = await openViz(browser, link);
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
  assert.equal(await page.textContent('#coi'), 'true');
  for (const line of sim.lines.filter((l) => l.tick <= TICKS)) {
    const state = await runTo(page, line.tick);
    assert.deepEqual({ tick: state.tick, hash: state.hash, committed: state.committed, view: state.view }, line, `tick ${line.tick}`);
  }
  assert.equal(await page.textContent('#hash'), expected.hash, 'the status bar shows another hash');

  const before = await vizState(page);
  assert.ok(before.primary >= 0, 'no primary at the crash');
  await page.click('#crash-primary');
  const afterCrash = await runTo(page, TICKS + 400);
  assert.ok(afterCrash.viewChanges > before.viewChanges, `no view change drawn (${afterCrash.viewChanges})`);
  assert.ok(afterCrash.view > before.view, `view stayed ${afterCrash.view}`);
  assert.equal(afterCrash.roles[before.primary], 'down');
  assert.ok(afterCrash.primary >= 0 && afterCrash.primary !== before.primary, `new primary ${afterCrash.primary}`);
  assert.deepEqual(afterCrash.violations, []);
  assert.equal(await page.textContent('#checkers'), 'green');
  assert.match(await page.textContent('#log') ?? '', new RegExp(`r${before.primary}: primary → down`));
  assert.match(await page.textContent('#log') ?? '', /→ view change/);
  assert.match(afterCrash.query, new RegExp(`&ev=c[0-9a-z]+-${before.primary}$`));
  assert.equal(new URL(page.url()).search, afterCrash.query, 'the address bar does not carry the recorded control');
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, 'viz.png') });

  const replay = await openViz(browser, page.url());
  const again = await runTo(replay, TICKS + 400);
  assert.equal(again.hash, afterCrash.hash, 'the recorded URL replays another run');
  assert.equal(again.viewChanges, afterCrash.viewChanges);
});

test('every control is recorded in the URL as the event it applied, and the URL replays the run', async () => {
  const page = await openViz(browser, `${server.url}?seed=3&replicas=5&faults=quiet`);
  const slide = (id: string, value: number) => page.$eval(`#${id}`, (el, v) => {
    (el as HTMLInputElement).value = String(v);
    el.dispatchEvent(new Event('change'));
  }, value);
  await runTo(page, 300);
  await page.click('#part-primary');
  await runTo(page, 500);
  await page.click('#heal');
  await page.click('#part-minority');
  await runTo(page, 700);
  await page.click('#heal');
  await page.click('#cluster', { position: { x: 380, y: 62 } }); // r0, at the top of the circle: select it
  await page.click('#part-selected');
  await runTo(page, 800);
  await page.click('#part-oneway');
  await runTo(page, 900);
  await page.click('#heal');
  await slide('loss', 50);
  await slide('dup', 20);
  await slide('delay', 30);
  await page.selectOption('#corrupt-replica', '2');
  await page.click('#corrupt');
  await page.click('#crash-r2');
  await page.click('#load');
  await runTo(page, 1000);
  await page.click('#restart-r2');
  const state = await runTo(page, 1600);
  const letters = new URL(server.url + state.query).searchParams.get('ev')!.split('.').map((e) => e[0]).join('');
  assert.equal(letters, 'phphpohludjcar');
  assert.deepEqual(state.violations, []);
  assert.ok(state.viewChanges >= 2, `view changes ${state.viewChanges}`);
  const log = await page.textContent('#log') ?? '';
  assert.match(log, /control: add 4 clients/);
  assert.match(log, /control: corrupt r2's journal entry for op \d+/);
  assert.match(log, /control: loss 5\.0%/);
  const replay = await openViz(browser, page.url());
  assert.equal((await runTo(replay, 1600)).hash, state.hash, 'the recorded URL replays another run');
});

test('a checker violation stops the run where npm run sim stops it and turns the view red, naming op and replicas', async () => {
  // The core's debug switch: a quorum of 1 lets two primaries commit different prepares at one op.
  const sim = runSim(['--seed', '2', '--release', '--quorum-override', '1', '--hash-every', '1000'], false);
  const violation = /^ {2}violation: (agreement: replica (\d) committed op (\d+) .*)$/m.exec(sim.output);
  assert.ok(violation, `seed 2 with quorum 1 no longer breaks agreement: ${sim.output}`);
  const last = sim.lines.at(-1)!;
  const page = await openViz(browser, server.url + new URL(sim.link).search);
  const state = await runTo(page, last.tick + 500);
  assert.deepEqual({ tick: state.tick, hash: state.hash, committed: state.committed, view: state.view }, last, 'stopped elsewhere');
  assert.equal(state.violations[0], violation[1]);
  assert.equal(await page.evaluate(() => document.body.classList.contains('violated')), true);
  assert.equal(await page.textContent('#checkers'), 'VIOLATED');
  const banner = await page.textContent('#violation') ?? '';
  assert.match(banner, new RegExp(`op ${violation[3]}`));
  assert.match(banner, /\(replica \d committed [0-9a-f]{8}, replica \d [0-9a-f]{8}\)/);
});

test('a bad replay link names its error on the page instead of running', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${server.url}?seed=7&replicas=3&ev=c0-9`);
  await page.waitForSelector('#violation:not([hidden])', { timeout: 10_000 });
  assert.match(await page.textContent('#violation') ?? '', /ReplayLinkInvalid: ev\[0\] 'c0-9': replica 9 outside 0\.\.2/);
});
