/**
 * The parent side of test/fixtures/ring-producer.ts: starts the fixture in a
 * separate process with unique pin paths, asks it to produce events, and
 * makes sure its pins are gone afterwards whatever happened to it (stop(),
 * kill(), or this process exiting).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { uniquePinPath } from './bpffs.js';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'ring-producer.js');

export interface ProducerOptions {
  eventSize?: number;
  ringSize?: number;
  /** bpf_ringbuf_submit() flags: 0 adaptive wake-up, 1 BPF_RB_NO_WAKEUP, 2 BPF_RB_FORCE_WAKEUP. */
  submitFlags?: number;
  /** Also pin the program's .bss array map (a map that is not a ring). */
  pinState?: boolean;
  /** Also pin the program itself (an object that is not a map). */
  pinProgram?: boolean;
}

export interface Produced {
  produced: number;
  nextSeq: number;
  drops: number;
}

const live = new Set<ProducerProcess>();
process.on('exit', () => {
  for (const p of live) p.kill();
});

export class ProducerProcess {
  readonly eventSize: number;
  readonly ringSize: number;
  mapId = 0;
  stateMapId = 0;
  private readonly replies: ((line: Record<string, unknown>) => void)[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly pin: string,
    readonly statePin: string | undefined,
    readonly programPin: string | undefined,
    options: ProducerOptions,
  ) {
    this.eventSize = options.eventSize ?? 128;
    this.ringSize = options.ringSize ?? 1 << 22;
    live.add(this);
  }

  /** Every pin this fixture was told to make. */
  get pins(): string[] {
    return [this.pin, this.statePin, this.programPin].filter((p): p is string => p !== undefined);
  }

  static async start(options: ProducerOptions = {}): Promise<ProducerProcess> {
    const pin = uniquePinPath('ring');
    const statePin = options.pinState ? uniquePinPath('state') : undefined;
    const programPin = options.pinProgram ? uniquePinPath('prog') : undefined;
    const args = [FIXTURE, '--serve', '--pin', pin, '--event-size', String(options.eventSize ?? 128), '--ring-size', String(options.ringSize ?? 1 << 22)];
    args.push('--submit-flags', String(options.submitFlags ?? 0));
    if (statePin) args.push('--pin-state', statePin);
    if (programPin) args.push('--pin-program', programPin);
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const p = new ProducerProcess(child, pin, statePin, programPin, options);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => p.replies.shift()?.(JSON.parse(line)));
    const ready = await p.next();
    if (!ready.ready) {
      p.kill();
      throw new Error(`ring producer fixture failed: ${JSON.stringify(ready)}`);
    }
    p.mapId = ready.mapId as number;
    p.stateMapId = ready.stateMapId as number;
    return p;
  }

  /** Produces `events` events as `producer` (sequence numbers continue from the last call). */
  async produce(events: number, producer = 0): Promise<Produced> {
    const reply = this.next();
    this.child.stdin!.write(`produce ${events} ${producer}\n`);
    const r = await reply;
    if (r.error) throw new Error(String(r.error));
    return r as unknown as Produced;
  }

  /** Asks the fixture to quit (it unpins), waits for it, then removes any pin still there. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.stdin!.end('quit\n');
      await exited;
    }
    this.cleanUp();
  }

  /** SIGKILL, which the fixture cannot clean up after: the pins are removed here. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.cleanUp();
  }

  private cleanUp(): void {
    for (const p of this.pins) fs.rmSync(p, { force: true });
    live.delete(this);
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null): void => reject(new Error(`ring producer fixture exited (${signal ?? code})`));
      this.child.once('exit', onExit);
      this.replies.push((line) => {
        this.child.off('exit', onExit);
        resolve(line);
      });
    });
  }
}
