// `npm run bench -- <kind> [options]`: one workload against one target (see options.ts for the flags).
// Exit 0 done, 1 the run failed (server did not start, a consumer stalled…), 2 bad options.
import fs from 'node:fs';
import { BenchOptionError, HELP, parseOptions } from './options.js';
import { html, jsonRows, table } from './report.js';
import { runBench } from './run.js';

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof BenchOptionError)) throw error;
    console.error(`bench: ${error.name}: ${error.message}\n${HELP}`);
    return 2;
  }
  if (options === null) {
    console.log(HELP);
    return 0;
  }
  try {
    const result = await runBench(options);
    if (options.json) console.log(JSON.stringify({ results: jsonRows(result) }, null, 2));
    else console.log(table(result));
    if (options.report) {
      fs.writeFileSync(options.report, html(result));
      if (!options.json) console.log(`report: ${options.report}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof BenchOptionError) {
      console.error(`bench: ${error.name}: ${error.message}`);
      return 2;
    }
    console.error(`bench: ${(error as Error).name}: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
