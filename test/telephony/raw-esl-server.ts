import { createServer, type Server, type Socket } from 'node:net';

/**
 * A bare TCP server speaking just enough ESL for the failure cases the simulator does not play:
 * it sends `auth/request`, and hands every command (text up to the blank line) to `onCommand`,
 * which may answer with `reply()` / `apiResponse()` or stay silent.
 */
export interface RawEslServer {
  port: number;
  /** Every command received, in order, across connections. */
  commands: string[];
  connections: number;
  close(): Promise<void>;
}

export type CommandHandler = (command: string, socket: Socket) => void;

export function reply(socket: Socket, text: string): void {
  socket.write(`Content-Type: command/reply\nReply-Text: ${text}\n\n`);
}

export function apiResponse(socket: Socket, body: string): void {
  socket.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
}

/** Authenticates `password` and accepts the event subscription; anything else goes to `onCommand`. */
export function handshake(password: string, onCommand: CommandHandler = () => undefined): CommandHandler {
  return (command, socket) => {
    if (command.startsWith('auth ')) {
      if (command === `auth ${password}`) {
        reply(socket, '+OK accepted');
      } else {
        reply(socket, '-ERR invalid');
        socket.end('Content-Type: text/disconnect-notice\nContent-Length: 0\n\n');
      }
    } else if (command.startsWith('event ')) {
      reply(socket, `+OK event listener enabled ${command.split(' ')[1] ?? 'plain'}`);
    } else if (command.startsWith('filter ')) {
      const [, header, ...value] = command.split(' ');
      reply(socket, `+OK filter added. [${header ?? ''}]=[${value.join(' ')}]`);
    } else if (command === 'exit') {
      reply(socket, '+OK bye');
      socket.end();
    } else {
      onCommand(command, socket);
    }
  };
}

export async function startRawEslServer(onCommand: CommandHandler, options: { greet?: boolean } = {}): Promise<RawEslServer> {
  const sockets = new Set<Socket>();
  const state = { commands: [] as string[], connections: 0 };
  const server: Server = createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const command = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        state.commands.push(command);
        onCommand(command, socket);
      }
    });
    if (options.greet !== false) socket.write('Content-Type: auth/request\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    get commands() {
      return state.commands;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends a text/event-json frame, framed as FreeSWITCH does (outer Content-Length first). */
export function jsonEvent(socket: Socket, headers: Record<string, string>, body?: string): void {
  const fields = body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)), _body: body };
  const json = JSON.stringify(fields);
  socket.write(`Content-Length: ${Buffer.byteLength(json)}\nContent-Type: text/event-json\n\n${json}`);
}
