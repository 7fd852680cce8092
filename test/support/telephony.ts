import { connectTelephony, parseEslUrl, type EslTelephony, type EslTelephonyOptions } from '../../src/telephony/index.js';

/**
 * An ESL client of Crossline's connected to `eslUrl` (the simulator's `sim.url`, or a real
 * switch's esl:// URL), with the options most tests use: numbers in E.164 through the `default`
 * gateway, the `external` profile, flite/kal, 2 s api timeout, 3 s to connect. The caller closes it.
 */
export function connectTestTelephony(eslUrl: string, overrides: Partial<EslTelephonyOptions> = {}, connectTimeoutMs = 3000): Promise<EslTelephony> {
  return connectTelephony(
    {
      ...parseEslUrl(eslUrl),
      apiTimeoutMs: 2000,
      dialGateway: 'default',
      dialNumberFormat: 'e164',
      sipProfile: 'external',
      ttsEngine: 'flite',
      ttsVoice: 'kal',
      ...overrides,
    },
    { timeoutMs: connectTimeoutMs },
  );
}
