import { createChallenge, extractParams, verifySolution } from 'altcha-lib/v1';
import type { Challenge, Payload } from 'altcha-lib/v1/types';
import { CrosslineError } from '../../errors.js';
import type { RedisClient } from '../../store/index.js';

/** The proof-of-work a visitor's browser sends back (ALTCHA's payload). */
export interface ChallengeSolution {
  algorithm: string;
  challenge: string;
  number: number;
  salt: string;
  signature: string;
}

export interface ChallengeOptions {
  redis: RedisClient;
  /** Key prefix for the used-solution marks. */
  prefix: string;
  secret: string;
  /** The largest number the browser may have to try (the cost). */
  maxNumber: number;
  /** How long a challenge may be solved and used. @defaultValue 300 */
  ttlSec?: number;
}

/**
 * Self-hosted proof of work (ALTCHA, SHA-256): a challenge is bound to one site key and expires;
 * a solved challenge is accepted once (its signature is marked used in Redis until it expires).
 * Nothing goes to a third party.
 */
export class ProofOfWork {
  private readonly ttlSec: number;
  constructor(private readonly options: ChallengeOptions) {
    this.ttlSec = options.ttlSec ?? 300;
  }

  issue(siteKey: string, now = Date.now()): Promise<Challenge> {
    return createChallenge({
      hmacKey: this.options.secret,
      maxNumber: this.options.maxNumber,
      expires: new Date(now + this.ttlSec * 1000),
      params: { site: siteKey },
    });
  }

  /** Throws CHALLENGE_FAILED (wrong, expired, another site's) or CHALLENGE_REPLAYED (used before). */
  async redeem(solution: ChallengeSolution, siteKey: string): Promise<void> {
    const payload = solution as Payload;
    let valid = false;
    try {
      valid = solution.algorithm === 'SHA-256' && (await verifySolution(payload, this.options.secret, true));
    } catch {
      valid = false;
    }
    if (!valid) throw new CrosslineError('CHALLENGE_FAILED');
    const params = extractParams(payload);
    if (params.site !== siteKey) throw new CrosslineError('CHALLENGE_FAILED', 'The proof-of-work was issued for another site.');
    const expires = Number(params.expires) * 1000;
    const ttlMs = Math.max(1000, expires - Date.now() + 1000);
    const first = await this.options.redis.set(`${this.options.prefix}:pow:${solution.signature}`, '1', 'PX', ttlMs, 'NX');
    if (first === null) throw new CrosslineError('CHALLENGE_REPLAYED');
  }
}
