/**
 * The browser bundles, built with esbuild into dist/web: widget.js (the call-me-back button) and
 * dashboard.js / dashboard.css (the operator dashboard, uPlot included). `npm run build` runs it; the tests call
 * {@link buildWeb} before they load the pages.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = __dirname;

export interface BuiltFile {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/** Builds every bundle into `outDir` (default dist/web at the package root); returns their sizes. */
export async function buildWeb(outDir = path.join(here, '..', '..', 'dist', 'web')): Promise<BuiltFile[]> {
  mkdirSync(outDir, { recursive: true });
  const common = { bundle: true, minify: true, format: 'iife', target: 'es2022', legalComments: 'none', logLevel: 'warning' } as const;
  await build({ ...common, entryPoints: [path.join(here, 'widget', 'widget.ts')], outfile: path.join(outDir, 'widget.js') });
  await build({ ...common, entryPoints: [path.join(here, 'dashboard', 'dashboard.ts')], outfile: path.join(outDir, 'dashboard.js') });
  return ['widget.js', 'dashboard.js', 'dashboard.css'].map((name) => {
    const content = readFileSync(path.join(outDir, name));
    return { file: name, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
  });
}

if (require.main === module) {
  buildWeb().then(
    (files) => {
      for (const f of files) process.stdout.write(`dist/web/${f.file}: ${f.bytes} bytes, ${f.gzipBytes} gzip\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
