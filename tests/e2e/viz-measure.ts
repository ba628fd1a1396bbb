// `npm run viz:measure [-- SEED TICKS]`: simulated ticks/s and frames drawn/s of the visualiser in headless chromium, for 3 and
// 5 replicas, next to `npm run sim`'s ticks/s for the same seed in Node. Not a test (it asserts nothing about
// speed); it prints a table for the README. Both sides time the same ticks: the fault phase of
// the default fault mix (20000 ticks unless given), where clients keep the cluster busy (once faults stop and the run converges, ticks are
// nearly free and would flatter the rate).
import { buildPage, launchChromium, openViz, play, previewPage, rates, runSim, runTo, stopPreview, vizState } from './helpers/viz.js';

const SEED = Number(process.argv[2] ?? 7);
const TICKS = Number(process.argv[3] ?? 20_000);

const server = await previewPage(await buildPage());
const browser = await launchChromium();
try {
  console.log(`seed ${SEED}, default faults, first ${TICKS} ticks`);
  console.log('replicas  core     node ticks/s  page ticks/s (no drawing)  page ticks/s (max speed, drawn)  frames/s (max)  frames/s (30 ticks/s)');
  for (const replicas of [3, 5]) {
    for (const core of ['debug', 'release'] as const) {
      const node = runSim(['--seed', String(SEED), '--replicas', String(replicas), '--ticks', String(TICKS), ...(core === 'release' ? ['--release'] : [])]);
      const url = `${server.url}?seed=${SEED}&replicas=${replicas}&ticks=${TICKS}&faults=default${core === 'release' ? '&core=release' : ''}`;
      const bare = await openViz(browser, url);
      const b0 = performance.now();
      await runTo(bare, TICKS);
      const bareTps = (TICKS * 1000) / (performance.now() - b0);
      await bare.close();

      const page = await openViz(browser, url);
      const f0 = (await rates(page)).framesDrawn;
      const start = (await vizState(page)).tick;
      const t0 = performance.now();
      await play(page, 'max');
      await page.waitForFunction((t) => (globalThis as unknown as { viz: { state(): { tick: number } } }).viz.state().tick >= t, TICKS, { timeout: 120_000, polling: 50 });
      const seconds = (performance.now() - t0) / 1000;
      const end = (await vizState(page)).tick;
      const frames = (await rates(page)).framesDrawn - f0;
      await play(page, 30);
      await page.waitForTimeout(2500);
      const normalFps = (await rates(page)).framesPerSecond;
      console.log(`${String(replicas).padEnd(10)}${core.padEnd(9)}${String(node.ticksPerSecond).padStart(12)}  ${bareTps.toFixed(0).padStart(25)}  ` +
        `${((end - start) / seconds).toFixed(0).padStart(32)}  ${(frames / seconds).toFixed(0).padStart(14)}  ${normalFps.toFixed(0).padStart(21)}`);
      await page.close();
    }
  }
} finally {
  await browser.close();
  await stopPreview(server);
}
