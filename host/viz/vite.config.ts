// Vite config of the visualiser (`npm run viz`, `viz:build`, `viz:preview`). Both servers send COOP/COEP so
// the page is cross-origin isolated and the replicas' WebAssembly.Memory is a real SharedArrayBuffer, as in the
// server; whoever hosts build/viz elsewhere must send the same two headers (README "Visualiser").
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  server: { host: '127.0.0.1', port: 5173, headers: crossOriginIsolation, fs: { allow: [repo] } },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: crossOriginIsolation },
  build: {
    outDir: `${repo}build/viz`,
    emptyOutDir: true,
    assetsInlineLimit: 0, // core.wasm stays a file, fetched and compiled while it streams
    target: 'es2022',
  },
});
