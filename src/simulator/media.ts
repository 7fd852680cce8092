/**
 * What the simulated switch can play: its loaded modules (`module_exists`, the TTS engine of
 * `speak`) and its sound files (`playback`). Both are configurable so that tests can reproduce the
 * failures of shared/esl-traces o-app-failures: a `speak` whose TTS module is not loaded returns
 * at once with `_none_`, like a success; a `playback` of a missing file returns at once with
 * `FILE NOT FOUND`.
 */

/** The modules of the m–r capture switch (traces README), which is what FreeSWITCH answers `module_exists` from. */
export const DEFAULT_MODULES: readonly string[] = [
  'mod_console', 'mod_logfile', 'mod_event_socket', 'mod_sofia', 'mod_loopback', 'mod_commands', 'mod_dptools',
  'mod_expr', 'mod_hash', 'mod_db', 'mod_callcenter', 'mod_sms', 'mod_spandsp', 'mod_voicemail', 'mod_dialplan_xml',
  'mod_native_file', 'mod_sndfile', 'mod_tone_stream', 'mod_say_en', 'mod_flite', 'mod_conference', 'mod_fifo',
  'mod_avmd', 'mod_opus',
];

/** Playback sources that are generated, not read from disk: they always exist. */
const GENERATED = /^(tone_stream|silence_stream):\/\/|^say:/;

export class MediaLibrary {
  private readonly modules: Set<string>;
  private files: ReadonlySet<string> | undefined;

  constructor(modules: readonly string[], soundFiles: readonly string[] | undefined) {
    this.modules = new Set(modules);
    this.files = soundFiles === undefined ? undefined : new Set(soundFiles);
  }

  hasModule(name: string): boolean {
    return this.modules.has(name);
  }

  setModule(name: string, loaded: boolean): void {
    if (loaded) this.modules.add(name);
    else this.modules.delete(name);
  }

  /** undefined: every file path exists. */
  setSoundFiles(paths: readonly string[] | undefined): void {
    this.files = paths === undefined ? undefined : new Set(paths);
  }

  fileExists(path: string): boolean {
    return GENERATED.test(path) || this.files === undefined || this.files.has(path);
  }

  /** `speak <engine>|<voice>|<text>` needs `mod_<engine>`. */
  canSpeak(arg: string): boolean {
    const engine = arg.split('|')[0] ?? '';
    return this.hasModule(`mod_${engine}`);
  }
}
