/**
 * The button's texts. English is in the bundle; every other language is a JSON file of the same
 * keys (src/web/widget/i18n/<lang>.json), served next to widget.js and fetched only by a page in
 * that language, so a language costs nothing to the pages that do not use it. `{site}`, `{time}`
 * are filled in.
 */
import EN from './i18n/en.json';

export type TextKey = keyof typeof EN;
export type Texts = Record<TextKey, string>;
export type Lang = string;

/** The languages the build found in src/web/widget/i18n (set by src/web/build.ts). */
declare const CROSSLINE_LANGS: readonly string[];

export const ENGLISH: Texts = EN;

/** The element's `lang`, else the page's, else the browser's first supported language, else English. */
export function pickLang(element: HTMLElement): Lang {
  const candidates = [element.getAttribute('lang'), element.closest('[lang]')?.getAttribute('lang'), ...navigator.languages];
  for (const tag of candidates) {
    const base = (tag ?? '').toLowerCase().split('-')[0] ?? '';
    if (CROSSLINE_LANGS.includes(base)) return base;
  }
  return 'en';
}

const loading = new Map<string, Promise<Texts>>();

/** The texts of `lang`, fetched once per page from `api`; English when that fails. */
export function textsFor(api: string, lang: Lang): Promise<Texts> {
  if (lang === 'en') return Promise.resolve(ENGLISH);
  let texts = loading.get(lang);
  if (!texts) {
    texts = fetch(`${api}/widget/i18n/${lang}.json`, { credentials: 'omit' })
      .then((res) => (res.ok ? (res.json() as Promise<Partial<Texts>>) : {}))
      .then((got) => ({ ...ENGLISH, ...got }), () => ENGLISH);
    loading.set(lang, texts);
  }
  return texts;
}
