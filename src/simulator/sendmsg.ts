/**
 * `sendmsg` (call-command execute / hangup on a leg) and `sendevent` (fire an event), as
 * mod_event_socket handles them: the reply first, the leg acts on it a moment later.
 */
import { randomUUID } from 'node:crypto';
import { execute } from './apps.js';
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import type { Header } from './event.js';
import { hangup } from './hangup.js';
import { fire } from './leg.js';
import { commandHeader, type EslCommand } from './wire.js';

/**
 * Queues the message on the leg and returns the reply text.
 * @param uuid - the `sendmsg <uuid>` argument, or the outbound socket's own channel.
 */
export function sendmsg(ctx: SwitchContext, command: EslCommand, uuid: string | undefined): string {
  const target = uuid ?? commandHeader(command, 'session-id');
  const ch = target ? ctx.live.get(target) : undefined;
  if (!ch?.up) return `-ERR invalid session id [${target ?? ''}]`;
  const copy: Header[] = [['Command', command.line.trim()], ...command.headers];
  const callCommand = commandHeader(command, 'call-command')?.toLowerCase();
  if (callCommand === 'hangup') ctx.clock.after(0, () => hangupMessage(ctx, ch, command, copy));
  if (callCommand === 'execute') ctx.clock.after(0, () => executeMessage(ctx, ch, command, copy));
  return '+OK';
}

/** call-command: hangup — CHANNEL_HANGUP, then the message itself as PRIVATE_COMMAND. */
function hangupMessage(ctx: SwitchContext, ch: Channel, command: EslCommand, copy: Header[]): void {
  const cause = (commandHeader(command, 'hangup-cause') ?? 'NORMAL_CLEARING').toUpperCase();
  hangup(ctx, ch, cause, 'local', { afterHangupEvent: () => fire(ctx, 'PRIVATE_COMMAND', ch, { first: copy }) });
}

/** call-command: execute — the app runs on the leg; its Application-UUID is the client's Event-UUID. */
function executeMessage(ctx: SwitchContext, ch: Channel, command: EslCommand, copy: Header[]): void {
  execute(ctx, ch, {
    name: commandHeader(command, 'execute-app-name') ?? '',
    arg: commandHeader(command, 'execute-app-arg') ?? command.body ?? '',
    uuid: commandHeader(command, 'Event-UUID') ?? randomUUID(),
    viaSendmsg: true,
    eventLock: commandHeader(command, 'event-lock')?.toLowerCase() === 'true',
    command: copy,
  });
}

/** `sendevent <NAME>` with the command's headers (and body); returns the reply text. */
export function sendevent(ctx: SwitchContext, command: EslCommand, name: string | undefined): string {
  const eventUuid = randomUUID();
  const event = ctx.factory.create((name ?? 'CUSTOM').toUpperCase());
  event.addAll(command.headers.filter(([n]) => n.toLowerCase() !== 'content-length')).add('Event-UUID', eventUuid);
  if (command.body !== undefined) event.body = command.body;
  ctx.clock.after(0, () => ctx.fire(event));
  return `+OK ${eventUuid}`;
}
