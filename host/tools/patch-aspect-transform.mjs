// @as-pect/transform 8.1.0 was compiled against assemblyscript 0.27 with TS const enums inlined
// (`kind === 51 /* NodeKind.ClassDeclaration */`). NodeKind moved by one in 0.28, so class matchers break.
// Rewrite every inlined NodeKind number from the installed compiler's enum. Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let transformDir;
try {
  transformDir = path.join(path.dirname(require.resolve('@as-pect/transform/package.json')), 'lib');
} catch {
  process.exit(0); // production install without dev dependencies: nothing to patch
}
const { NodeKind } = await import('assemblyscript');
let patched = 0;
for (const file of fs.readdirSync(transformDir).filter((f) => f.endsWith('.js'))) {
  const full = path.join(transformDir, file);
  const src = fs.readFileSync(full, 'utf8');
  const out = src.replace(/\b(\d+) \/\* NodeKind\.(\w+) \*\//g, (_, _n, name) => {
    if (NodeKind[name] === undefined) throw new Error(`patch-aspect-transform: NodeKind.${name} missing in assemblyscript`);
    return `${NodeKind[name]} /* NodeKind.${name} */`;
  });
  if (out !== src) { fs.writeFileSync(full, out); patched++; }
}
if (patched) console.log(`patch-aspect-transform: rewrote NodeKind constants in ${patched} file(s)`);
