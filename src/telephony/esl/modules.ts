/**
 * Whether the switch has the modules Crossline needs. A switch without them accepts calls but
 * cannot do its part, and does not say so: without the TTS module every announcement is silent,
 * and speak still completes like a success.
 */
import type { EslLogger } from './safely.js';

/**
 * The modules Crossline cannot work without: mod_sofia dials, mod_dptools runs park, playback and
 * speak, and the TTS engine's module speaks the announcements.
 */
export function requiredModules(ttsEngine: string): string[] {
  return ['mod_sofia', 'mod_dptools', `mod_${ttsEngine}`];
}

export interface SwitchModulesDeps {
  /** `api <command>` on the current connection. */
  api(command: string): Promise<string>;
  ttsEngine: string;
  /** Told the missing modules after each check. */
  onChecked(missing: string[]): void;
  logger?: EslLogger;
}

export class SwitchModules {
  readonly #deps: SwitchModulesDeps;
  /** Required modules the switch lacks, as last checked (undefined: not checked yet). */
  #missing: Set<string> | undefined;

  constructor(deps: SwitchModulesDeps) {
    this.#deps = deps;
  }

  /** The required modules the switch lacks, as last checked; undefined until checked. */
  missing(): string[] | undefined {
    return this.#missing === undefined ? undefined : [...this.#missing];
  }

  /**
   * Asks the switch (`module_exists`) for every required module, after each (re)connect; warns
   * about those it lacks. A result for a connection that is gone meanwhile is dropped.
   */
  async check(stillCurrent: () => boolean): Promise<void> {
    const missing = new Set<string>();
    try {
      for (const module of requiredModules(this.#deps.ttsEngine)) {
        if ((await this.#deps.api(`module_exists ${module}`)).trim() === 'false') missing.add(module);
      }
    } catch (error) {
      this.#deps.logger?.debug({ err: (error as Error).message }, 'esl module check failed');
      return;
    }
    if (!stillCurrent()) return;
    this.#missing = missing;
    if (missing.size > 0) {
      this.#deps.logger?.warn({ missingModules: [...missing] }, `the switch lacks modules Crossline needs: ${[...missing].join(', ')}`);
    }
    this.#deps.onChecked([...missing]);
  }

  /**
   * The TTS engine's module when the switch says it is not loaded; undefined when it is, or when
   * that cannot be told now (then speak goes ahead: a speak that says nothing is still caught by
   * its duration).
   */
  async missingTtsModule(): Promise<string | undefined> {
    const module = `mod_${this.#deps.ttsEngine}`;
    let reply: string;
    try {
      reply = (await this.#deps.api(`module_exists ${module}`)).trim();
    } catch {
      return undefined;
    }
    this.#note(module, reply !== 'false');
    return reply === 'false' ? module : undefined;
  }

  /** Records what a module_exists said, so status() stays current between reconnects. */
  #note(module: string, loaded: boolean): void {
    if (!this.#missing) return;
    if (loaded) this.#missing.delete(module);
    else this.#missing.add(module);
  }
}
