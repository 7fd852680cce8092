import { parseMessage } from './src/intake/commands/grammar.ts';
const ctx = { now: new Date('2026-12-07T14:00:00Z'), timeZone: 'Europe/London' };
for (const t of process.argv.slice(2)) console.log(JSON.stringify(t), '=>', JSON.stringify(parseMessage({ text: t }, ctx)));
