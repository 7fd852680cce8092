import metadata from 'libphonenumber-js/metadata.min.json';

type Metadata = typeof metadata;

const cache = new Map<string, unknown>();

/**
 * libphonenumber-js's `min` metadata cut down to `countries`: the button formats and checks
 * numbers of those countries only, so it downloads their rules (about 1 kB for one country)
 * instead of every country's (about 30 kB gzip).
 */
export function phoneMetadataFor(countries: readonly string[]): unknown {
  const key = [...countries].sort().join(',');
  const cached = cache.get(key);
  if (cached) return cached;
  const wanted = new Set(countries);
  const source = metadata as Metadata & { countries: Record<string, unknown>; country_calling_codes: Record<string, string[]> };
  const callingCodes: Record<string, string[]> = {};
  for (const [code, list] of Object.entries(source.country_calling_codes)) {
    const kept = list.filter((c) => wanted.has(c));
    if (kept.length > 0) callingCodes[code] = kept;
  }
  const cut = {
    version: source.version,
    country_calling_codes: callingCodes,
    countries: Object.fromEntries(Object.entries(source.countries).filter(([c]) => wanted.has(c))),
    nonGeographic: {},
  };
  if (cache.size < 256) cache.set(key, cut);
  return cut;
}
