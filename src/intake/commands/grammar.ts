import Fuse from 'fuse.js';
import { labelOf } from '../../directory/resolve.js';
import type { PhoneLabel } from '../../directory/types.js';
import { findTime, type FoundTime, type TimeProblem } from './time.js';

/** Which of the sender's own phones rings: a label ("from my work phone") or a number ("on +1 202 555 0102"). */
export type CallerSpec = { kind: 'label'; label: PhoneLabel } | { kind: 'number'; text: string } | { kind: 'unknown'; text: string };

export type Command =
  | { kind: 'call'; who: string; from?: CallerSpec; when?: FoundTime; timeProblem?: TimeProblem }
  | { kind: 'status' }
  | { kind: 'cancel' }
  | { kind: 'help' }
  | { kind: 'verify'; code: string }
  | { kind: 'choose'; index: number }
  /** "alert me when +1 202 555 0101 calls": alerts of calls to one of the sender's lines (seed 000, claim 12). */
  | { kind: 'alert-on'; line: LineSpec }
  /** "alerts off" (every registration of the sender), "alerts off for +1 202 555 0101" (that line's). */
  | { kind: 'alert-off'; line?: LineSpec }
  /** "alerts": the sender's registrations. */
  | { kind: 'alert-list' }
  /** "prove +1 202 555 0101": call the line with a code that proves it is the sender's. */
  | { kind: 'alert-code'; line: LineSpec; via?: 'sms' }
  | { kind: 'unknown' };

/** The line an alert command names: a number, one of the sender's own phones by label, or "my line". */
export type LineSpec = { kind: 'number'; text: string } | { kind: 'label'; label: PhoneLabel } | { kind: 'mine' } | { kind: 'unknown'; text: string };

export interface ParseContext {
  now: Date;
  /** The sender's IANA time zone: times are read in it. */
  timeZone: string;
}

type Build = (m: RegExpExecArray, ctx: ParseContext) => Command;

interface Rule {
  kind: Command['kind'];
  patterns: RegExp[];
  build: Build;
}

const ORDINALS: Record<string, number> = { first: 1, '1st': 1, second: 2, '2nd': 2, third: 3, '3rd': 3, fourth: 4, '4th': 4, fifth: 5, '5th': 5, one: 1, two: 2, three: 3, four: 4, five: 5 };

/** The call verbs, as people (mis)type them: the words a `call` command may start with. */
const CALL_VERBS = String.raw`(?:call back|call-back|callback|callbak|ring up|telephone|calll|call|caal|cal|cll|clal|cakk|ca11|ring|rign|phone|phnoe|phoen|fone|dial|dail|tel)`;

/** The verbs of "alert me …": what people write to be told of calls. */
const ALERT_VERBS = String.raw`(?:alert|alret|allert|alrt|notify|tell|warn|ping|message|text|e-?mail|inform|let)\s+me(?:\s+know)?`;
/** What a watched line does in "alert me when <line> …". */
const RINGS = String.raw`(?:calls|rings|is called|is ringing|gets (?:a )?calls?|receives (?:a )?calls?|has (?:a|an incoming) call)`;
/** A phone number as written: digits with spaces, dots, dashes, brackets, an optional + or tel:. */
const NUMBER_TEXT = /^(?:tel:)?\+?\(?\d[\d ().\-/]{5,}\d$/i;

/** The line an alert command names. */
function lineSpec(text: string | undefined): LineSpec | undefined {
  const t = (text ?? '').trim().replace(/[\s.,!?:;]+$/, '');
  if (t === '') return undefined;
  if (NUMBER_TEXT.test(t)) return { kind: 'number', text: t };
  if (/^(?:my|our)\s+(?:phone|number|line|phone number|phone line)$/i.test(t)) return { kind: 'mine' };
  const own = /^(?:my|our)\s+(.+)$/i.exec(t);
  const label = own?.[1] !== undefined ? labelOf(own[1]) : undefined;
  if (label) return { kind: 'label', label };
  return { kind: 'unknown', text: t };
}

/** The grammar, first match wins. Patterns see one normalised line (see {@link normaliseLine}). */
const RULES: readonly Rule[] = [
  // Before `call`: "call alerts on …" is about alerts, not a call to someone named "alerts".
  {
    kind: 'alert-list',
    patterns: [/^(?:(?:list|show|show me|see|view|check|which|what(?: are)?)\s+)?(?:(?:my|all(?: my)?|the|current)\s+)?(?:call\s+)?(?:alerts|alerst|alrets|allerts)(?:\s+(?:list|status|do i have|are on|are set(?: up)?|have i set(?: up)?))?$/i],
    build: () => ({ kind: 'alert-list' }),
  },
  {
    kind: 'alert-off',
    patterns: [
      /^(?:call\s+)?alerts?\s+off(?:\s+(?:for|on|to)?\s*(.+))?$/i,
      /^(?:stop|turn off|switch off|disable|remove|delete|cancel|end|no more|unsubscribe(?: from)?)\s+(?:(?:all|my|the|any)\s+)*(?:call\s+)?alerts?(?:\s+(?:for|on|to|about)\s+(?:calls\s+(?:to|on)\s+)?(.+))?$/i,
      /^(?:stop|don'?t|do not|quit)\s+(?:alerting|notifying|telling|messaging|texting)\s+me(?:\s+(?:of|about|for|on|when)\s+(?:calls\s+(?:to|on)\s+)?(.+?)(?:\s+(?:calls|rings|is called))?)?$/i,
    ],
    build: (m) => {
      const line = lineSpec(m[1]);
      return { kind: 'alert-off', ...(line ? { line } : {}) };
    },
  },
  {
    kind: 'alert-code',
    patterns: [
      /^(?:text|sms)\s+(?:me\s+)?(?:the\s+|a\s+)?(?:line\s+|alert\s+)?code\s+(?:to|on|for)\s+(.+)$()/i,
      /^(?:prove|verify|confirm|check)\s+(?:(?:my|the|that)\s+)?(?:line|number|phone|phone number)\s+(.+?)(?:\s+(by (?:text|sms|text message)))?$/i,
      /^prove\s+(?:that\s+)?(.+?)(?:\s+is mine)?(?:\s+(by (?:text|sms|text message)))?$/i,
      /^(?:send|call|ring)\s+(?:me\s+)?(?:the\s+|a\s+)?(?:line\s+|alert\s+)?code\s+(?:to|on|for)\s+(.+?)(?:\s+(by (?:text|sms|text message)))?$/i,
    ],
    build: (m) => ({ kind: 'alert-code', line: lineSpec(m[1]) ?? { kind: 'unknown', text: '' }, ...(m[2] !== undefined ? { via: 'sms' as const } : {}) }),
  },
  {
    kind: 'alert-on',
    patterns: [
      new RegExp(String.raw`^${ALERT_VERBS}\s+(?:when(?:ever)?|if|each time|every time|as soon as)\s+(?:someone\s+calls\s+|anyone\s+calls\s+|there is a call (?:to|on)\s+)?(.+?)(?:\s+${RINGS})?$`, 'i'),
      new RegExp(String.raw`^${ALERT_VERBS}\s+(?:of|about|on|for)\s+(?:(?:all|any|every|incoming)\s+)*calls?\s+(?:to|on|for)\s+(.+)$`, 'i'),
      /^(?:(?:turn on|switch on|enable|start|set up|setup|add)\s+)?(?:call\s+)?alerts?\s+(?:on|for|to)\s+(?:calls\s+(?:to|on)\s+)?(.+)$/i,
      /^(?:watch|monitor)\s+(?:calls\s+(?:to|on)\s+)?(.+)$/i,
      /^(?:(?:turn|switch)\s+)?(?:call\s+)?alerts?\s+on$/i,
      /^(?:turn on|switch on|enable|start)\s+(?:call\s+)?alerts?$/i,
    ],
    build: (m) => ({ kind: 'alert-on', line: lineSpec(m[1]) ?? { kind: 'mine' } }),
  },
  {
    kind: 'verify',
    patterns: [/^(?:verify|verification|confirm|code|verification code|my code is|the code is)\s*(?:code)?\s*[:#-]?\s*(\d{6})$/i, /^(\d{6})$/],
    build: (m) => ({ kind: 'verify', code: m[1] ?? '' }),
  },
  {
    kind: 'choose',
    patterns: [/^(?:#|no\.?|number|option|choice|pick|choose|take)?\s*(\d{1,2})$/i, /^(?:(?:pick|choose|take|call)\s+)?(?:the\s+|number\s+|option\s+)?(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|one|two|three|four|five)(?:\s+one)?$/i],
    build: (m) => {
      const word = (m[1] ?? '').toLowerCase();
      return { kind: 'choose', index: ORDINALS[word] ?? Number(word) };
    },
  },
  {
    kind: 'help',
    patterns: [/^(?:help|help me|h|\?+|commands|command list|menu|usage|info|how does (?:this|it) work|what can you do|what do i do|hlep|halp|hepl|hellp|helo)$/i],
    build: () => ({ kind: 'help' }),
  },
  {
    kind: 'status',
    patterns: [
      /^(?:status|stat|stats|staus|statsu|satus|sttus|statys|state|update|progress|any news|news|any update|call status|check status|status update|status of (?:my|the) call|status please|what'?s (?:the )?status|what is the status|how is it going|how'?s it going|what'?s happening|where is my call|did it work|is it done)$/i,
    ],
    build: () => ({ kind: 'status' }),
  },
  {
    kind: 'cancel',
    patterns: [/^(?:cancel|cancle|cancell|cansel|cancel it|cancel that|cancel the call|cancel my call|cancel call|cancel please|stop|stop it|stop the call|abort|never ?mind|forget it|forget that|hang up|don'?t call|do not call|no stop|call off|call it off)$/i],
    build: () => ({ kind: 'cancel' }),
  },
  {
    kind: 'call',
    patterns: [
      new RegExp(String.raw`^${CALL_VERBS}(?:\s*[:,-]\s*|\s+)(?:to\s+)?(.+)$`, 'i'),
      /^(?:give|get)\s+(.+?)\s+(?:a\s+)?(?:call|ring|buzz|phone call)\b(.*)$/i,
      /^(?:connect|patch|put)\s+me\s+(?:through\s+)?(?:to|with)\s+(.+)$/i,
      /^(?:get me|reach|contact)\s+(.+)$/i,
      /^(?:set up|setup|arrange|schedule|book|start|make)\s+(?:a\s+)?(?:call|phone call|callback)\s+(?:with|to|for)\s+(.+)$/i,
      /^(?:i(?:\s+(?:want|need|would like|wanna)|'d like|'d love)\s+to\s+)?(?:talk|speak)\s+(?:to|with)\s+(.+)$/i,
      /^i(?:\s+(?:want|need|would like)|'d like)\s+to\s+call\s+(.+)$/i,
    ],
    build: (m, ctx) => parseCall(`${m[1] ?? ''}${m[2] ?? ''}`, ctx),
  },
];

/** Words the first word of a line is fuzzily matched against (a typo's fallback), and what they become. */
const KEYWORDS: ReadonlyArray<{ word: string; as: string }> = [
  { word: 'call', as: 'call' },
  { word: 'ring', as: 'ring' },
  { word: 'phone', as: 'phone' },
  { word: 'dial', as: 'dial' },
  { word: 'callback', as: 'callback' },
  { word: 'cancel', as: 'cancel' },
  { word: 'status', as: 'status' },
  { word: 'help', as: 'help' },
  { word: 'verify', as: 'verify' },
  { word: 'alert', as: 'alert' },
  { word: 'alerts', as: 'alerts' },
];
const KEYWORD_INDEX = new Fuse(KEYWORDS, { keys: ['word'], includeScore: true, threshold: 0.34, ignoreLocation: true, minMatchCharLength: 3 });

const REPLY_PREFIX = /^(?:\s*(?:re|fwd?|aw|wg|tr|sv|vs|antw|rif|réf)\s*(?:\[\d+\])?\s*:\s*)+/i;
const GREETING = /^(?:(?:hi|hello|hey|hiya|yo|ok|okay|so|good (?:morning|afternoon|evening)|dear)\b(?:\s+(?:there|crossline|bot|team))?[\s,!.:;-]*)+/i;
const ADDRESSING = /^(?:@?crossline|bot)\b[\s,:;!-]*/i;
const POLITE = /^(?:(?:please|pls|plz|plse|pleas|pleaase|kindly|can you|could you|would you|will you|can u|could u|pls can you|hey can you|i want you to|i need you to|i'?d like you to|i would like you to|go ahead and|just|quickly|now)\b[\s,]*)+/i;
const TRAILER = /(?:[\s,]+(?:please|pls|plz|thanks|thank you|thx|ty|cheers|asap|right now|now|right away|immediately|for me|again|back))+[\s.!?,]*$|[\s.!?,:;]+$/i;
const CLOSING_LINE = /^(?:thanks|thank you|thx|ty|cheers|regards|best|br|kind regards|best regards|sent from my .*|--+|_+|get outlook for .*)[\s,.!]*$/i;
const FORWARD_HEADER = /^(?:-+\s*(?:forwarded|original) message\s*-+|begin forwarded message:?|(?:from|to|sent|date|subject|cc):\s.*)$/i;

/** One line as the rules see it: compatibility forms folded, prefixes, greetings and politeness off. */
export function normaliseLine(line: string): string {
  let text = line
    .normalize('NFKC')
    .replace(/[‘’`´]/g, "'")
    .replace(/[“”«»]/g, '"')
    .replace(/[\u2010-\u2015]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
  for (let i = 0; i < 3; i++) {
    const before = text;
    text = text.replace(REPLY_PREFIX, '').replace(GREETING, '').replace(ADDRESSING, '').replace(POLITE, '').replace(/^[-*>•\s]+/, '').trim();
    text = text.replace(TRAILER, '').trim();
    if (text === before) break;
  }
  return text.replace(/^"(.*)"$/, '$1').trim();
}

function matchRules(text: string, ctx: ParseContext): Command | undefined {
  for (const rule of RULES) {
    for (const pattern of rule.patterns) {
      const m = pattern.exec(text);
      if (m) return rule.build(m, ctx);
    }
  }
  return undefined;
}

/** One line → a command: the table first, then the table again with a misspelt first word corrected. */
export function parseLine(line: string, ctx: ParseContext): Command {
  if (/^\s*\?+\s*$/.test(line)) return { kind: 'help' };
  const text = normaliseLine(line);
  if (text === '' || text.length > 300) return { kind: 'unknown' };
  const direct = matchRules(text, ctx);
  if (direct) return direct;
  const [first = '', ...rest] = text.split(' ');
  if (first.length >= 3 && /^\p{L}+$/u.test(first)) {
    const best = KEYWORD_INDEX.search(first.toLowerCase())[0];
    if (best && (best.score ?? 1) <= 0.34 && best.item.word[0] === first[0]?.toLowerCase() && Math.abs(best.item.word.length - first.length) <= 2) {
      return matchRules([best.item.as, ...rest].join(' '), ctx) ?? { kind: 'unknown' };
    }
  }
  return { kind: 'unknown' };
}

/**
 * A message → a command. The body's lines are tried first (greetings, closings, forwarding headers
 * skipped; the channel has already removed quoted replies and signatures), then the subject, so
 * "Re: call Ada" with an empty body and "status" in the body of a reply both work.
 */
export function parseMessage(message: { subject?: string; text: string }, ctx: ParseContext): Command {
  const lines = message.text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !CLOSING_LINE.test(l) && !FORWARD_HEADER.test(l))
    .slice(0, 8);
  for (const line of lines) {
    const command = parseLine(line, ctx);
    if (command.kind !== 'unknown') return command;
  }
  if (message.subject !== undefined) {
    const command = parseLine(message.subject, ctx);
    if (command.kind !== 'unknown') return command;
  }
  return { kind: 'unknown' };
}

// Numbers, SIP URIs and e-mail addresses are set aside while the time and the caller clause are
// looked for: "0102" in a number is not a time, "@" in an address is not "at".
const PROTECTED = /(?:sips?:[^\s]+|[^\s@]+@[^\s@]+\.[^\s@]+|(?:tel:)?[+(]?\d[\d ().\-/]{5,}\d)/gi;
const PLACEHOLDER = (i: number): string => `zzqx${'abcdefghij'[i] ?? 'z'}qzz`;
const PLACEHOLDER_RE = /zzqx([a-j])qzz/g;

const CALLER_CLAUSE = /\s+(?:from|on|using|via|with)\s+(my\s+|the\s+|our\s+)?(.+?)\s*$/i;

function parseCall(argument: string, ctx: ParseContext): Command {
  const saved: string[] = [];
  let text = argument.replace(PROTECTED, (m) => {
    saved.push(m.trim());
    return ` ${PLACEHOLDER(saved.length - 1)} `;
  });
  const restore = (s: string): string => s.replace(PLACEHOLDER_RE, (_, c: string) => saved['abcdefghij'.indexOf(c)] ?? '').replace(/\s+/g, ' ').trim();

  let when: FoundTime | undefined;
  let timeProblem: TimeProblem | undefined;
  const found = findTime(text, ctx.now, ctx.timeZone);
  if (found && 'problem' in found) {
    timeProblem = found;
    text = text.replace(found.text, ' ');
  } else if (found) {
    when = found;
    text = `${text.slice(0, found.index)} ${text.slice(found.index + found.text.length)}`;
  }
  // "at noon tomorrow": chrono takes "noon tomorrow" and leaves the "at".
  text = text.replace(/\s+/g, ' ').trim().replace(/\s+(?:at|on|by|around|for)$/i, '').replace(TRAILER, '').trim();

  let from: CallerSpec | undefined;
  const clause = CALLER_CLAUSE.exec(text);
  if (clause?.[2] && !/^(?:her|his|their|its)\b/i.test(clause[2])) {
    const tail = clause[2].trim();
    const label = labelOf(tail);
    const isNumber = /^zzqx[a-j]qzz$/.test(tail) && /\d/.test(restore(tail)) && !restore(tail).includes('@') && !/^sips?:/i.test(restore(tail));
    if (label) from = { kind: 'label', label };
    else if (isNumber) from = { kind: 'number', text: restore(tail) };
    else if (clause[1]?.trim().toLowerCase() === 'my') from = { kind: 'unknown', text: restore(tail) };
    if (from) text = text.slice(0, clause.index);
  }
  const who = restore(text)
    .replace(/^(?:to|with|up)\s+/i, '')
    .replace(/\s+(?:back|again|up|now|asap|right now|for me)$/i, '')
    .replace(/[\s,.!?:;]+$/, '')
    .trim();
  return { kind: 'call', who, ...(from ? { from } : {}), ...(when ? { when } : {}), ...(timeProblem ? { timeProblem } : {}) };
}
