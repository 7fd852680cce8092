/**
 * The browser bundles, built with esbuild into dist/web: widget.js (the call-me-back button), its
 * languages other than English (widget-i18n/<lang>.json) and dashboard.js / dashboard.css (the
 * operator dashboard, uPlot included). `npm run build` runs it; the tests call {@link buildWeb}
 * before they load the pages.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const here = __dirname;
const I18N = path.join(here, 'widget', 'i18n');

export interface BuiltFile {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/**
 * libphonenumber-js publishes two builds of the same source: es6/ (what its `exports` point at,
 * transpiled for old browsers, with Babel's class and iterator helpers repeated in every module)
 * and es6-modern/ (plain ES2020 classes). The button targets ES2022 browsers, so it takes the
 * modern one: about 20 kB less code before gzip. Fails the build if that folder ever goes away.
 */
const modernLibphonenumber: Plugin = {
  name: 'libphonenumber-js-modern',
  setup(b) {
    b.onLoad({ filter: /[\\/]libphonenumber-js[\\/]es6[\\/].*\.js$/ }, (args) => {
      const modern = args.path.replace(/([\\/])es6([\\/])/, '$1es6-modern$2');
      if (!existsSync(modern)) throw new Error(`libphonenumber-js has no es6-modern build of ${args.path}`);
      return { contents: readFileSync(modern, 'utf8'), loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

/** The widget's languages: one JSON file each in src/web/widget/i18n (en is bundled). */
export function widgetLanguages(): string[] {
  return readdirSync(I18N)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Builds every bundle into `outDir` (default dist/web at the package root); returns their sizes. */
export async function buildWeb(outDir = path.join(here, '..', '..', 'dist', 'web')): Promise<BuiltFile[]> {
  mkdirSync(path.join(outDir, 'widget-i18n'), { recursive: true });
  const common = { bundle: true, minify: true, format: 'iife', target: 'es2022', legalComments: 'none', logLevel: 'warning' } as const;
  const langs = widgetLanguages();
  await build({
    ...common,
    entryPoints: [path.join(here, 'widget', 'widget.ts')],
    outfile: path.join(outDir, 'widget.js'),
    define: { CROSSLINE_LANGS: JSON.stringify(langs) },
    plugins: [modernLibphonenumber],
  });
  const extra = langs.filter((lang) => lang !== 'en');
  for (const lang of extra) {
    const texts: unknown = JSON.parse(readFileSync(path.join(I18N, `${lang}.json`), 'utf8'));
    writeFileSync(path.join(outDir, 'widget-i18n', `${lang}.json`), JSON.stringify(texts));
  }
  await build({ ...common, entryPoints: [path.join(here, 'dashboard', 'dashboard.ts')], outfile: path.join(outDir, 'dashboard.js') });
  return ['widget.js', ...extra.map((lang) => `widget-i18n/${lang}.json`), 'dashboard.js', 'dashboard.css'].map((name) => {
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
